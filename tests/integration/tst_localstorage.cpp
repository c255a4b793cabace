// LocalStorage, StorageUrl and Credentials: the parts of core/storage that need no server.

#include "storage/credentials.h"
#include "storage/localstorage.h"
#include "storage/storageurl.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <pwd.h>
#include <unistd.h>

using namespace SegScale;
using namespace SegScale::Storage;

namespace {

void writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    QCOMPARE(f.write(data), data.size());
}

QStringList paths(const QList<FileEntry> &entries)
{
    QStringList result;
    for (const auto &e : entries)
        result << e.path;
    return result;
}

} // namespace

class TestLocalStorage : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_root;
    std::shared_ptr<LocalStorage> m_storage;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_root = m_tmp.path() + QStringLiteral("/root");
        writeFile(m_root + QStringLiteral("/a.jpg"), "jpeg-a");
        writeFile(m_root + QStringLiteral("/b.PNG"), "png-b");
        writeFile(m_root + QStringLiteral("/notes.txt"), "text");
        writeFile(m_root + QStringLiteral("/city/x/1.jpg"), QByteArray(1000, 'x'));
        writeFile(m_root + QStringLiteral("/city/y/2.jpg"), QByteArray(2000, 'y'));
        writeFile(m_root + QStringLiteral("/cache/3.jpg"), "cached");
        writeFile(m_tmp.path() + QStringLiteral("/secret.txt"), "outside");
        QVERIFY(QFile::link(m_tmp.path() + QStringLiteral("/secret.txt"), m_root + QStringLiteral("/escape.jpg")));
        QVERIFY(QFile::link(m_tmp.path(), m_root + QStringLiteral("/escapedir")));
        QVERIFY(QFile::link(m_root + QStringLiteral("/a.jpg"), m_root + QStringLiteral("/inside-link.jpg")));
        auto storage = LocalStorage::open(m_root);
        QVERIFY2(storage.ok(), qPrintable(storage.ok() ? QString() : storage.error().toString()));
        m_storage = *storage;
    }

    void parsesUrls()
    {
        auto local = StorageUrl::parse(QStringLiteral("/data/photos/"));
        QVERIFY(local.ok());
        QVERIFY(local->isLocal());
        QCOMPARE(local->path, QStringLiteral("/data/photos"));

        auto file = StorageUrl::parse(QStringLiteral("file:///data/photos"));
        QVERIFY(file.ok());
        QVERIFY(file->isLocal());
        QCOMPARE(file->path, QStringLiteral("/data/photos"));

        auto sftp = StorageUrl::parse(QStringLiteral("sftp://alice@storage.example.org:2222/srv/streets"));
        QVERIFY(sftp.ok());
        QCOMPARE(sftp->scheme, StorageUrl::Scheme::Sftp);
        QCOMPARE(sftp->user, QStringLiteral("alice"));
        QCOMPARE(sftp->host, QStringLiteral("storage.example.org"));
        QCOMPARE(sftp->port, 2222);
        QCOMPARE(sftp->path, QStringLiteral("/srv/streets"));
        QCOMPARE(sftp->hostKeyName(), QStringLiteral("[storage.example.org]:2222"));

        auto defaults = StorageUrl::parse(QStringLiteral("sftp://storage.example.org"));
        QVERIFY(defaults.ok());
        QCOMPARE(defaults->port, 22);
        QCOMPARE(defaults->path, QStringLiteral("/"));
        QCOMPARE(defaults->user, QString::fromLocal8Bit(getpwuid(geteuid())->pw_name));
        QCOMPARE(defaults->hostKeyName(), QStringLiteral("storage.example.org"));
    }

    void refusesBadUrls()
    {
        auto password = StorageUrl::parse(QStringLiteral("sftp://alice:hunter2@host/data"));
        QVERIFY(!password.ok());
        QCOMPARE(password.error().category, ErrorCategory::Usage);
        QVERIFY(password.error().message.contains(QStringLiteral("credentials")));
        QVERIFY2(!password.error().message.contains(QStringLiteral("hunter2")), "the password must not be echoed");

        for (const char *bad : {"http://host/data", "ftp://host/x", "sftp:///nohost", ""}) {
            auto r = StorageUrl::parse(QString::fromLatin1(bad));
            QVERIFY2(!r.ok(), bad);
            QCOMPARE(r.error().category, ErrorCategory::Usage);
        }
    }

    void credentialsFilePermissions()
    {
        const QString path = m_tmp.path() + QStringLiteral("/credentials.json");
        const QJsonObject hosts{{QStringLiteral("[h]:2222"), QJsonObject{{QStringLiteral("password"), QStringLiteral("pw1")}}},
                                {QStringLiteral("h"), QJsonObject{{QStringLiteral("key_file"), QStringLiteral("keys/id")}}},
                                {QStringLiteral("*"), QJsonObject{{QStringLiteral("agent"), true}}}};
        writeFile(path, QJsonDocument(QJsonObject{{QStringLiteral("hosts"), hosts}}).toJson());

        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
        auto refused = Credentials::load(path);
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.contains(QStringLiteral("chmod 600")));

        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        auto loaded = Credentials::load(path);
        QVERIFY2(loaded.ok(), qPrintable(loaded.ok() ? QString() : loaded.error().message));
        QCOMPARE(loaded->forHost(QStringLiteral("h"), 2222).password, QStringLiteral("pw1"));
        QCOMPARE(loaded->forHost(QStringLiteral("h"), 22).keyFile, m_tmp.path() + QStringLiteral("/keys/id"));
        QVERIFY(loaded->forHost(QStringLiteral("other"), 22).agent);

        QVERIFY(!Credentials::load(m_tmp.path() + QStringLiteral("/none.json")).ok());
    }

    void listsRecursivelyWithPatterns()
    {
        qint64 lastProgress = -1;
        auto all = m_storage->list(QString(), {}, {}, [&](qint64 found) { lastProgress = found; });
        QVERIFY(all.ok());
        QCOMPARE(paths(*all), (QStringList{QStringLiteral("a.jpg"), QStringLiteral("b.PNG"), QStringLiteral("cache/3.jpg"),
                                           QStringLiteral("city/x/1.jpg"), QStringLiteral("city/y/2.jpg"),
                                           QStringLiteral("inside-link.jpg"), QStringLiteral("notes.txt")}));
        QCOMPARE(lastProgress, 7);
        const FileEntry &one = all->at(3);
        QCOMPARE(one.size, 1000);
        QVERIFY(qAbs(one.modified.secsTo(QDateTime::currentDateTimeUtc())) < 600);

        auto images = m_storage->list(QString(), {QStringLiteral("*.jpg"), QStringLiteral("*.png")}, {QStringLiteral("cache")});
        QVERIFY(images.ok());
        QCOMPARE(paths(*images), (QStringList{QStringLiteral("a.jpg"), QStringLiteral("b.PNG"), QStringLiteral("city/x/1.jpg"),
                                              QStringLiteral("city/y/2.jpg"), QStringLiteral("inside-link.jpg")}));

        auto sub = m_storage->list(QStringLiteral("city"), {QStringLiteral("city/y/*")}, {});
        QVERIFY(sub.ok());
        QCOMPARE(paths(*sub), QStringList{QStringLiteral("city/y/2.jpg")});
    }

    void statsAndReads()
    {
        auto st = m_storage->stat(QStringLiteral("city/y/2.jpg"));
        QVERIFY(st.ok());
        QCOMPARE(st->path, QStringLiteral("city/y/2.jpg"));
        QCOMPARE(st->size, 2000);

        auto data = m_storage->read(QStringLiteral("./city//x/1.jpg"), 10000);
        QVERIFY(data.ok());
        QCOMPARE(*data, QByteArray(1000, 'x'));
        auto absolute = m_storage->read(m_root + QStringLiteral("/a.jpg"), 0);
        QVERIFY(absolute.ok());
        QCOMPARE(*absolute, QByteArray("jpeg-a"));

        auto missing = m_storage->read(QStringLiteral("nope.jpg"), 100);
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);
        auto big = m_storage->read(QStringLiteral("city/y/2.jpg"), 1999);
        QVERIFY(!big.ok());
        QCOMPARE(big.error().category, ErrorCategory::TooLarge);
        auto folder = m_storage->read(QStringLiteral("city"), 100);
        QVERIFY(!folder.ok());
        QCOMPARE(folder.error().category, ErrorCategory::Unreadable);
    }

    void refusesPathsOutsideTheRoot()
    {
        auto traversal = m_storage->read(QStringLiteral("../../etc/passwd"), 0);
        QVERIFY(!traversal.ok());
        QCOMPARE(traversal.error().category, ErrorCategory::Usage);
        QVERIFY(traversal.error().message.contains(QStringLiteral("..")));

        auto absolute = m_storage->read(QStringLiteral("/etc/passwd"), 0);
        QVERIFY(!absolute.ok());

        auto link = m_storage->read(QStringLiteral("escape.jpg"), 0);
        QVERIFY(!link.ok());
        QCOMPARE(link.error().category, ErrorCategory::Unreadable);
        QVERIFY(link.error().message.contains(QStringLiteral("outside")));

        auto viaDir = m_storage->read(QStringLiteral("escapedir/secret.txt"), 0);
        QVERIFY(!viaDir.ok());
        QVERIFY(viaDir.error().message.contains(QStringLiteral("outside")));

        auto write = m_storage->write(QStringLiteral("escapedir/planted.txt"), "x");
        QVERIFY(!write.ok());
        QVERIFY(!QFile::exists(m_tmp.path() + QStringLiteral("/planted.txt")));

        auto inside = m_storage->read(QStringLiteral("inside-link.jpg"), 0);
        QVERIFY(inside.ok());
        QCOMPARE(*inside, QByteArray("jpeg-a"));
    }

    void writesAtomicallyCreatingFolders()
    {
        QVERIFY(m_storage->write(QStringLiteral("out/labels/deep/a.png"), "first").ok());
        QFile f(m_root + QStringLiteral("/out/labels/deep/a.png"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("first"));
        f.close();
        QVERIFY(m_storage->write(QStringLiteral("out/labels/deep/a.png"), "second, longer").ok());
        auto back = m_storage->read(QStringLiteral("out/labels/deep/a.png"), 0);
        QVERIFY(back.ok());
        QCOMPARE(*back, QByteArray("second, longer"));
        // Nothing but the target is left behind.
        QCOMPARE(QDir(m_root + QStringLiteral("/out/labels/deep")).entryList(QDir::Files | QDir::Hidden),
                 QStringList{QStringLiteral("a.png")});
        QVERIFY(!m_storage->write(QStringLiteral("../x.png"), "x").ok());
    }

    void missingRoot()
    {
        auto r = LocalStorage::open(m_tmp.path() + QStringLiteral("/does-not-exist"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, ErrorCategory::Missing);
    }
};

QTEST_GUILESS_MAIN(TestLocalStorage)
#include "tst_localstorage.moc"
