// `segscale study run` as a real process on a real SQLite study with the real model:
// a run completes and a rerun recomputes nothing; kill -9 at random moments, then a
// rerun: every image done exactly once, and what was finished before a kill is never
// recomputed (its result row, created_at included, is unchanged).

#include "common/testpaths.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QtTest>

#include <csignal>

namespace {

QString cli()
{
    return SegScale::Testing::cliPath();
}

QString modelDir()
{
    return SegScale::Testing::sharedModel();
}

struct Run {
    int exitCode = -1;
    QString err;
};

Run runCli(const QStringList &args, int timeoutMs = 180000)
{
    QProcess p;
    p.start(cli(), args);
    p.waitForFinished(timeoutMs);
    return Run{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardError())};
}

// image_id -> created_at of every result row (read-only, alongside a running writer).
std::map<qint64, qint64> results(const QString &db, int *rows = nullptr)
{
    std::map<qint64, qint64> out;
    const QString name = QStringLiteral("reader-%1").arg(QRandomGenerator::global()->generate());
    {
        QSqlDatabase c = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        c.setDatabaseName(db);
        c.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
        if (c.open()) {
            QSqlQuery q(c);
            q.exec(QStringLiteral("SELECT image_id, created_at FROM results"));
            int n = 0;
            while (q.next()) {
                out[q.value(0).toLongLong()] = q.value(1).toLongLong();
                ++n;
            }
            if (rows)
                *rows = n;
        }
        c.close();
    }
    QSqlDatabase::removeDatabase(name);
    return out;
}

std::map<int, qint64> stateCounts(const QString &db)
{
    std::map<int, qint64> out;
    const QString name = QStringLiteral("counts-%1").arg(QRandomGenerator::global()->generate());
    {
        QSqlDatabase c = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        c.setDatabaseName(db);
        if (c.open()) {
            QSqlQuery q(c);
            q.exec(QStringLiteral("SELECT state, COUNT(*) FROM images GROUP BY state"));
            while (q.next())
                out[q.value(0).toInt()] = q.value(1).toLongLong();
        }
        c.close();
    }
    QSqlDatabase::removeDatabase(name);
    return out;
}

} // namespace

class StudyRunTest : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_images;
    int m_good = 0;

private Q_SLOTS:
    void initTestCase()
    {
        if (cli().isEmpty() || !QFile::exists(cli()))
            QSKIP("SEGSCALE_CLI is not set: build the segscale target");
        if (!QFile::exists(modelDir() + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        m_images = m_dir.filePath(QStringLiteral("images"));
        QDir().mkpath(m_images + QStringLiteral("/sub"));
        const QDir streets(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList photos = streets.entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(photos.size() >= 6);
        // 24 small photos (two folders) so that each run takes seconds, plus one bad file.
        for (int i = 0; i < 24; ++i) {
            cv::Mat img = cv::imread(streets.filePath(photos[i % photos.size()]).toStdString());
            cv::resize(img, img, cv::Size(128 + 8 * (i % 3), 128), 0, 0, cv::INTER_AREA);
            const QString path = QStringLiteral("%1/%2photo%3.jpg").arg(m_images, i % 2 ? QStringLiteral("sub/") : QString()).arg(i, 2, 10, QLatin1Char('0'));
            QVERIFY(cv::imwrite(path.toStdString(), img));
            ++m_good;
        }
        QFile bad(m_images + QStringLiteral("/broken.jpg"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("<html>404 not found</html>");
    }

    void runThenRerunRecomputesNothing()
    {
        const QString db = m_dir.filePath(QStringLiteral("once.db"));
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("create"), db, QStringLiteral("--model"), modelDir(),
                         QStringLiteral("--base-size"), QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"),
                         QStringLiteral("--no-flip")}).exitCode, 0);
        QCOMPARE(QFile::permissions(db) & (QFileDevice::ReadGroup | QFileDevice::ReadOther), QFileDevice::Permissions());
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("add"), db, m_images}).exitCode, 0);
        const Run first = runCli({QStringLiteral("study"), QStringLiteral("run"), db});
        QVERIFY2(first.exitCode == 3, qPrintable(first.err));  // broken.jpg failed, the rest done
        QVERIFY(first.err.contains(QStringLiteral("model: espnet-cityscapes")));
        auto counts = stateCounts(db);
        QCOMPARE(counts[2], qint64(m_good));
        QCOMPARE(counts[3], qint64(1));
        int rows = 0;
        const auto before = results(db, &rows);
        QCOMPARE(rows, m_good);
        // Label maps were written for every done image.
        QCOMPARE(QDir(m_dir.filePath(QStringLiteral("once-outputs/labels/1/sub"))).entryList(QDir::Files).size(), m_good / 2);

        const Run second = runCli({QStringLiteral("study"), QStringLiteral("run"), db});
        QCOMPARE(second.exitCode, 3);
        QVERIFY2(second.err.contains(QStringLiteral("this run: 0 done, 0 failed")), qPrintable(second.err));
        QCOMPARE(results(db), before);  // nothing recomputed, not even rewritten

        // The errors command shows the bad file with its category.
        QProcess errors;
        errors.start(cli(), {QStringLiteral("study"), QStringLiteral("errors"), db});
        QVERIFY(errors.waitForFinished(30000));
        const QString listing = QString::fromUtf8(errors.readAllStandardOutput());
        QVERIFY2(listing.contains(QStringLiteral("broken.jpg")) && listing.contains(QStringLiteral("unsupported")), qPrintable(listing));
    }

    // Two datasets holding the same relative path, and one folder holding photo.jpg beside
    // photo.png: every image gets a label file of its own (they used to overwrite each
    // other), and its result row says which.
    void equalRelativePathsNeverShareALabelFile()
    {
        const QDir streets(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList photos = streets.entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        const QString a = m_dir.filePath(QStringLiteral("twins/a")), b = m_dir.filePath(QStringLiteral("twins/b"));
        QVERIFY(QDir().mkpath(a) && QDir().mkpath(b));
        auto write = [&](const QString &path, int photo) {
            cv::Mat img = cv::imread(streets.filePath(photos[photo]).toStdString());
            cv::resize(img, img, cv::Size(128, 128), 0, 0, cv::INTER_AREA);
            return cv::imwrite(path.toStdString(), img);
        };
        QVERIFY(write(a + QStringLiteral("/photo.jpg"), 0));
        QVERIFY(write(a + QStringLiteral("/photo.png"), 2));
        QVERIFY(write(b + QStringLiteral("/photo.jpg"), 4));
        const QString db = m_dir.filePath(QStringLiteral("twins.db"));
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("create"), db, QStringLiteral("--model"), modelDir(),
                         QStringLiteral("--base-size"), QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"),
                         QStringLiteral("--no-flip")}).exitCode, 0);
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("add"), db, a}).exitCode, 0);
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("add"), db, b}).exitCode, 0);
        const Run ran = runCli({QStringLiteral("study"), QStringLiteral("run"), db});
        QVERIFY2(ran.exitCode == 0, qPrintable(ran.err));
        const QString out = m_dir.filePath(QStringLiteral("twins-outputs/labels/"));
        QStringList written;
        for (const QString &rel : {QStringLiteral("1/photo.jpg.png"), QStringLiteral("1/photo.png.png"), QStringLiteral("2/photo.jpg.png")}) {
            QVERIFY2(QFileInfo::exists(out + rel), qPrintable(out + rel));
            written << rel;
        }
        // Three different photos: three different label maps, none overwritten.
        const cv::Mat l1 = cv::imread(QString(out + written[0]).toStdString(), cv::IMREAD_UNCHANGED);
        const cv::Mat l2 = cv::imread(QString(out + written[2]).toStdString(), cv::IMREAD_UNCHANGED);
        QVERIFY(cv::countNonZero(l1 != l2) > 0);
        QSet<QString> recorded;
        {
            QSqlDatabase c = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("twins"));
            c.setDatabaseName(db);
            QVERIFY(c.open());
            QSqlQuery q(c);
            QVERIFY(q.exec(QStringLiteral("SELECT label_path FROM results")));
            while (q.next())
                recorded.insert(q.value(0).toString());
        }
        QSqlDatabase::removeDatabase(QStringLiteral("twins"));
        QCOMPARE(recorded.size(), 3);
    }

    void killNineAtRandomMomentsThenRerun()
    {
        const QString db = m_dir.filePath(QStringLiteral("killed.db"));
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("create"), db, QStringLiteral("--model"), modelDir(),
                         QStringLiteral("--base-size"), QStringLiteral("128"), QStringLiteral("--crop"), QStringLiteral("128"),
                         QStringLiteral("--no-flip")}).exitCode, 0);
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("add"), db, m_images}).exitCode, 0);
        const QStringList runArgs{QStringLiteral("study"), QStringLiteral("run"), db, QStringLiteral("--max-attempts"),
                                  QStringLiteral("10"), QStringLiteral("--lease-batch"), QStringLiteral("2")};
        std::map<qint64, qint64> finishedBeforeKills;
        int kills = 0;
        for (int attempt = 0; attempt < 4; ++attempt) {
            const size_t doneBefore = results(db).size();
            if (doneBefore + 3 >= size_t(m_good))
                break;
            QProcess p;
            p.start(cli(), runArgs);
            QVERIFY(p.waitForStarted());
            // Wait for progress made by this process, then kill at a random moment.
            QElapsedTimer waited;
            waited.start();
            while (results(db).size() <= doneBefore && waited.elapsed() < 120000 && p.state() == QProcess::Running)
                QTest::qWait(20);
            QTest::qWait(int(QRandomGenerator::global()->bounded(600)));
            if (p.state() != QProcess::Running)
                break;
            ::kill(pid_t(p.processId()), SIGKILL);
            QVERIFY(p.waitForFinished(10000));
            QCOMPARE(p.exitStatus(), QProcess::CrashExit);
            ++kills;
            const auto snapshot = results(db);
            // Results committed before a kill must survive it unchanged.
            for (const auto &[id, created] : finishedBeforeKills)
                QCOMPARE(snapshot.at(id), created);
            finishedBeforeKills = snapshot;
        }
        QVERIFY2(kills >= 2, "the runs finished before they could be killed twice: make the study bigger");

        const Run final = runCli(runArgs);
        QVERIFY2(final.exitCode == 3, qPrintable(final.err));
        int rows = 0;
        const auto after = results(db, &rows);
        QCOMPARE(rows, m_good);                 // exactly once: no duplicate result rows
        QCOMPARE(after.size(), size_t(m_good));  // every good image has its result
        for (const auto &[id, created] : finishedBeforeKills)
            QCOMPARE(after.at(id), created);     // finished before a kill: not recomputed
        auto counts = stateCounts(db);
        QCOMPARE(counts[2], qint64(m_good));
        QCOMPARE(counts[3], qint64(1));
        QCOMPARE(counts[0] + counts[1], qint64(0));

        // Export parsed back equals the database: one row per done image.
        const QString csv = m_dir.filePath(QStringLiteral("killed.csv"));
        QCOMPARE(runCli({QStringLiteral("study"), QStringLiteral("export"), db, QStringLiteral("--format"), QStringLiteral("wide"),
                         QStringLiteral("--out"), csv}).exitCode, 0);
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), m_good + 1);
        for (int i = 1; i < lines.size(); ++i) {
            const QList<QByteArray> cells = lines[i].trimmed().split(',');
            QCOMPARE(cells.size(), 3 + 20);
            double sum = 0;
            for (int k = 3; k < cells.size(); ++k)
                sum += cells[k].toDouble();
            QVERIFY2(std::abs(sum - 1.0) < 3e-5, lines[i].constData());
        }
    }

    void changedSettingsNeedANewRun()
    {
        const QString db = m_dir.filePath(QStringLiteral("once.db"));
        const Run refused = runCli({QStringLiteral("study"), QStringLiteral("run"), db, QStringLiteral("--scales"), QStringLiteral("0.5,1")});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(QStringLiteral("new run")), qPrintable(refused.err));
        const auto before = results(db);
        QVERIFY(!before.empty());
    }
};

QTEST_GUILESS_MAIN(StudyRunTest)
#include "tst_studyrun.moc"
