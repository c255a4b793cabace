// Images straight from the storage server: `segscale segment` and `segscale study add`
// over sftp:// against a private sshd (tests/common/sshdfixture), with the real ESPNet
// model. Remote and local runs of the same photos must give the same compositions and
// the same label maps; a corrupt photo fails as corrupt in both; an unknown host key
// stops the run at the start; a server that dies mid-run and comes back loses nothing;
// ".." in a remote input is refused. StorageFetcher itself is checked directly too
// (concurrent fetches, categories, the study's storage URL + path composition).

#include "common/sshdfixture.h"

#include "jobs/jobstore.h"
#include "pipeline/storagefetcher.h"
#include "storage/credentials.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QMap>
#include <QProcess>
#include <QTest>
#include <QThread>

#include <atomic>
#include <thread>
#include <vector>

using namespace SegScale;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(data) == data.size();
}

// composition.csv rows keyed by the image's file name (the image column differs between
// a remote and a local run only by its prefix).
QMap<QString, QString> compositionByFileName(const QString &outDir)
{
    QMap<QString, QString> rows;
    const QList<QByteArray> lines = readAll(outDir + QStringLiteral("/composition.csv")).split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QString line = QString::fromUtf8(lines[i]);
        if (line.isEmpty())
            continue;
        const qsizetype comma = line.indexOf(QLatin1Char(','));
        rows.insert(line.left(comma).section(QLatin1Char('/'), -1), line.mid(comma));
    }
    return rows;
}

// errors.csv: file name -> category.
QMap<QString, QString> errorsByFileName(const QString &outDir)
{
    QMap<QString, QString> rows;
    const QList<QByteArray> lines = readAll(outDir + QStringLiteral("/errors.csv")).split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QStringList fields = QString::fromUtf8(lines[i]).split(QLatin1Char(','));
        if (fields.size() >= 2)
            rows.insert(fields[0].section(QLatin1Char('/'), -1), fields[1]);
    }
    return rows;
}

} // namespace

class TestSftpSegment : public QObject {
    Q_OBJECT

private:
    SshdFixture m_sshd;
    QTemporaryDir m_work;
    QString m_cli;
    QString m_model;
    QString m_photos; // served folder: 3 photos + corrupt.jpg
    QString m_many;   // served folder: 12 photos in two subfolders
    QString m_restart; // served folder: 24 photos, for the server restart
    QString m_knownHosts;
    QString m_credentials;
    QStringList m_names; // the 3 photo file names

    QProcessEnvironment environment() const
    {
        auto env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("SSH_AUTH_SOCK")); // ssh-agent must not decide what these tests see
        env.insert(QStringLiteral("HOME"), m_work.path()); // nor the user's ~/.ssh or ~/.config
        return env;
    }
    QStringList connection(const QString &knownHosts = {}) const
    {
        return {QStringLiteral("--known-hosts"), knownHosts.isEmpty() ? m_knownHosts : knownHosts, QStringLiteral("--credentials"),
                m_credentials};
    }
    QStringList segmentArgs(const QString &out) const
    {
        return {QStringLiteral("segment"), QStringLiteral("--model"), m_model, QStringLiteral("--base-size"), QStringLiteral("256"),
                QStringLiteral("--crop"), QStringLiteral("256"), QStringLiteral("--no-flip"), QStringLiteral("--out"), out};
    }
    struct Run {
        int exitCode = -1;
        QString out, err;
    };
    Run run(const QStringList &args, int timeoutMs = 240000) const
    {
        QProcess p;
        p.setProcessEnvironment(environment());
        p.start(m_cli, args);
        Run r;
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished();
            r.err = QStringLiteral("timed out: ") + QString::fromLocal8Bit(p.readAllStandardError());
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        r.out = QString::fromLocal8Bit(p.readAllStandardOutput());
        r.err = QString::fromLocal8Bit(p.readAllStandardError());
        return r;
    }
    Pipeline::StorageFetcher fetcher() const
    {
        auto credentials = Storage::Credentials::load(m_credentials);
        if (!credentials)
            qFatal("%s", qPrintable(credentials.error().message));
        Storage::StorageOptions options;
        options.knownHostsPath = m_knownHosts;
        options.connectTimeoutMs = 5000;
        return Pipeline::StorageFetcher(*credentials, options);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(QStringLiteral("no private sshd possible: ") + why));
        m_cli = qEnvironmentVariable("SEGSCALE_CLI");
        if (m_cli.isEmpty() || !QFileInfo(m_cli).isExecutable())
            QSKIP("SEGSCALE_CLI does not name a built segscale executable (build the `segscale` target)");
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        m_model = shared + QStringLiteral("/models/espnet-cityscapes");
        const QDir streets(shared + QStringLiteral("/samples/streets"));
        const QStringList crops = streets.entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        if (!QFileInfo::exists(m_model + QStringLiteral("/model.json")) || crops.size() < 3)
            QSKIP(qPrintable(QStringLiteral("needs the shared ESPNet model and street photos under %1 (SEGSCALE_SHARED_DIR)").arg(shared)));
        QVERIFY(m_work.isValid());
        qunsetenv("SSH_AUTH_SOCK");
        QVERIFY2(m_sshd.start(), qPrintable(m_sshd.errorString()));

        m_photos = m_sshd.dataDir() + QStringLiteral("/photos");
        m_many = m_sshd.dataDir() + QStringLiteral("/many");
        m_names = crops.mid(0, 3);
        for (const QString &name : m_names)
            QVERIFY(writeFile(m_photos + QLatin1Char('/') + name, readAll(streets.filePath(name))));
        const QByteArray whole = readAll(streets.filePath(m_names[0]));
        QVERIFY(writeFile(m_photos + QStringLiteral("/corrupt.jpg"), whole.left(whole.size() / 2)));
        for (int i = 0; i < 12; ++i)
            QVERIFY(writeFile(m_many + QStringLiteral("/sub%1/img%2.jpg").arg(i % 2).arg(i, 2, 10, QLatin1Char('0')),
                              readAll(streets.filePath(crops[i % crops.size()]))));
        // More images than the engine holds in flight (fetch threads + queues, about a
        // dozen), so that many are fetched after the server died and came back.
        m_restart = m_sshd.dataDir() + QStringLiteral("/restart");
        for (int i = 0; i < 24; ++i)
            QVERIFY(writeFile(m_restart + QStringLiteral("/img%1.jpg").arg(i, 2, 10, QLatin1Char('0')),
                              readAll(streets.filePath(crops[i % crops.size()]))));

        m_knownHosts = m_sshd.writeKnownHosts();
        m_credentials = m_sshd.writeCredentials({{QStringLiteral("key_file"), m_sshd.clientKey()}});
    }

    void fetcherComposesStudyLocations()
    {
        const Storage::StorageUrl server = Pipeline::StorageFetcher::parseRemote(m_sshd.url(QStringLiteral("/"))).value();
        const QString storageUrl = Pipeline::StorageFetcher::serverUrl(server);
        QCOMPARE(storageUrl, QStringLiteral("sftp://%1@127.0.0.1:%2").arg(m_sshd.userName()).arg(m_sshd.port()));
        // Odd names survive the round trip through a location string.
        const QString odd = m_photos + QStringLiteral("/odd name #1 %41.jpg");
        QVERIFY(writeFile(odd, "odd"));
        const QString location = Pipeline::StorageFetcher::location(storageUrl, odd);
        QCOMPARE(Pipeline::StorageFetcher::parseRemote(location).value().path, odd);
        QCOMPARE(Pipeline::StorageFetcher::location(QStringLiteral("file://"), odd), odd);

        auto f = fetcher();
        const auto bytes = f.fetch(location, {});
        QVERIFY2(bytes.ok(), qPrintable(bytes.ok() ? QString() : bytes.error().toString()));
        QCOMPARE(*bytes, QByteArray("odd"));
        QFile::remove(odd);
    }

    void fetcherKeepsCategories()
    {
        auto f = fetcher();
        Pipeline::DecodeOptions limits;
        auto missing = f.fetch(m_sshd.url(m_photos + QStringLiteral("/nope.jpg")), limits);
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);

        QVERIFY(writeFile(m_sshd.dataDir() + QStringLiteral("/empty.jpg"), QByteArray()));
        auto empty = f.fetch(m_sshd.url(m_sshd.dataDir() + QStringLiteral("/empty.jpg")), limits);
        QVERIFY(!empty.ok());
        QCOMPARE(empty.error().category, ErrorCategory::Corrupt);

        limits.maxFileBytes = 1000;
        auto big = f.fetch(m_sshd.url(m_photos + QLatin1Char('/') + m_names[0]), limits);
        QVERIFY(!big.ok());
        QCOMPARE(big.error().category, ErrorCategory::TooLarge);

        auto climb = f.fetch(m_sshd.url(m_photos + QStringLiteral("/../../../../etc/passwd")), {});
        QVERIFY(!climb.ok());
        QVERIFY2(climb.error().message.contains(QStringLiteral("..")), qPrintable(climb.error().message));

        // Local paths take ImageDecoder::readFile's checks.
        auto local = f.fetch(m_work.path() + QStringLiteral("/none.jpg"), {});
        QVERIFY(!local.ok());
        QCOMPARE(local.error().category, ErrorCategory::Missing);
    }

    void fetcherServesThreadsWithOneStorage()
    {
        auto f = fetcher();
        std::atomic<int> good{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 6; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 6; ++i) {
                    const QString path = m_many + QStringLiteral("/sub%1/img%2.jpg").arg((t + i) % 2).arg((t + i) % 2, 2, 10, QLatin1Char('0'));
                    if (auto b = f.fetch(m_sshd.url(path), {}); b.ok() && *b == readAll(path))
                        ++good;
                }
            });
        for (auto &t : threads)
            t.join();
        QCOMPARE(good.load(), 36);
        QCOMPARE(f.openStorages(), 1);
    }

    void remoteMatchesLocal()
    {
        const QString remoteOut = m_work.path() + QStringLiteral("/remote");
        const QString localOut = m_work.path() + QStringLiteral("/local");
        const Run remote = run(segmentArgs(remoteOut) << connection() << m_sshd.url(m_photos));
        QVERIFY2(remote.exitCode == 3, qPrintable(remote.err)); // the corrupt one failed
        const Run local = run(segmentArgs(localOut) << m_photos);
        QVERIFY2(local.exitCode == 3, qPrintable(local.err));

        const auto remoteRows = compositionByFileName(remoteOut);
        const auto localRows = compositionByFileName(localOut);
        QCOMPARE(remoteRows.size(), 3);
        QCOMPARE(remoteRows, localRows);
        // The image column names the remote location.
        QVERIFY(readAll(remoteOut + QStringLiteral("/composition.csv")).contains(m_sshd.url(m_photos).toUtf8()));

        for (const QString &name : m_names) {
            const QString label = QStringLiteral("/labels/") + QFileInfo(name).completeBaseName() + QStringLiteral(".png");
            const QByteArray remoteLabel = readAll(remoteOut + label);
            QVERIFY2(!remoteLabel.isEmpty(), qPrintable(remoteOut + label));
            QCOMPARE(remoteLabel, readAll(localOut + label));
        }
        const auto remoteErrors = errorsByFileName(remoteOut);
        QCOMPARE(remoteErrors.value(QStringLiteral("corrupt.jpg")), QStringLiteral("corrupt"));
        QCOMPARE(remoteErrors, errorsByFileName(localOut));
    }

    void unknownHostKeyStopsAtStart()
    {
        const QString emptyKnownHosts = m_work.path() + QStringLiteral("/empty_known_hosts");
        const QString out = m_work.path() + QStringLiteral("/hostkey");
        const Run r = run(segmentArgs(out) << connection(emptyKnownHosts) << m_sshd.url(m_photos));
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("SHA256:")), qPrintable(r.err));
        QVERIFY2(r.err.contains(m_sshd.hostKeyFingerprint()), qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("segscale storage test")) && r.err.contains(QStringLiteral("--accept-new-host-key")),
                 qPrintable(r.err));
        QVERIFY2(!QFileInfo::exists(emptyKnownHosts), "a host key was recorded without being asked to");
        QVERIFY(!QFileInfo::exists(out + QStringLiteral("/composition.csv")));
    }

    void pathTraversalRefused()
    {
        const QString out = m_work.path() + QStringLiteral("/climb");
        const Run r = run(segmentArgs(out) << connection() << m_sshd.url(m_photos + QStringLiteral("/../../etc/passwd")));
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("\"..\"")), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(out + QStringLiteral("/composition.csv")));
    }

    void serverRestartMidRunLosesNothing()
    {
        const QString out = m_work.path() + QStringLiteral("/restart");
        QProcess p;
        p.setProcessEnvironment(environment());
        p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        p.start(m_cli, segmentArgs(out) << connection() << m_sshd.url(m_restart));
        QVERIFY(p.waitForStarted());
        const QString csv = out + QStringLiteral("/composition.csv");
        auto rows = [&] { return readAll(csv).count('\n') - 1; };
        QVERIFY2(QTest::qWaitFor([&] { return rows() >= 1 || p.state() == QProcess::NotRunning; }, 180000),
                 "no composition row appeared");
        QVERIFY2(p.state() == QProcess::Running, "segment ended before the server could be killed");
        m_sshd.kill();
        QThread::sleep(1);
        QVERIFY2(m_sshd.restart(), qPrintable(m_sshd.errorString()));
        QVERIFY(p.waitForFinished(300000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        QCOMPARE(rows(), 24);
        QVERIFY(errorsByFileName(out).isEmpty());
        QCOMPARE(QDir(out + QStringLiteral("/labels")).entryList(QDir::Files).size(), 24);
    }

    void labelsWrittenToTheStorageServer()
    {
        // segment: local photos in, label maps and overlays out to the storage server.
        const QString localOut = m_work.path() + QStringLiteral("/to-server-local");
        const QString remoteDir = m_sshd.dataDir() + QStringLiteral("/results/segment");
        const Run r = run(segmentArgs(localOut) << QStringLiteral("--overlays") << QStringLiteral("--labels-to") << m_sshd.url(remoteDir)
                                                << connection() << m_photos);
        QVERIFY2(r.exitCode == 3, qPrintable(r.err));  // corrupt.jpg
        const Run reference = run(segmentArgs(m_work.path() + QStringLiteral("/to-server-reference")) << m_photos);
        QVERIFY2(reference.exitCode == 3, qPrintable(reference.err));
        for (const QString &name : m_names) {
            const QString stem = QFileInfo(name).completeBaseName();
            const QByteArray onServer = readAll(remoteDir + QStringLiteral("/labels/") + stem + QStringLiteral(".png"));
            QVERIFY2(!onServer.isEmpty(), qPrintable(stem));
            QCOMPARE(onServer, readAll(m_work.path() + QStringLiteral("/to-server-reference/labels/") + stem + QStringLiteral(".png")));
            QVERIFY(QFileInfo(remoteDir + QStringLiteral("/overlays/") + stem + QStringLiteral(".jpg")).size() > 0);
            QVERIFY(!QFileInfo::exists(localOut + QStringLiteral("/labels/") + stem + QStringLiteral(".png")));
        }
        QCOMPARE(compositionByFileName(localOut), compositionByFileName(m_work.path() + QStringLiteral("/to-server-reference")));

        // study run: images fetched from the server, label maps written back to it.
        const QString study = m_work.path() + QStringLiteral("/remote-run.db");
        QCOMPARE(run({QStringLiteral("study"), QStringLiteral("create"), study, QStringLiteral("--model"), m_model, QStringLiteral("--base-size"),
                      QStringLiteral("256"), QStringLiteral("--crop"), QStringLiteral("256"), QStringLiteral("--no-flip")})
                     .exitCode,
                 0);
        const Run added = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study, m_sshd.url(m_photos)} << connection());
        QVERIFY2(added.exitCode == 0, qPrintable(added.err));
        const QString studyOut = m_sshd.dataDir() + QStringLiteral("/results/study");
        const Run ran = run(QStringList{QStringLiteral("study"), QStringLiteral("run"), study, QStringLiteral("--out"), m_sshd.url(studyOut)}
                            << connection());
        QVERIFY2(ran.exitCode == 3, qPrintable(ran.err));  // corrupt.jpg failed, 3 done
        QVERIFY2(ran.err.contains(QStringLiteral("this run: 3 done, 1 failed")), qPrintable(ran.err));
        for (const QString &name : m_names) {
            const QString stem = QFileInfo(name).completeBaseName();  // segment's naming
            QCOMPARE(readAll(studyOut + QStringLiteral("/labels/1/") + name + QStringLiteral(".png")),
                     readAll(m_work.path() + QStringLiteral("/to-server-reference/labels/") + stem + QStringLiteral(".png")));
        }
    }

    void studyAddRecordsRemoteImages()
    {
        const QString study = m_work.path() + QStringLiteral("/study.db");
        const Run created = run({QStringLiteral("study"), QStringLiteral("create"), study, QStringLiteral("--model"), m_model});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        const Run added = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study, m_sshd.url(m_many)} << connection());
        QVERIFY2(added.exitCode == 0, qPrintable(added.err + added.out));
        QVERIFY2(added.out.contains(QStringLiteral("added 12 images")), qPrintable(added.out));
        // Again: nothing new.
        const Run again = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study, m_sshd.url(m_many)} << connection());
        QVERIFY2(again.out.contains(QStringLiteral("added 0 images")), qPrintable(again.out + again.err));
        // Includes apply; one file works too.
        const Run one = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study,
                                        m_sshd.url(m_photos + QLatin1Char('/') + m_names[1])}
                            << connection());
        QVERIFY2(one.out.contains(QStringLiteral("added 1 images")), qPrintable(one.out + one.err));
        const Run climb = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study,
                                          m_sshd.url(m_many + QStringLiteral("/../../../etc"))}
                              << connection());
        QCOMPARE(climb.exitCode, 2);

        auto store = Jobs::JobStore::open(study);
        QVERIFY2(store.ok(), qPrintable(store.ok() ? QString() : store.error().toString()));
        QCOMPARE((*store)->imageCount().value(), 13);
        QVERIFY((*store)->registerWorker(QStringLiteral("test"), QStringLiteral("localhost"), QStringLiteral("cpu")).ok());
        auto leased = (*store)->lease(QStringLiteral("test"), 13, 60);
        QVERIFY2(leased.ok(), qPrintable(leased.ok() ? QString() : leased.error().toString()));
        QCOMPARE(leased->size(), 13);
        // What a study runner does with a lease: storage URL + location -> the bytes.
        auto f = fetcher();
        for (const auto &image : *leased) {
            QCOMPARE(image.storageUrl, QStringLiteral("sftp://%1@127.0.0.1:%2").arg(m_sshd.userName()).arg(m_sshd.port()));
            const auto bytes = f.fetch(Pipeline::StorageFetcher::location(image.storageUrl, image.location()), {});
            QVERIFY2(bytes.ok(), qPrintable(image.location()));
            QCOMPARE(*bytes, readAll(image.location()));
        }
    }

    // `study add` with a host key nobody trusted yet: a usage problem (exit 2) that shows
    // the fingerprint and the command that trusts it, and records nothing.
    void studyAddUnknownHostKeyIsUsage()
    {
        const QString study = m_work.path() + QStringLiteral("/hostkey-study.db");
        const Run created = run({QStringLiteral("study"), QStringLiteral("create"), study, QStringLiteral("--model"), m_model});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        const QString emptyKnownHosts = m_work.path() + QStringLiteral("/empty_known_hosts_add");
        const Run added = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study, m_sshd.url(m_many)}
                              << connection(emptyKnownHosts));
        QCOMPARE(added.exitCode, 2);
        QVERIFY2(added.err.contains(m_sshd.hostKeyFingerprint()), qPrintable(added.err));
        QVERIFY2(added.err.contains(QStringLiteral("--accept-new-host-key")), qPrintable(added.err));
        QVERIFY2(!QFileInfo::exists(emptyKnownHosts), "a host key was recorded without being asked to");
        auto store = Jobs::JobStore::open(study);
        QVERIFY(store.ok());
        QCOMPARE((*store)->imageCount().value(), 0);
    }

    // `study run` while the storage server is down: one storage error up front (exit 1),
    // naming the server, instead of a timeout per image; every image stays pending.
    void studyRunChecksItsServersFirst()
    {
        const QString study = m_work.path() + QStringLiteral("/down-study.db");
        const Run created = run({QStringLiteral("study"), QStringLiteral("create"), study, QStringLiteral("--model"), m_model,
                                 QStringLiteral("--base-size"), QStringLiteral("256"), QStringLiteral("--crop"), QStringLiteral("256")});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        const Run added = run(QStringList{QStringLiteral("study"), QStringLiteral("add"), study, m_sshd.url(m_many)} << connection());
        QVERIFY2(added.exitCode == 0, qPrintable(added.err + added.out));
        m_sshd.kill();
        QElapsedTimer t;
        t.start();
        const Run ran = run(QStringList{QStringLiteral("study"), QStringLiteral("run"), study, QStringLiteral("--out"),
                                        m_work.path() + QStringLiteral("/down-out")}
                            << connection());
        const qint64 ms = t.elapsed();
        QVERIFY2(m_sshd.restart(), qPrintable(m_sshd.errorString()));
        QCOMPARE(ran.exitCode, 1);
        QVERIFY2(ran.err.contains(QStringLiteral("127.0.0.1:%1").arg(m_sshd.port())), qPrintable(ran.err));
        QVERIFY2(ran.err.contains(QStringLiteral("storage")), qPrintable(ran.err));
        qInfo("study run against a stopped server ended after %lld ms", ms);
        auto store = Jobs::JobStore::open(study);
        QVERIFY(store.ok());
        QCOMPARE((*store)->imageCount(Jobs::ImageState::Pending).value(), 12);
        QCOMPARE((*store)->imageCount(Jobs::ImageState::Failed).value(), 0);
    }
};

QTEST_GUILESS_MAIN(TestSftpSegment)
#include "tst_sftpsegment.moc"
