// SftpStorage against a real OpenSSH server (tests/common/sshdfixture): listing, reads,
// atomic writes, host key checks, authentication failures, reconnects after the server
// died, path confinement, and the `segscale storage test` command.

#include "common/sshdfixture.h"

#include "storage/connectiontester.h"
#include "storage/knownhosts.h"
#include "storage/localstorage.h"
#include "storage/sftpstorage.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTest>
#include <QThread>

#include <atomic>
#include <thread>

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

QByteArray randomBytes(qsizetype size, quint32 seed)
{
    QRandomGenerator rng(seed);
    QByteArray data(size, Qt::Uninitialized);
    for (auto &c : data)
        c = static_cast<char>(rng.generate() & 0xff);
    return data;
}

QString describe(const Error &e) { return e.toString(); }

} // namespace

class TestSftpStorage : public QObject {
    Q_OBJECT

private:
    SshdFixture m_sshd;
    QString m_root;       // served folder
    QString m_knownHosts; // holds the fixture's host key
    QString m_credentials;
    std::shared_ptr<SegScale::Storage::Storage> m_storage;
    QStringList m_files; // relative paths of the data set

    StorageOptions options() const
    {
        StorageOptions o;
        o.knownHostsPath = m_knownHosts;
        o.connectTimeoutMs = 5000;
        return o;
    }
    Credentials credentials(const QString &path) const
    {
        auto c = Credentials::load(path);
        if (!c.ok())
            qFatal("%s", qPrintable(c.error().message));
        return *c;
    }
    StorageUrl urlFor(const SshdFixture &sshd, const QString &path) const
    {
        return StorageUrl::parse(sshd.url(path)).value();
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(QStringLiteral("no private sshd possible: ") + why));
        // ssh-agent must not decide what these tests see.
        qunsetenv("SSH_AUTH_SOCK");
        QVERIFY2(m_sshd.start(), qPrintable(m_sshd.errorString()));
        m_root = m_sshd.dataDir() + QStringLiteral("/root");
        writeFile(m_root + QStringLiteral("/a.jpg"), randomBytes(70 * 1024, 1));
        writeFile(m_root + QStringLiteral("/empty.jpg"), QByteArray());
        writeFile(m_root + QStringLiteral("/notes.txt"), "not an image");
        writeFile(m_root + QStringLiteral("/city/x/1.jpg"), randomBytes(33 * 1024 + 7, 2));
        writeFile(m_root + QStringLiteral("/city/y/2.JPG"), randomBytes(3 * 1024 * 1024 + 5, 3)); // many pipelined chunks
        writeFile(m_root + QStringLiteral("/cache/3.jpg"), "cached");
        writeFile(m_sshd.dataDir() + QStringLiteral("/outside.txt"), "outside the root");
        QVERIFY(QFile::link(QStringLiteral("/etc/passwd"), m_root + QStringLiteral("/passwd.jpg")));
        QVERIFY(QFile::link(m_sshd.dataDir(), m_root + QStringLiteral("/up")));
        QVERIFY(QFile::link(m_root + QStringLiteral("/a.jpg"), m_root + QStringLiteral("/same.jpg")));
        m_files = {QStringLiteral("a.jpg"), QStringLiteral("cache/3.jpg"), QStringLiteral("city/x/1.jpg"),
                   QStringLiteral("city/y/2.JPG"), QStringLiteral("empty.jpg"), QStringLiteral("notes.txt"),
                   QStringLiteral("same.jpg")};

        m_knownHosts = m_sshd.writeKnownHosts();
        m_credentials = m_sshd.writeCredentials({{QStringLiteral("key_file"), m_sshd.clientKey()}});
        auto storage = openStorage(urlFor(m_sshd, m_root), credentials(m_credentials), options());
        QVERIFY2(storage.ok(), qPrintable(storage.ok() ? QString() : describe(storage.error()) + m_sshd.log()));
        m_storage = *storage;
    }

    void listsRecursively()
    {
        qint64 progress = -1;
        auto all = m_storage->list(QString(), {}, {}, [&](qint64 n) { progress = n; });
        QVERIFY2(all.ok(), qPrintable(all.ok() ? QString() : describe(all.error())));
        QStringList found;
        for (const auto &e : *all)
            found << e.path;
        QCOMPARE(found, m_files); // passwd.jpg and up/ lead outside: not listed
        QCOMPARE(progress, m_files.size());
        QCOMPARE(all->at(3).size, 3 * 1024 * 1024 + 5);

        auto images = m_storage->list(QString(), {QStringLiteral("*.jpg")}, {QStringLiteral("cache"), QStringLiteral("empty*")});
        QVERIFY(images.ok());
        found.clear();
        for (const auto &e : *images)
            found << e.path;
        QCOMPARE(found, (QStringList{QStringLiteral("a.jpg"), QStringLiteral("city/x/1.jpg"), QStringLiteral("city/y/2.JPG"),
                                     QStringLiteral("same.jpg")}));

        auto sub = m_storage->list(QStringLiteral("city/x"), {}, {});
        QVERIFY(sub.ok());
        QCOMPARE(sub->size(), 1);
        QCOMPARE(sub->first().path, QStringLiteral("city/x/1.jpg"));
    }

    void statsFiles()
    {
        auto st = m_storage->stat(QStringLiteral("city/x/1.jpg"));
        QVERIFY(st.ok());
        QCOMPARE(st->path, QStringLiteral("city/x/1.jpg"));
        QCOMPARE(st->size, 33 * 1024 + 7);
        QCOMPARE(st->modified.toSecsSinceEpoch(), QFileInfo(m_root + QStringLiteral("/city/x/1.jpg")).lastModified().toSecsSinceEpoch());
        auto missing = m_storage->stat(QStringLiteral("nope.jpg"));
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);
    }

    void readsTheSameBytesAsLocalStorage()
    {
        auto local = LocalStorage::open(m_root);
        QVERIFY(local.ok());
        for (const QString &path : std::as_const(m_files)) {
            auto remote = m_storage->read(path, 0);
            QVERIFY2(remote.ok(), qPrintable(path + QStringLiteral(": ") + (remote.ok() ? QString() : describe(remote.error()))));
            auto here = (*local)->read(path, 0);
            QVERIFY(here.ok());
            QVERIFY2(*remote == *here, qPrintable(path));
        }
        auto missing = m_storage->read(QStringLiteral("city/none.jpg"), 100);
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);
        auto big = m_storage->read(QStringLiteral("city/y/2.JPG"), 1024 * 1024);
        QVERIFY(!big.ok());
        QCOMPARE(big.error().category, ErrorCategory::TooLarge);
        auto folder = m_storage->read(QStringLiteral("city"), 0);
        QVERIFY(!folder.ok());
        QCOMPARE(folder.error().category, ErrorCategory::Unreadable);
    }

    void writesAtomicallyCreatingFolders()
    {
        const QByteArray first = randomBytes(200 * 1024 + 3, 9);
        auto w = m_storage->write(QStringLiteral("out/labels/deep/a.png"), first);
        QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : describe(w.error())));
        QFile f(m_root + QStringLiteral("/out/labels/deep/a.png"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), first);
        f.close();
        // Replacing an existing file (SFTP v3 rename alone would refuse).
        QVERIFY(m_storage->write(QStringLiteral("out/labels/deep/a.png"), "second").ok());
        auto back = m_storage->read(QStringLiteral("out/labels/deep/a.png"), 0);
        QVERIFY(back.ok());
        QCOMPARE(*back, QByteArray("second"));
        QCOMPARE(QDir(m_root + QStringLiteral("/out/labels/deep")).entryList(QDir::Files | QDir::Hidden),
                 QStringList{QStringLiteral("a.png")});
        QVERIFY(m_storage->write(QStringLiteral("out/b.png"), QByteArray()).ok());
        QVERIFY(QFileInfo(m_root + QStringLiteral("/out/b.png")).isFile());
    }

    void refusesPathsOutsideTheRoot()
    {
        auto traversal = m_storage->read(QStringLiteral("../../etc/passwd"), 0);
        QVERIFY(!traversal.ok());
        QCOMPARE(traversal.error().category, ErrorCategory::Usage);

        auto link = m_storage->read(QStringLiteral("passwd.jpg"), 0);
        QVERIFY(!link.ok());
        QCOMPARE(link.error().category, ErrorCategory::Unreadable);
        QVERIFY2(link.error().message.contains(QStringLiteral("outside")), qPrintable(link.error().message));

        auto viaFolder = m_storage->read(QStringLiteral("up/outside.txt"), 0);
        QVERIFY(!viaFolder.ok());
        QVERIFY(viaFolder.error().message.contains(QStringLiteral("outside")));
        auto statLink = m_storage->stat(QStringLiteral("passwd.jpg"));
        QVERIFY(!statLink.ok());

        auto write = m_storage->write(QStringLiteral("up/planted.txt"), "x");
        QVERIFY(!write.ok());
        QVERIFY(!QFile::exists(m_sshd.dataDir() + QStringLiteral("/planted.txt")));

        auto inside = m_storage->read(QStringLiteral("same.jpg"), 0);
        QVERIFY(inside.ok());
        QCOMPARE(inside->size(), 70 * 1024);
    }

    void unknownHostKeyIsRefusedWithItsFingerprint()
    {
        const QString emptyKnownHosts = m_sshd.dir() + QStringLiteral("/empty_known_hosts");
        StorageOptions o = options();
        o.knownHostsPath = emptyKnownHosts;
        const StorageUrl url = urlFor(m_sshd, m_root);
        auto refused = openStorage(url, credentials(m_credentials), o);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Storage);
        const QString fingerprint = m_sshd.hostKeyFingerprint();
        QVERIFY(fingerprint.startsWith(QStringLiteral("SHA256:")));
        QVERIFY2(refused.error().message.contains(fingerprint), qPrintable(refused.error().message + QStringLiteral(" vs ") + fingerprint));

        const ConnectionReport report = ConnectionTester::run(url, credentials(m_credentials), o);
        QCOMPARE(report.failedStep, std::optional(ConnectionStep::HostKey));
        QVERIFY(report.hostKeyProblem.has_value());
        QCOMPARE(report.hostKeyProblem->kind, HostKeyProblem::Kind::Unknown);
        QCOMPARE(report.hostKeyProblem->fingerprint, fingerprint);

        // Accepting a fingerprint other than the server's records nothing.
        QVERIFY(!acceptHostKey(url, QStringLiteral("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), emptyKnownHosts).ok());
        QVERIFY(!openStorage(url, credentials(m_credentials), o).ok());
        // Accepting the one the user was shown makes the next connection work.
        auto accepted = acceptHostKey(url, report.hostKeyProblem->fingerprint, emptyKnownHosts);
        QVERIFY2(accepted.ok(), qPrintable(accepted.ok() ? QString() : describe(accepted.error())));
        auto opened = openStorage(url, credentials(m_credentials), o);
        QVERIFY2(opened.ok(), qPrintable(opened.ok() ? QString() : describe(opened.error())));

        // Trust on first use when asked for.
        StorageOptions tofu = options();
        tofu.knownHostsPath = m_sshd.dir() + QStringLiteral("/tofu/known_hosts");
        tofu.acceptNewHostKey = true;
        QVERIFY(openStorage(url, credentials(m_credentials), tofu).ok());
        tofu.acceptNewHostKey = false;
        QVERIFY(openStorage(url, credentials(m_credentials), tofu).ok());
    }

    void changedHostKeyIsRefused()
    {
        SshdFixture other;
        QVERIFY2(other.start(), qPrintable(other.errorString()));
        const QString knownHosts = other.writeKnownHosts();
        const QString creds = other.writeCredentials({{QStringLiteral("key_file"), other.clientKey()}});
        StorageOptions o = options();
        o.knownHostsPath = knownHosts;
        o.acceptNewHostKey = true; // even trust-on-first-use must not take a changed key
        const StorageUrl url = urlFor(other, other.dataDir());
        QVERIFY(openStorage(url, credentials(creds), o).ok());

        QVERIFY(other.regenerateHostKey());
        QVERIFY2(other.restart(), qPrintable(other.errorString()));
        auto refused = openStorage(url, credentials(creds), o);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Storage);
        QVERIFY2(refused.error().message.contains(QStringLiteral("CHANGED")), qPrintable(refused.error().message));
        QVERIFY(refused.error().message.contains(other.hostKeyFingerprint()));
        const ConnectionReport report = ConnectionTester::run(url, credentials(creds), o);
        QVERIFY(report.hostKeyProblem.has_value());
        QCOMPARE(report.hostKeyProblem->kind, HostKeyProblem::Kind::Changed);
        QVERIFY(!acceptHostKey(url, other.hostKeyFingerprint(), knownHosts).ok());
        QVERIFY(!openStorage(url, credentials(creds), o).ok());
    }

    void wrongKeyIsAnAuthenticationError()
    {
        const QString stranger = m_sshd.makeClientKey(QStringLiteral("stranger_key"), false);
        QVERIFY(!stranger.isEmpty());
        const QString creds = m_sshd.writeCredentials({{QStringLiteral("key_file"), stranger}}, QStringLiteral("stranger.json"));
        const StorageUrl url = urlFor(m_sshd, m_root);
        auto refused = openStorage(url, credentials(creds), options());
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Storage);
        QVERIFY2(refused.error().message.contains(QStringLiteral("authentication")), qPrintable(refused.error().message));
        const ConnectionReport report = ConnectionTester::run(url, credentials(creds), options());
        QCOMPARE(report.failedStep, std::optional(ConnectionStep::Authentication));
    }

    void encryptedKeyWithPassphrase()
    {
        const QString key = m_sshd.makeClientKey(QStringLiteral("locked_key"), true, QStringLiteral("open sesame"));
        QVERIFY(!key.isEmpty());
        const StorageUrl url = urlFor(m_sshd, m_root);
        const QString good = m_sshd.writeCredentials({{QStringLiteral("key_file"), key}, {QStringLiteral("passphrase"), QStringLiteral("open sesame")}},
                                                     QStringLiteral("locked.json"));
        auto opened = openStorage(url, credentials(good), options());
        QVERIFY2(opened.ok(), qPrintable(opened.ok() ? QString() : describe(opened.error())));
        const QString bad = m_sshd.writeCredentials({{QStringLiteral("key_file"), key}, {QStringLiteral("passphrase"), QStringLiteral("xyzzy-bad")}},
                                                    QStringLiteral("locked-bad.json"));
        auto refused = openStorage(url, credentials(bad), options());
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.contains(QStringLiteral("passphrase")));
        QVERIFY2(!refused.error().message.contains(QStringLiteral("xyzzy")), "the passphrase must not be echoed");
    }

    void closesItsSockets()
    {
        auto openFds = [] { return QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).size(); };
        const auto before = openFds();
        for (int i = 0; i < 10; ++i) {
            StorageOptions o = options();
            o.connections = 2;
            auto s = openStorage(urlFor(m_sshd, m_root), credentials(m_credentials), o);
            QVERIFY(s.ok());
            QVERIFY((*s)->read(QStringLiteral("a.jpg"), 0).ok());
            // Failed connections must not leak their socket either.
            o.knownHostsPath = m_sshd.dir() + QStringLiteral("/fd_empty_known_hosts");
            QVERIFY(!openStorage(urlFor(m_sshd, m_root), credentials(m_credentials), o).ok());
        }
        QCOMPARE(openFds(), before);
    }

    void passwordAuthentication()
    {
        SshdFixture passwords;
        passwords.setPasswordAuthentication(true);
        QVERIFY2(passwords.start(), qPrintable(passwords.errorString()));
        StorageOptions o = options();
        o.knownHostsPath = passwords.writeKnownHosts();
        const StorageUrl url = urlFor(passwords, passwords.dataDir());
        const QString creds = passwords.writeCredentials({{QStringLiteral("password"), QStringLiteral("not-the-password")}});
        const ConnectionReport report = ConnectionTester::run(url, credentials(creds), o);
        QCOMPARE(report.failedStep, std::optional(ConnectionStep::Authentication));
        QVERIFY2(report.error.message.contains(QStringLiteral("password refused")), qPrintable(report.error.message));
        QVERIFY(!report.error.message.contains(QStringLiteral("not-the-password")));
        // A successful password login needs an account whose password we know, which
        // means changing /etc/shadow or adding a system user: not done by a test.
        QSKIP("a wrong password is refused as an authentication error (checked); logging in with a right password "
              "needs a system account with a known password, which tests must not create");
    }

    void readsSurviveAServerRestart()
    {
        SshdFixture flaky;
        QVERIFY2(flaky.start(), qPrintable(flaky.errorString()));
        const QString dataRoot = flaky.dataDir();
        constexpr int fileCount = 40;
        QList<QByteArray> contents;
        for (int i = 0; i < fileCount; ++i) {
            contents << randomBytes(20 * 1024 + i * 997, 100 + i);
            writeFile(dataRoot + QStringLiteral("/img%1.jpg").arg(i), contents.last());
        }
        StorageOptions o = options();
        o.knownHostsPath = flaky.writeKnownHosts();
        o.connections = 4;
        o.maxRetries = 8;
        o.retryBaseDelayMs = 100;
        const QString creds = flaky.writeCredentials({{QStringLiteral("key_file"), flaky.clientKey()}});
        auto opened = SftpStorage::open(urlFor(flaky, dataRoot), credentials(creds), o);
        QVERIFY2(opened.ok(), qPrintable(opened.ok() ? QString() : describe(opened.error())));
        std::shared_ptr<SftpStorage> storage = *opened;

        constexpr int rounds = 6;
        std::atomic<int> done{0};
        std::atomic<int> wrong{0};
        std::atomic<int> failed{0};
        QStringList failures;
        std::mutex failuresMutex;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int r = 0; r < rounds; ++r)
                    for (int i = t; i < fileCount; i += 4) {
                        auto data = storage->read(QStringLiteral("img%1.jpg").arg(i), 0);
                        if (!data.ok()) {
                            ++failed;
                            std::lock_guard lock(failuresMutex);
                            failures << data.error().toString();
                        } else if (*data != contents[i]) {
                            ++wrong;
                        }
                        ++done;
                    }
            });
        const int total = rounds * fileCount;
        QTRY_VERIFY_WITH_TIMEOUT(done.load() >= total / 4, 30000);
        flaky.kill();
        const int atKill = done.load();
        QThread::msleep(1000);
        QVERIFY2(flaky.start(), qPrintable(flaky.errorString()));
        for (auto &t : threads)
            t.join();
        QCOMPARE(done.load(), total);
        QVERIFY2(atKill < total, "the kill came after all reads; nothing was tested");
        QVERIFY2(failed.load() == 0, qPrintable(failures.join(QLatin1Char('\n'))));
        QCOMPARE(wrong.load(), 0);
        QVERIFY2(storage->reconnects() >= 1, "no connection was ever replaced: the kill went unnoticed");
    }

    void givesUpWhenTheServerStaysAway()
    {
        SshdFixture gone;
        QVERIFY2(gone.start(), qPrintable(gone.errorString()));
        writeFile(gone.dataDir() + QStringLiteral("/x.jpg"), "x");
        StorageOptions o = options();
        o.knownHostsPath = gone.writeKnownHosts();
        o.maxRetries = 2;
        o.retryBaseDelayMs = 50;
        const QString creds = gone.writeCredentials({{QStringLiteral("key_file"), gone.clientKey()}});
        auto opened = SftpStorage::open(urlFor(gone, gone.dataDir()), credentials(creds), o);
        QVERIFY(opened.ok());
        QVERIFY((*opened)->read(QStringLiteral("x.jpg"), 0).ok());
        gone.kill();
        QElapsedTimer timer;
        timer.start();
        auto r = (*opened)->read(QStringLiteral("x.jpg"), 0);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, ErrorCategory::Storage);
        QVERIFY2(r.error().message.contains(QStringLiteral("gave up after 3 attempts")), qPrintable(r.error().message));
        QVERIFY(timer.elapsed() < 10000);
    }

    void hungServerTimesOutAndReconnects()
    {
        SshdFixture hung;
        QVERIFY2(hung.start(), qPrintable(hung.errorString()));
        writeFile(hung.dataDir() + QStringLiteral("/x.jpg"), "still here");
        StorageOptions o = options();
        o.knownHostsPath = hung.writeKnownHosts();
        o.connections = 1;
        o.operationTimeoutMs = 1000;
        const QString creds = hung.writeCredentials({{QStringLiteral("key_file"), hung.clientKey()}});
        auto opened = SftpStorage::open(urlFor(hung, hung.dataDir()), credentials(creds), o);
        QVERIFY(opened.ok());
        hung.freezeSessions(true); // the existing connection stops answering; new ones work
        QElapsedTimer timer;
        timer.start();
        auto r = (*opened)->read(QStringLiteral("x.jpg"), 0);
        const qint64 elapsed = timer.elapsed();
        hung.freezeSessions(false);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : describe(r.error())));
        QCOMPARE(*r, QByteArray("still here"));
        QVERIFY2(elapsed >= 900 && elapsed < 8000, qPrintable(QString::number(elapsed)));
        QCOMPARE((*opened)->reconnects(), 1);
    }

    void cliSaysWhichStepFailed_data()
    {
        QTest::addColumn<QString>("scenario");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("expected");
        QTest::newRow("all fine") << "ok" << 0 << "All checks passed.";
        QTest::newRow("unused port") << "port" << 1 << "FAILED  TCP connect";
        QTest::newRow("unknown host key") << "hostkey" << 1 << "FAILED  host key";
        QTest::newRow("bad key") << "key" << 1 << "FAILED  authentication";
        QTest::newRow("missing path") << "path" << 1 << "FAILED  path";
        QTest::newRow("bad usage") << "usage" << 2 << "expected exactly one URL";
    }

    void cliSaysWhichStepFailed()
    {
        QFETCH(QString, scenario);
        QFETCH(int, exitCode);
        QFETCH(QString, expected);
        const QString cli = qEnvironmentVariable("SEGSCALE_CLI");
        if (cli.isEmpty() || !QFileInfo(cli).isExecutable())
            QSKIP("SEGSCALE_CLI does not name a built segscale executable (build the `segscale` target)");

        QString url = m_sshd.url(m_root);
        QString knownHosts = m_knownHosts;
        QString creds = m_credentials;
        if (scenario == QLatin1StringView("port"))
            url = QStringLiteral("sftp://%1@127.0.0.1:%2/").arg(m_sshd.userName()).arg(SshdFixture::unusedPort());
        if (scenario == QLatin1StringView("hostkey"))
            knownHosts = m_sshd.dir() + QStringLiteral("/cli_empty_known_hosts");
        if (scenario == QLatin1StringView("key"))
            creds = m_sshd.writeCredentials({{QStringLiteral("key_file"), m_sshd.makeClientKey(QStringLiteral("cli_stranger"), false)}},
                                            QStringLiteral("cli_stranger.json"));
        if (scenario == QLatin1StringView("path"))
            url = m_sshd.url(m_root + QStringLiteral("/no/such/folder"));
        QStringList args{QStringLiteral("storage"), QStringLiteral("test"), url, QStringLiteral("--known-hosts"), knownHosts,
                         QStringLiteral("--credentials"), creds};
        if (scenario == QLatin1StringView("usage"))
            args << QStringLiteral("extra-argument");

        QProcess p;
        p.start(cli, args);
        QVERIFY(p.waitForFinished(60000));
        const QString out = QString::fromLocal8Bit(p.readAllStandardOutput() + p.readAllStandardError());
        QVERIFY2(out.contains(expected), qPrintable(out));
        QCOMPARE(p.exitCode(), exitCode);
        if (scenario == QLatin1StringView("hostkey")) {
            QVERIFY2(out.contains(m_sshd.hostKeyFingerprint()), qPrintable(out));
            QVERIFY(out.contains(QStringLiteral("--accept-new-host-key")));
            QVERIFY2(!QFileInfo::exists(knownHosts), "a host key was recorded without being asked to");
        }
    }

    void cliListsFiles()
    {
        const QString cli = qEnvironmentVariable("SEGSCALE_CLI");
        if (cli.isEmpty() || !QFileInfo(cli).isExecutable())
            QSKIP("SEGSCALE_CLI does not name a built segscale executable (build the `segscale` target)");
        QProcess p;
        p.start(cli, {QStringLiteral("storage"), QStringLiteral("ls"), m_sshd.url(m_root), QStringLiteral("--include"),
                      QStringLiteral("*.jpg"), QStringLiteral("--exclude"), QStringLiteral("out"), QStringLiteral("--known-hosts"),
                      m_knownHosts, QStringLiteral("--credentials"), m_credentials});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const QString out = QString::fromLocal8Bit(p.readAllStandardOutput());
        QCOMPARE(out.split(QLatin1Char('\n'), Qt::SkipEmptyParts),
                 (QStringList{QStringLiteral("a.jpg"), QStringLiteral("cache/3.jpg"), QStringLiteral("city/x/1.jpg"),
                              QStringLiteral("city/y/2.JPG"), QStringLiteral("empty.jpg"), QStringLiteral("same.jpg")}));
    }
};

QTEST_GUILESS_MAIN(TestSftpStorage)
#include "tst_sftpstorage.moc"
