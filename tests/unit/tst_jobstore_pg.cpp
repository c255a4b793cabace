// JobStore on a real PostgreSQL: the test starts its own throw-away cluster (initdb +
// pg_ctl in a temp dir, on a free port, as a non-root user) and skips clearly when the
// PostgreSQL server binaries are not installed.

#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <unistd.h>

using namespace SegScale;
using namespace SegScale::Jobs;

class TestJobStorePg : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir{QStringLiteral("/tmp/segscale-pg-XXXXXX")};
    QString m_bin;
    QStringList m_asUser;  // "runuser -u postgres --" when we are root: initdb refuses root
    QString m_data;
    int m_port = 0;
    bool m_started = false;
    int m_dbCounter = 0;

    bool runTool(const QString &tool, const QStringList &args, QString *output = nullptr)
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        const QString exe = m_bin + QLatin1Char('/') + tool;
        if (m_asUser.isEmpty())
            p.start(exe, args);
        else
            p.start(m_asUser.first(), m_asUser.mid(1) + QStringList{exe} + args);
        const bool ok = p.waitForFinished(120'000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
        const QString text = QString::fromLocal8Bit(p.readAll());
        if (output)
            *output = text;
        if (!ok)
            qWarning().noquote() << tool << "failed:" << text;
        return ok;
    }

    QString newDatabase()
    {
        const QString name = QStringLiteral("study%1").arg(++m_dbCounter);
        {
            QSqlDatabase admin = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), QStringLiteral("admin"));
            admin.setHostName(QStringLiteral("127.0.0.1"));
            admin.setPort(m_port);
            admin.setUserName(QStringLiteral("segscale"));
            admin.setDatabaseName(QStringLiteral("postgres"));
            if (!admin.open())
                return QString();
            QSqlQuery q(admin);
            if (!q.exec(QStringLiteral("CREATE DATABASE ") + name))
                return QString();
            admin.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("admin"));
        return QStringLiteral("postgresql://segscale@127.0.0.1:%1/%2").arg(m_port).arg(name);
    }

    std::unique_ptr<JobStore> makeStore(const QString &url, int n)
    {
        auto store = JobStore::open(url);
        if (!store) {
            qWarning() << store.error().toString();
            return nullptr;
        }
        StudySettings s;
        s.modelCard[QStringLiteral("name")] = QStringLiteral("pg");
        s.modelCard[QStringLiteral("classes")] = QJsonArray{QStringLiteral("road"), QStringLiteral("sky, blue")};
        s.modelFingerprint = "aaaa";
        if (!(*store)->beginRun(s, false))
            return nullptr;
        const qint64 storage = *(*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        const qint64 ds = *(*store)->addDataset(storage, QStringLiteral("/data"), {}, {});
        QList<ImageEntry> entries;
        for (int i = 0; i < n; ++i)
            entries.append({QStringLiteral("img%1.jpg").arg(i), i});
        auto added = (*store)->addImages(ds, entries);
        if (!added || added->added != n) {
            qWarning() << "addImages failed";
            return nullptr;
        }
        return std::move(*store);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
            QSKIP("the Qt PostgreSQL driver (libqt6sql6-psql) is not installed");
        for (const QString &dir : QDir(QStringLiteral("/usr/lib/postgresql")).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name | QDir::Reversed)) {
            if (QFileInfo::exists(QStringLiteral("/usr/lib/postgresql/%1/bin/initdb").arg(dir))) {
                m_bin = QStringLiteral("/usr/lib/postgresql/%1/bin").arg(dir);
                break;
            }
        }
        if (m_bin.isEmpty()) {
            const QString initdb = QStandardPaths::findExecutable(QStringLiteral("initdb"));
            if (!initdb.isEmpty())
                m_bin = QFileInfo(initdb).canonicalPath();
        }
        if (m_bin.isEmpty())
            QSKIP("PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)");
        QVERIFY(m_dir.isValid());
        if (::geteuid() == 0) {
            const QString runuser = QStandardPaths::findExecutable(QStringLiteral("runuser"));
            if (runuser.isEmpty() || QProcess::execute(QStringLiteral("id"), {QStringLiteral("postgres")}) != 0)
                QSKIP("running as root without a 'postgres' user to run initdb as");
            m_asUser = {runuser, QStringLiteral("-u"), QStringLiteral("postgres"), QStringLiteral("--")};
            QVERIFY(QProcess::execute(QStringLiteral("chown"), {QStringLiteral("postgres"), m_dir.path()}) == 0);
        }
        {
            QTcpServer probe;  // a free port: bind to 0, read it, let it go
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            m_port = probe.serverPort();
        }
        m_data = m_dir.filePath(QStringLiteral("data"));
        QVERIFY(runTool(QStringLiteral("initdb"), {QStringLiteral("-D"), m_data, QStringLiteral("-A"), QStringLiteral("trust"),
                                                   QStringLiteral("-U"), QStringLiteral("segscale"), QStringLiteral("-E"),
                                                   QStringLiteral("UTF8"), QStringLiteral("--no-sync")}));
        QVERIFY(runTool(QStringLiteral("pg_ctl"),
                        {QStringLiteral("-D"), m_data, QStringLiteral("-l"), m_dir.filePath(QStringLiteral("log")), QStringLiteral("-w"),
                         QStringLiteral("-o"),
                         QStringLiteral("-p %1 -k %2 -c listen_addresses=127.0.0.1 -c fsync=off").arg(m_port).arg(m_dir.path()),
                         QStringLiteral("start")}));
        m_started = true;
    }

    void cleanupTestCase()
    {
        if (m_started)
            runTool(QStringLiteral("pg_ctl"), {QStringLiteral("-D"), m_data, QStringLiteral("-m"), QStringLiteral("immediate"), QStringLiteral("stop")});
    }

    void stateMachine()
    {
        const QString url = newDatabase();
        QVERIFY(!url.isEmpty());
        auto store = makeStore(url, 5);
        QVERIFY(store);
        QSqlDatabase db = store->database();
        QCOMPARE(*Schema::version(db), Schema::CurrentVersion);
        qint64 clock = 1'700'000'000'000;
        store->setClock([&] { return clock; });
        QCOMPARE(store->addImages(1, {{QStringLiteral("img1.jpg"), 1}})->skipped, 1);
        auto l = store->lease(QStringLiteral("A"), 3, 10);
        QVERIFY(l.ok());
        QCOMPARE(l->size(), 3);
        QCOMPARE(l->first().location(), QStringLiteral("/data/img0.jpg"));
        ImageResult r;
        r.width = 4;
        r.height = 2;
        r.composition = {0.25f, 0.75f};
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, r), WriteOutcome::Done);
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, r), WriteOutcome::Stale);
        QCOMPARE(*store->fail(l->at(1).imageId, l->at(1).leaseId, {ErrorCategory::Corrupt, QStringLiteral("bad")}), WriteOutcome::Failed);
        QCOMPARE(*store->fail(l->at(2).imageId, l->at(2).leaseId, {ErrorCategory::Storage, QStringLiteral("down")}), WriteOutcome::Retry);
        auto l2 = store->lease(QStringLiteral("B"), 5, 10);
        QCOMPARE(l2->size(), 2);  // the retried one is backing off
        clock += 11'000;
        QCOMPARE(store->expireLeases()->returnedToPending, 2);
        QCOMPARE(*store->complete(l2->at(0).imageId, l2->at(0).leaseId, r), WriteOutcome::Stale);
        QCOMPARE(*store->retryFailed(ErrorCategory::Corrupt), 1);
        auto p = store->progress();
        QCOMPARE(p->done, 1);
        QCOMPARE(p->pending, 4);
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        QCOMPARE(*StudyExporter(*store).exportComposition(buf, StudyExporter::Format::Wide), 1);
        QCOMPARE(buf.data(), QByteArray("image,width,height,road,\"sky, blue\"\r\n/data/img0.jpg,4,2,0.250000,0.750000\r\n"));
        StudySettings other = *(*store->settings());
        other.modelFingerprint = "bbbb";
        QVERIFY(!store->beginRun(other, false).ok());
        QCOMPARE(*store->beginRun(other, true), 2);
    }

    void skipLockedLeasersNeverShare()
    {
        const QString url = newDatabase();
        QVERIFY(!url.isEmpty());
        auto store = makeStore(url, 1500);
        QVERIFY(store);
        struct Leaser : QThread {
            QString url, name, error;
            QList<qint64> ids;
            void run() override
            {
                auto s = JobStore::open(url);
                if (!s) {
                    error = s.error().toString();
                    return;
                }
                for (;;) {
                    auto l = (*s)->lease(name, 5, 600);
                    if (!l) {
                        error = l.error().toString();
                        return;
                    }
                    if (l->isEmpty())
                        return;
                    QList<Completion> done;
                    for (const auto &img : *l) {
                        ids.append(img.imageId);
                        ImageResult r;
                        r.composition = {1, 0};
                        done.append({img.imageId, img.leaseId, r});
                    }
                    auto o = (*s)->completeMany(done);
                    if (!o || o->count(WriteOutcome::Done) != done.size()) {
                        error = QStringLiteral("completion refused");
                        return;
                    }
                }
            }
        };
        Leaser a, b;
        a.url = b.url = url;
        a.name = QStringLiteral("A");
        b.name = QStringLiteral("B");
        a.start();
        b.start();
        QVERIFY(a.wait(120'000) && b.wait(120'000));
        QVERIFY2(a.error.isEmpty(), qPrintable(a.error));
        QVERIFY2(b.error.isEmpty(), qPrintable(b.error));
        const QSet<qint64> sa(a.ids.cbegin(), a.ids.cend()), sb(b.ids.cbegin(), b.ids.cend());
        QVERIFY(!sa.intersects(sb));
        QCOMPARE(sa.size() + sb.size(), 1500);
        QCOMPARE(a.ids.size() + b.ids.size(), 1500);
        QCOMPARE(*store->imageCount(ImageState::Done), 1500);
    }
};

QTEST_GUILESS_MAIN(TestJobStorePg)
#include "tst_jobstore_pg.moc"
