// SFTP fetch throughput: images/s read through SftpStorage from a private local sshd with
// 1 and with 8 transfers in flight (threads sharing a pool of as many connections), as
// the fetch stage does. Files are the street photos of $SEGSCALE_SHARED_DIR copied around
// (synthetic ~70 KB files when absent); $SEGSCALE_BENCH_FILES sets how many (default 200).
// Every byte is checked, so a fast but wrong transfer fails the benchmark.

#include "common/sshdfixture.h"

#include "storage/sftpstorage.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTest>

#include <atomic>
#include <thread>

using namespace SegScale;
using namespace SegScale::Storage;

class BenchSftp : public QObject {
    Q_OBJECT

private:
    SshdFixture m_sshd;
    QList<QByteArray> m_contents;
    QString m_knownHosts;
    QString m_credentials;

    // Reads every file once with `inFlight` threads; returns images/s, or -1 on failure.
    double run(int inFlight)
    {
        StorageOptions o;
        o.knownHostsPath = m_knownHosts;
        o.connections = inFlight;
        auto credentials = Credentials::load(m_credentials);
        if (!credentials.ok())
            return -1;
        auto opened = SftpStorage::open(StorageUrl::parse(m_sshd.url(m_sshd.dataDir())).value(), *credentials, o);
        if (!opened.ok()) {
            qWarning("%s", qPrintable(opened.error().toString()));
            return -1;
        }
        std::shared_ptr<SftpStorage> storage = *opened;
        std::atomic<int> next{0};
        std::atomic<int> bad{0};
        auto worker = [&](int limit) {
            for (int i = next++; i < limit; i = next++) {
                auto data = storage->read(QStringLiteral("img%1.jpg").arg(i), 64 * 1024 * 1024);
                if (!data.ok() || *data != m_contents[i % m_contents.size()])
                    ++bad;
            }
        };
        // Warm-up: open all pooled connections before timing, as a long-running agent has.
        const int warm = std::min<int>(inFlight * 2, int(m_contents.size()));
        {
            std::vector<std::thread> threads;
            for (int t = 0; t < inFlight; ++t)
                threads.emplace_back(worker, warm);
            for (auto &t : threads)
                t.join();
        }
        next = 0;
        const int count = fileCount();
        QElapsedTimer timer;
        timer.start();
        std::vector<std::thread> threads;
        for (int t = 0; t < inFlight; ++t)
            threads.emplace_back(worker, count);
        for (auto &t : threads)
            t.join();
        const double seconds = double(timer.nsecsElapsed()) / 1e9;
        if (bad.load() != 0) {
            qWarning("%d reads failed or returned wrong bytes", bad.load());
            return -1;
        }
        return count / seconds;
    }

    static int fileCount() { return qEnvironmentVariableIsSet("SEGSCALE_BENCH_FILES") ? qEnvironmentVariableIntValue("SEGSCALE_BENCH_FILES") : 200; }

private Q_SLOTS:
    void initTestCase()
    {
        if (const QString why = SshdFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(QStringLiteral("no private sshd possible: ") + why));
        qunsetenv("SSH_AUTH_SOCK");
        QVERIFY2(m_sshd.start(), qPrintable(m_sshd.errorString()));

        const QDir samples(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        for (const QFileInfo &f : samples.entryInfoList({QStringLiteral("*.jpg"), QStringLiteral("*.png")}, QDir::Files, QDir::Name)) {
            QFile file(f.filePath());
            if (f.size() <= 512 * 1024 && file.open(QIODevice::ReadOnly))
                m_contents << file.readAll();
        }
        if (m_contents.isEmpty()) {
            qInfo("no sample photos in %s: using synthetic 70 KB files", qPrintable(samples.path()));
            QRandomGenerator rng(7);
            for (int i = 0; i < 16; ++i) {
                QByteArray data(70 * 1024 + i * 100, Qt::Uninitialized);
                for (auto &c : data)
                    c = char(rng.generate());
                m_contents << data;
            }
        }
        qint64 total = 0;
        for (int i = 0; i < fileCount(); ++i) {
            const QByteArray &data = m_contents[i % m_contents.size()];
            QFile out(m_sshd.dataDir() + QStringLiteral("/img%1.jpg").arg(i));
            QVERIFY(out.open(QIODevice::WriteOnly));
            QCOMPARE(out.write(data), data.size());
            total += data.size();
        }
        qInfo("%d files, %.1f KB on average", fileCount(), double(total) / fileCount() / 1024);
        m_knownHosts = m_sshd.writeKnownHosts();
        m_credentials = m_sshd.writeCredentials({{QStringLiteral("key_file"), m_sshd.clientKey()}});
    }

    void inFlight1vs8()
    {
        const double one = run(1);
        QVERIFY(one > 0);
        const double eight = run(8);
        QVERIFY(eight > 0);
        qInfo("SFTP fetch, 1 transfer in flight:  %8.1f images/s", one);
        qInfo("SFTP fetch, 8 transfers in flight: %8.1f images/s", eight);
        qInfo("speed-up 8 vs 1: %.2fx", eight / one);
    }
};

QTEST_GUILESS_MAIN(BenchSftp)
#include "bench_sftp.moc"
