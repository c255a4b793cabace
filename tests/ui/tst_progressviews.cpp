// The Progress tab's data against brute force on a real SQLite study written with
// JobStore (two datasets, images finished at known times, some failed, some leased):
// the coordinator's "datasets" and "throughput" replies through an embedded
// StudyConnection, DatasetProgressModel under QAbstractItemModelTester, the throughput
// chart's points, the "what if N more agents" arithmetic, and the live-lease count that
// the workers' "held" column now uses (an expired lease is not held).

#include "jobs/jobstore.h"
#include "jobs/studystatistics.h"
#include "ui/datasetprogressmodel.h"
#include "ui/mainwindow.h"
#include "ui/progresspanel.h"
#include "ui/studyconnection.h"
#include "ui/throughputchart.h"

#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QJsonArray>
#include <QMap>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace SegScale;
using SegScale::Ui::DatasetProgressModel;
using SegScale::Ui::StudyConnection;

namespace {

constexpr int kImagesA = 300;
constexpr int kImagesB = 200;

} // namespace

class TestProgressViews : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void datasetCountsMatchBruteForce();
    void throughputBucketsMatchBruteForce();
    void whatIfScalesThePerAgentRate();
    void expiredLeasesAreNotHeld();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    QString m_db;
    qint64 m_now = 0;
    StudyConnection *m_connection = nullptr;
};

void TestProgressViews::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    m_db = m_dir.filePath(QStringLiteral("study.db"));
    m_now = QDateTime::currentMSecsSinceEpoch();
    auto opened = Jobs::JobStore::open(m_db, Jobs::JobStore::OpenMode::CreateIfMissing);
    QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().toString()));
    Jobs::JobStore &store = **opened;
    Jobs::StudySettings settings;
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("fake-2")},
                                     {QStringLiteral("classes"), QJsonArray{QStringLiteral("road"), QStringLiteral("sky")}}};
    settings.modelFingerprint = QByteArray(64, 'b');
    QVERIFY(store.beginRun(settings, false).ok());
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    QVERIFY(storage.ok());
    QList<qint64> datasets;
    for (const auto &[root, n] : {std::pair{QStringLiteral("/data/city-a"), kImagesA}, std::pair{QStringLiteral("/data/city-b"), kImagesB}}) {
        auto ds = store.addDataset(*storage, root, {QStringLiteral("*.jpg")}, {});
        QVERIFY(ds.ok());
        datasets << *ds;
        QList<Jobs::ImageEntry> entries;
        for (int i = 0; i < n; ++i)
            entries.append(Jobs::ImageEntry{QStringLiteral("img-%1.jpg").arg(i), 1000});
        QVERIFY(store.addImages(*ds, entries).ok());
    }
    // Finish images in batches at known times over the last 100 minutes: batch k at
    // now - (100 - 7k) min, with 5 + 3k results and one failure.
    qint64 clock = m_now;
    store.setClock([&clock] { return clock; });
    for (int k = 0; k < 14; ++k) {
        clock = m_now - (100 - 7 * k) * 60'000 + 1234 * k;
        auto leased = store.lease(QStringLiteral("w"), 6 + 3 * k, 600);
        QVERIFY(leased.ok());
        QList<Jobs::Completion> done;
        QList<Jobs::Failure> failed;
        for (qsizetype i = 0; i < leased->size(); ++i) {
            const auto &l = leased->at(i);
            if (i == 0) {
                failed.append(Jobs::Failure{l.imageId, l.leaseId, Error{ErrorCategory::Corrupt, QStringLiteral("truncated")}});
            } else {
                Jobs::ImageResult r;
                r.width = 10;
                r.height = 10;
                r.composition = {0.5f, 0.5f};
                done.append(Jobs::Completion{l.imageId, l.leaseId, r});
            }
        }
        QVERIFY(store.completeMany(done).ok());
        QVERIFY(store.failMany(failed).ok());
    }
    // 40 images leased now (some in each dataset is not guaranteed; the counts say).
    clock = m_now;
    QVERIFY(store.lease(QStringLiteral("w2"), 40, 600).ok());
    store.setClock({});

    m_connection = new StudyConnection(this);
    QSignalSpy failed(m_connection, &StudyConnection::failed);
    m_connection->openEmbedded(m_db);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(m_connection->isConnected(), 10000);
}

void TestProgressViews::datasetCountsMatchBruteForce()
{
    // Brute force: every image read and counted here.
    QMap<qint64, std::array<qint64, 4>> expected;
    {
        auto store = Jobs::JobStore::open(m_db);
        QVERIFY(store.ok());
        QSqlQuery q((*store)->database());
        QVERIFY(q.exec(QStringLiteral("SELECT dataset_id, state FROM images")));
        while (q.next())
            ++expected[q.value(0).toLongLong()][static_cast<size_t>(q.value(1).toInt())];
    }
    QCOMPARE(expected.size(), 2);

    // Counted in id ranges (as the coordinator does, between other messages): the same.
    {
        auto store = Jobs::JobStore::open(m_db);
        QVERIFY(store.ok());
        Jobs::StudyStatistics stats(**store);
        auto counts = stats.datasets();
        QVERIFY(counts.ok());
        const qint64 last = *stats.maxImageId();
        QCOMPARE(last, qint64(kImagesA + kImagesB));
        for (qint64 from = 0; from <= last; from += 37)
            QVERIFY(stats.countRange(from, std::min(last, from + 36), *counts).ok());
        QCOMPARE(counts->size(), 2);
        for (const auto &c : *counts) {
            const auto &e = expected.value(c.datasetId);
            QCOMPARE((std::array<qint64, 4>{c.pending, c.leased, c.done, c.failed}), e);
        }
        auto whole = stats.datasetCounts();
        QVERIFY(whole.ok());
        QCOMPARE(whole->at(1).done, counts->at(1).done);
    }

    QSignalSpy datasets(m_connection, &StudyConnection::datasetsUpdated);
    m_connection->setThroughputWindow(180, 60);  // asks for both now
    QTRY_VERIFY_WITH_TIMEOUT(!datasets.isEmpty(), 10000);
    const QJsonArray reply = datasets.last().first().toJsonArray();
    QCOMPARE(reply.size(), 2);
    qint64 total = 0;
    for (const QJsonValue &v : reply) {
        const QJsonObject d = v.toObject();
        const auto &e = expected.value(static_cast<qint64>(d.value(QStringLiteral("id")).toDouble()));
        QCOMPARE(static_cast<qint64>(d.value(QStringLiteral("pending")).toDouble()), e[0]);
        QCOMPARE(static_cast<qint64>(d.value(QStringLiteral("leased")).toDouble()), e[1]);
        QCOMPARE(static_cast<qint64>(d.value(QStringLiteral("done")).toDouble()), e[2]);
        QCOMPARE(static_cast<qint64>(d.value(QStringLiteral("failed")).toDouble()), e[3]);
        QCOMPARE(static_cast<qint64>(d.value(QStringLiteral("total")).toDouble()), e[0] + e[1] + e[2] + e[3]);
        total += static_cast<qint64>(d.value(QStringLiteral("total")).toDouble());
    }
    QCOMPARE(total, qint64(kImagesA + kImagesB));
    QCOMPARE(reply.at(0).toObject().value(QStringLiteral("root")).toString(), QStringLiteral("/data/city-a"));

    // The model over that reply, checked by the tester, updated in place.
    DatasetProgressModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.update(reply);
    QCOMPARE(model.rowCount(), 2);
    const auto &a = expected.first();
    const double fraction = double(a[2] + a[3]) / double(kImagesA);
    QCOMPARE(model.index(0, DatasetProgressModel::Progress).data(DatasetProgressModel::FractionRole).toDouble(), fraction);
    QCOMPARE(model.index(0, DatasetProgressModel::Dataset).data().toString(), QStringLiteral("/data/city-a"));
    QCOMPARE(model.index(0, DatasetProgressModel::Done).data().toString(), QLocale().toString(a[2]));
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QJsonArray changed = reply;
    QJsonObject first = changed.at(0).toObject();
    first.insert(QStringLiteral("done"), first.value(QStringLiteral("done")).toDouble() + 1);
    changed.replace(0, first);
    model.update(changed);
    QCOMPARE(resets.size(), 0);
    QCOMPARE(changes.size(), 1);
    model.update({});
    QCOMPARE(model.rowCount(), 0);
}

void TestProgressViews::throughputBucketsMatchBruteForce()
{
    QMap<qint64, qint64> expected;  // minute bucket start -> finished
    const qint64 since = QDateTime::currentMSecsSinceEpoch() - 180 * 60'000;
    {
        auto store = Jobs::JobStore::open(m_db);
        QVERIFY(store.ok());
        QSqlQuery q((*store)->database());
        QVERIFY(q.exec(QStringLiteral("SELECT finished_at FROM images WHERE finished_at IS NOT NULL")));
        while (q.next()) {
            const qint64 t = q.value(0).toLongLong();
            if (t >= since)
                ++expected[t - t % 60'000];
        }
    }
    QCOMPARE(expected.size(), 14);

    QSignalSpy throughput(m_connection, &StudyConnection::throughputUpdated);
    m_connection->setThroughputWindow(180, 60);
    QTRY_VERIFY_WITH_TIMEOUT(!throughput.isEmpty(), 10000);
    const QJsonObject reply = throughput.last().first().toJsonObject();
    QCOMPARE(static_cast<qint64>(reply.value(QStringLiteral("bucket_ms")).toDouble()), qint64(60'000));
    QMap<qint64, qint64> got;
    for (const QJsonValue &b : reply.value(QStringLiteral("buckets")).toArray())
        got.insert(static_cast<qint64>(b.toArray().at(0).toDouble()), static_cast<qint64>(b.toArray().at(1).toDouble()));
    QCOMPARE(got, expected);

    // The chart: one point a minute from the first bucket to now, zeros between.
    Ui::ThroughputChart chart;
    chart.setThroughput(reply);
    const qint64 now = static_cast<qint64>(reply.value(QStringLiteral("now")).toDouble());
    QCOMPARE(chart.pointCount(), static_cast<int>((now - now % 60'000 - expected.firstKey()) / 60'000 + 1));
    QCOMPARE(chart.peak(), double(*std::max_element(expected.cbegin(), expected.cend())));

    // Coarser buckets over the same window hold at least the same images.
    QSignalSpy again(m_connection, &StudyConnection::throughputUpdated);
    m_connection->setThroughputWindow(180, 600);
    QTRY_VERIFY_WITH_TIMEOUT(!again.isEmpty(), 10000);
    qint64 sum = 0;
    for (const QJsonValue &b : again.last().first().toJsonObject().value(QStringLiteral("buckets")).toArray())
        sum += static_cast<qint64>(b.toArray().at(1).toDouble());
    qint64 expectedSum = 0;
    for (qint64 n : expected)
        expectedSum += n;
    QVERIFY(sum >= expectedSum);  // a 10-minute window may start a little before `since`
}

void TestProgressViews::whatIfScalesThePerAgentRate()
{
    Ui::ProgressPanel panel;
    panel.moreAgents()->setValue(2);
    QJsonObject s{{QStringLiteral("total"), 1000}, {QStringLiteral("pending"), 100}, {QStringLiteral("leased"), 20},
                  {QStringLiteral("done"), 880}, {QStringLiteral("failed"), 0}, {QStringLiteral("images_per_minute"), 12.0},
                  {QStringLiteral("eta_seconds"), 600}, {QStringLiteral("agents"), 2}};
    panel.setSummary(s);
    // 12/min from 2 agents = 6 per agent; 4 agents: 24/min; 120 left: 5 min.
    QCOMPARE(panel.whatIfText(), QStringLiteral("4 agents like the current ones: about 24.0 images/min, 5 min 0 s left"));
    panel.moreAgents()->setValue(0);
    QCOMPARE(panel.whatIfText(), QStringLiteral("2 agents like the current ones: about 12.0 images/min, 10 min 0 s left"));
    s.insert(QStringLiteral("agents"), 0);
    panel.setSummary(s);
    QVERIFY(panel.whatIfText().startsWith(QLatin1StringView("needs a measured rate")));
}

void TestProgressViews::expiredLeasesAreNotHeld()
{
    auto opened = Jobs::JobStore::open(m_dir.filePath(QStringLiteral("leases.db")), Jobs::JobStore::OpenMode::CreateIfMissing);
    QVERIFY(opened.ok());
    Jobs::JobStore &store = **opened;
    Jobs::StudySettings settings;
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("fake")}, {QStringLiteral("classes"), QJsonArray{QStringLiteral("a")}}};
    settings.modelFingerprint = QByteArray(64, 'c');
    QVERIFY(store.beginRun(settings, false).ok());
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    auto ds = store.addDataset(*storage, QStringLiteral("/x"), {}, {});
    QList<Jobs::ImageEntry> entries;
    for (int i = 0; i < 30; ++i)
        entries.append(Jobs::ImageEntry{QStringLiteral("%1.jpg").arg(i), 1});
    QVERIFY(store.addImages(*ds, entries).ok());
    qint64 clock = 1'000'000'000;
    store.setClock([&clock] { return clock; });
    QVERIFY(store.lease(QStringLiteral("old"), 10, 60).ok());
    Jobs::StudyStatistics stats(store);
    QCOMPARE(stats.liveLeasesByWorker(clock)->value(QStringLiteral("old")), qint64(10));
    clock += 61'000;  // expired, not yet swept: still "leased" in the table, held by nobody
    QVERIFY(store.lease(QStringLiteral("new"), 5, 60).ok());
    const auto live = stats.liveLeasesByWorker(clock);
    QVERIFY(live.ok());
    QCOMPARE(live->value(QStringLiteral("old")), qint64(0));
    QCOMPARE(live->value(QStringLiteral("new")), qint64(5));
    QCOMPARE(*store.imageCount(Jobs::ImageState::Leased), qint64(15));
}

void TestProgressViews::cleanupTestCase()
{
    if (m_connection)
        m_connection->close();
}

QTEST_MAIN(TestProgressViews)
#include "tst_progressviews.moc"
