// The Results view over a real embedded coordinator (StudyConnection) and a real SQLite
// study written with JobStore: 2 datasets of real PNG photos on disk, results with known
// shares, label maps painted by the test in the coordinator's outputs folder. Checks, each
// against a brute-force pass over the same data: sorting by a class (both ways, paged with
// fetchMore), "class > x%" filters and a dataset filter, per-dataset means; the app's CSV
// export (several pages through the admin API) against `segscale study export` byte for
// byte, wide and long; the image viewer (the class painted at a point, hiding a class,
// a missing label map said in words); and that bad requests get a readable error reply.

#include "cluster/defaultoutputs.h"
#include "jobs/jobstore.h"
#include "ui/compositionchart.h"
#include "ui/imageview.h"
#include "ui/imageviewer.h"
#include "ui/resultsexport.h"
#include "ui/resultsmodel.h"
#include "ui/resultspage.h"
#include "ui/studyconnection.h"

#include <QAbstractItemModelTester>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <algorithm>
#include <map>

using namespace SegScale;
using SegScale::Ui::ImageViewer;
using SegScale::Ui::ResultsModel;
using SegScale::Ui::ResultsPage;
using SegScale::Ui::StudyConnection;

namespace {

const QStringList kClasses{QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree")};
constexpr int kPerDataset = 130;  // 2 datasets: 260 results, more than one 200-row page

std::vector<float> sharesOf(int i)
{
    const float sky = float((i * 7) % 11) * 0.05f;
    const float road = float((i * 3) % 7) * 0.05f;
    return {road, sky, 1.0f - road - sky};
}

struct Done {
    qint64 dataset = 0;
    std::vector<float> shares;
};

} // namespace

class TestResultsPage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sortByClassPaged();
    void filterByShareAndDataset();
    void badRequestsAreRefused();
    void datasetMeans();
    void exportMatchesCli();
    void viewerShowsPaintedClasses();
    void viewerSaysWhatIsMissing();
    void cleanupTestCase();

private:
    QList<qint64> expected(int sortClass, bool descending, const QList<std::tuple<int, bool, double>> &conditions,
                           std::optional<qint64> dataset) const;
    QList<qint64> loadAll(ResultsModel &model);
    QJsonObject ask(const QJsonObject &request, QString *error);

    QTemporaryDir m_dir;
    QString m_db;
    StudyConnection *m_connection = nullptr;
    std::map<qint64, Done> m_done;
    qint64 m_datasets[2] = {0, 0};
    qint64 m_painted = 0;    // image whose label map the test painted
    qint64 m_noLabel = 0;    // image with a result but no label file on disk
};

void TestResultsPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    m_db = m_dir.filePath(QStringLiteral("study.db"));
    const QString outputs = Cluster::defaultOutputs(m_db);
    auto opened = Jobs::JobStore::open(m_db, Jobs::JobStore::OpenMode::CreateIfMissing);
    QVERIFY(opened.ok());
    Jobs::JobStore &store = **opened;
    Jobs::StudySettings settings;
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("fake-3")},
                                     {QStringLiteral("classes"), QJsonArray::fromStringList(kClasses)},
                                     {QStringLiteral("palette"), QJsonArray{QJsonArray{128, 64, 128}, QJsonArray{70, 130, 180},
                                                                            QJsonArray{107, 142, 35}}}};
    settings.modelFingerprint = QByteArray(64, 'a');
    QVERIFY(store.beginRun(settings, false).ok());
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    QVERIFY(storage.ok());
    for (int d = 0; d < 2; ++d) {
        const QString root = m_dir.filePath(QStringLiteral("photos-%1").arg(d));
        QVERIFY(QDir().mkpath(root));
        m_datasets[d] = *store.addDataset(*storage, root, {}, {});
        QList<Jobs::ImageEntry> entries;
        for (int i = 0; i < kPerDataset; ++i)
            entries.append({QStringLiteral("street-%1.png").arg(i, 4, 10, QLatin1Char('0')), 100});
        QVERIFY(store.addImages(m_datasets[d], entries).ok());
    }
    auto leased = store.lease(QStringLiteral("agent-1"), 2 * kPerDataset, 600);
    QVERIFY(leased.ok());
    QCOMPARE(leased->size(), 2 * kPerDataset);
    QList<Jobs::Completion> batch;
    int i = 0;
    for (const auto &l : *leased) {
        Jobs::ImageResult r;
        r.width = 40;
        r.height = 30;
        r.composition = sharesOf(i++);
        r.labelPath = QStringLiteral("labels/%1/%2").arg(l.datasetId).arg(l.path);
        m_done[l.imageId] = {l.datasetId, r.composition};
        batch.append({l.imageId, l.leaseId, r});
        if (!m_painted) {
            // The photo (a grey gradient) and its label map: road on the left half, sky
            // top right, tree bottom right.
            m_painted = l.imageId;
            QImage photo(40, 30, QImage::Format_RGB32);
            for (int y = 0; y < 30; ++y)
                for (int x = 0; x < 40; ++x)
                    photo.setPixel(x, y, qRgb(x * 6, y * 8, 100));
            QVERIFY(photo.save(l.location(), "PNG"));
            QImage labels(40, 30, QImage::Format_Grayscale8);
            for (int y = 0; y < 30; ++y)
                for (int x = 0; x < 40; ++x)
                    labels.scanLine(y)[x] = x < 20 ? 0 : (y < 15 ? 1 : 2);
            const QString labelFile = outputs + QLatin1Char('/') + r.labelPath;
            QVERIFY(QDir().mkpath(QFileInfo(labelFile).absolutePath()));
            QVERIFY(labels.save(labelFile, "PNG"));
        } else if (!m_noLabel) {
            m_noLabel = l.imageId;  // neither photo nor label on disk
        }
    }
    QVERIFY(store.completeMany(batch).ok());
    opened->reset();

    m_connection = new StudyConnection(this);
    QSignalSpy summary(m_connection, &StudyConnection::summaryUpdated);
    QSignalSpy failed(m_connection, &StudyConnection::failed);
    m_connection->openEmbedded(m_db);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(!summary.isEmpty(), 10000);
}

QList<qint64> TestResultsPage::expected(int sortClass, bool descending, const QList<std::tuple<int, bool, double>> &conditions,
                                        std::optional<qint64> dataset) const
{
    QList<std::pair<double, qint64>> rows;
    for (const auto &[image, d] : m_done) {
        if (dataset && d.dataset != *dataset)
            continue;
        bool keep = true;
        for (const auto &[cls, greater, fraction] : conditions)
            keep = keep && (greater ? d.shares[size_t(cls)] > fraction : d.shares[size_t(cls)] < fraction);
        if (keep)
            rows.append({sortClass >= 0 ? double(d.shares[size_t(sortClass)]) : 0.0, image});
    }
    std::sort(rows.begin(), rows.end());
    if (descending)
        std::reverse(rows.begin(), rows.end());
    QList<qint64> ids;
    for (const auto &r : rows)
        ids << r.second;
    return ids;
}

QList<qint64> TestResultsPage::loadAll(ResultsModel &model)
{
    QSignalSpy pages(&model, &ResultsModel::pageLoaded);
    if (!pages.wait(10000))
        return {-1};
    while (model.canFetchMore({})) {
        model.fetchMore({});
        if (!pages.wait(10000))
            return {-2};
    }
    QList<qint64> ids;
    for (int r = 0; r < model.rowCount(); ++r)
        ids << model.index(r, ResultsModel::Image).data(Qt::UserRole).toLongLong();
    return ids;
}

QJsonObject TestResultsPage::ask(const QJsonObject &request, QString *error)
{
    QJsonObject reply;
    bool answered = false;
    m_connection->query(request, this, [&](const QJsonObject &r, const QString &e) {
        reply = r;
        *error = e;
        answered = true;
    });
    if (!QTest::qWaitFor([&] { return answered; }, 10000))
        *error = QStringLiteral("no answer");
    return reply;
}

void TestResultsPage::sortByClassPaged()
{
    ResultsModel model(m_connection);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setClasses(kClasses);
    model.sort(ResultsModel::FirstClass + 1, Qt::DescendingOrder);
    QCOMPARE(model.sortClass(), 1);
    const auto skyDesc = loadAll(model);
    QCOMPARE(skyDesc.size(), qsizetype(m_done.size()));
    QCOMPARE(skyDesc, expected(1, true, {}, {}));
    // The column shows the share it was sorted by.
    QCOMPARE(model.index(0, ResultsModel::FirstClass + 1).data(Qt::UserRole).toDouble(), double(m_done.at(skyDesc[0]).shares[1]));
    model.setSort(0, Qt::AscendingOrder);
    QCOMPARE(loadAll(model), expected(0, false, {}, {}));
    model.sort(ResultsModel::Image, Qt::DescendingOrder);
    QCOMPARE(loadAll(model), expected(-1, true, {}, {}));
}

void TestResultsPage::filterByShareAndDataset()
{
    ResultsModel model(m_connection);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ResultsPage page(m_connection, &model, new QTableView);  // the page owns the view
    model.setClasses(kClasses);
    QSignalSpy composition(&page, &ResultsPage::compositionLoaded);
    page.refreshComposition();
    QVERIFY(composition.wait(10000));  // fills the dataset box

    page.addCondition(QStringLiteral("sky"), true, 30.0);
    auto want = expected(-1, false, {{1, true, 0.3}}, {});
    QVERIFY(want.size() > 20 && want.size() < qsizetype(m_done.size()));
    QCOMPARE(loadAll(model), want);
    page.addCondition(QStringLiteral("road"), false, 10.0);
    QCOMPARE(model.conditions().size(), 2);
    want = expected(-1, false, {{1, true, 0.3}, {0, false, 0.1}}, {});
    QVERIFY(!want.isEmpty());
    QCOMPARE(loadAll(model), want);
    page.setDataset(m_datasets[1]);
    want = expected(-1, false, {{1, true, 0.3}, {0, false, 0.1}}, m_datasets[1]);
    QVERIFY(!want.isEmpty());
    QCOMPARE(loadAll(model), want);
    // Sorted by tree, largest first, within the filter.
    model.sort(ResultsModel::FirstClass + 2, Qt::DescendingOrder);
    QCOMPARE(loadAll(model), expected(2, true, {{1, true, 0.3}, {0, false, 0.1}}, m_datasets[1]));
    page.clearConditions();
    page.setDataset(std::nullopt);
    QCOMPARE(loadAll(model).size(), qsizetype(m_done.size()));
}

void TestResultsPage::badRequestsAreRefused()
{
    QString error;
    ask({{QStringLiteral("type"), QStringLiteral("results")}, {QStringLiteral("sort"), QStringLiteral("grass")}}, &error);
    QVERIFY2(error.contains(QStringLiteral("unknown class \"grass\"")) && error.contains(QStringLiteral("road, sky, tree")), qPrintable(error));
    ask({{QStringLiteral("type"), QStringLiteral("results")}, {QStringLiteral("where"), QJsonArray{QStringLiteral("sky > 250%")}}}, &error);
    QVERIFY2(error.contains(QStringLiteral("threshold")), qPrintable(error));
    ask({{QStringLiteral("type"), QStringLiteral("results")}, {QStringLiteral("where"), QJsonArray{QStringLiteral("sky is big")}}}, &error);
    QVERIFY2(error.contains(QStringLiteral("not a condition")), qPrintable(error));
    ask({{QStringLiteral("type"), QStringLiteral("results")}, {QStringLiteral("order"), QStringLiteral("up")}}, &error);
    QVERIFY2(error.contains(QStringLiteral("\"order\"")), qPrintable(error));
    ask({{QStringLiteral("type"), QStringLiteral("export")}, {QStringLiteral("format"), QStringLiteral("medium")}}, &error);
    QVERIFY2(error.contains(QStringLiteral("\"wide\" or \"long\"")), qPrintable(error));
    ask({{QStringLiteral("type"), QStringLiteral("image")}, {QStringLiteral("image"), 999999}, {QStringLiteral("part"), QStringLiteral("photo")}},
        &error);
    QVERIFY2(error.contains(QStringLiteral("no image 999999")), qPrintable(error));
    // A filter the coordinator refuses reaches the user through failed(), and the model ends empty.
    ResultsModel model(m_connection);
    model.setClasses(kClasses);
    QSignalSpy failed(m_connection, &StudyConnection::failed);
    model.setFilter({QStringLiteral("grass > 10%")}, std::nullopt);
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 10000);
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("unknown class")));
    QCOMPARE(model.rowCount(), 0);
}

void TestResultsPage::datasetMeans()
{
    ResultsModel model(m_connection);
    ResultsPage page(m_connection, &model, new QTableView);  // the page owns the view
    QSignalSpy loaded(&page, &ResultsPage::compositionLoaded);
    page.refreshComposition();
    QVERIFY(loaded.wait(10000));
    const QJsonObject c = page.composition();
    QCOMPARE(c.value(QStringLiteral("classes")).toArray().size(), 3);
    QCOMPARE(page.palette().value(1), QColor(70, 130, 180));
    const QJsonArray datasets = c.value(QStringLiteral("datasets")).toArray();
    QCOMPARE(datasets.size(), 2);
    QCOMPARE(page.chart()->datasetCount(), 2);
    for (const auto &v : datasets) {
        const QJsonObject d = v.toObject();
        const qint64 id = static_cast<qint64>(d.value(QStringLiteral("dataset")).toDouble());
        double sums[3] = {0, 0, 0};
        int n = 0;
        for (const auto &[image, done] : m_done) {
            if (done.dataset != id)
                continue;
            ++n;
            for (int k = 0; k < 3; ++k)
                sums[k] += done.shares[size_t(k)];
        }
        QCOMPARE(d.value(QStringLiteral("results")).toInt(), n);
        const QJsonArray means = d.value(QStringLiteral("means")).toArray();
        for (int k = 0; k < 3; ++k)
            QVERIFY2(std::abs(means[k].toDouble() - sums[k] / n) < 1e-9, qPrintable(QString::number(k)));
    }
}

void TestResultsPage::exportMatchesCli()
{
    const QString cli = qEnvironmentVariable("SEGSCALE_CLI");
    if (cli.isEmpty() || !QFileInfo(cli).isExecutable())
        QSKIP("SEGSCALE_CLI does not name the segscale executable (ctest sets it)");
    ResultsModel model(m_connection);
    ResultsPage page(m_connection, &model, new QTableView);  // the page owns the view
    page.exporter()->setPageRows(37);  // several pages through the admin API
    for (const QString &format : {QStringLiteral("wide"), QStringLiteral("long")}) {
        const QString mine = m_dir.filePath(QStringLiteral("app-%1.csv").arg(format));
        const QString theirs = m_dir.filePath(QStringLiteral("cli-%1.csv").arg(format));
        QSignalSpy finished(&page, &ResultsPage::exportFinished);
        QSignalSpy failed(&page, &ResultsPage::exportFailed);
        page.exportCsv(format, mine);
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 20000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        QCOMPARE(finished.first().at(1).toLongLong(), qint64(m_done.size()));
        QProcess p;
        p.start(cli, {QStringLiteral("study"), QStringLiteral("export"), m_db, QStringLiteral("--format"), format, QStringLiteral("--out"), theirs});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QFile a(mine), b(theirs);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        const QByteArray appBytes = a.readAll();
        QVERIFY(appBytes.size() > 1000);
        QCOMPARE(appBytes, b.readAll());
    }
    // A file that cannot be written is said, and nothing is left behind.
    QSignalSpy failed(&page, &ResultsPage::exportFailed);
    page.exportCsv(QStringLiteral("wide"), m_dir.filePath(QStringLiteral("no/such/dir/x.csv")));
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 5000);
    QVERIFY(failed.first().first().toString().contains(QStringLiteral("x.csv")));
}

void TestResultsPage::viewerShowsPaintedClasses()
{
    ResultsModel model(m_connection);
    ResultsPage page(m_connection, &model, new QTableView);  // the page owns the view
    model.setClasses(kClasses);
    QSignalSpy composition(&page, &ResultsPage::compositionLoaded);
    page.refreshComposition();
    QVERIFY(composition.wait(10000));
    QSignalSpy pages(&model, &ResultsModel::pageLoaded);
    model.reload();
    QVERIFY(pages.wait(10000));
    QCOMPARE(model.index(0, ResultsModel::Image).data(Qt::UserRole).toLongLong(), m_painted);
    ImageViewer *viewer = page.openViewer(0);
    QVERIFY(viewer);
    QSignalSpy loaded(viewer, &ImageViewer::loaded);
    QTRY_VERIFY_WITH_TIMEOUT(viewer->isLoaded(), 10000);
    QVERIFY2(viewer->problem().isEmpty(), qPrintable(viewer->problem()));
    QVERIFY(viewer->hasPhoto());
    QVERIFY(viewer->hasLabels());
    QCOMPARE(viewer->classAt(QPointF(5, 5)), QStringLiteral("road"));
    QCOMPARE(viewer->classAt(QPointF(30, 4)), QStringLiteral("sky"));
    QCOMPARE(viewer->classAt(QPointF(39.5, 29.5)), QStringLiteral("tree"));
    QCOMPARE(viewer->classAt(QPointF(40, 10)), QString());  // outside
    QCOMPARE(viewer->overlayColorAt(QPointF(30, 4)), QColor(70, 130, 180));
    // The legend lists the image's classes with their shares; unticking hides one.
    QCOMPARE(viewer->legend()->topLevelItemCount(), int(std::count_if(m_done.at(m_painted).shares.begin(),
                                                                      m_done.at(m_painted).shares.end(), [](float v) { return v > 0; })));
    viewer->setClassVisible(1, false);
    QCOMPARE(viewer->overlayColorAt(QPointF(30, 4)).alpha(), 0);
    QCOMPARE(viewer->overlayColorAt(QPointF(5, 5)), QColor(128, 64, 128));
    QCOMPARE(viewer->classAt(QPointF(30, 4)), QStringLiteral("sky"));  // hidden, still named
    viewer->setClassVisible(1, true);
    viewer->setOverlayOpacity(80);
    QCOMPARE(viewer->overlayOpacity(), 80);
    // The mouse over the view names the class in the status line.
    viewer->show();
    QVERIFY(QTest::qWaitForWindowExposed(viewer));
    viewer->view()->fit();
    const QPoint over = viewer->view()->mapFromScene(QPointF(30, 4));
    QTest::mouseMove(viewer->view()->viewport(), over);
    QTRY_VERIFY(viewer->statusText().contains(QStringLiteral("sky")));
    // Zoom keeps the point under the mouse where it was.
    const double before = viewer->view()->zoom();
    viewer->view()->zoomIn();
    QVERIFY(viewer->view()->zoom() > before);
    // PageDown: the next row of the table.
    QTest::keyClick(viewer->view(), Qt::Key_PageDown);
    QTRY_COMPARE(viewer->imageId(), model.index(1, ResultsModel::Image).data(Qt::UserRole).toLongLong());
    QTRY_VERIFY_WITH_TIMEOUT(viewer->isLoaded(), 10000);
    QTest::keyClick(viewer->view(), Qt::Key_PageUp);
    QTRY_COMPARE(viewer->imageId(), m_painted);
    viewer->close();
}

void TestResultsPage::viewerSaysWhatIsMissing()
{
    ResultsModel model(m_connection);
    ResultsPage page(m_connection, &model, new QTableView);  // the page owns the view
    model.setClasses(kClasses);
    QSignalSpy pages(&model, &ResultsModel::pageLoaded);
    model.reload();
    QVERIFY(pages.wait(10000));
    QCOMPARE(model.index(1, ResultsModel::Image).data(Qt::UserRole).toLongLong(), m_noLabel);
    ImageViewer *viewer = page.openViewer(1);
    QVERIFY(viewer);
    QTRY_VERIFY_WITH_TIMEOUT(viewer->isLoaded(), 10000);
    QVERIFY(!viewer->hasPhoto());
    QVERIFY(!viewer->hasLabels());
    const QString problem = viewer->problem();
    QVERIFY2(problem.contains(QStringLiteral("Photo:")) && problem.contains(QStringLiteral("street-0001.png")), qPrintable(problem));
    QVERIFY2(problem.contains(QStringLiteral("Labels:")), qPrintable(problem));
    QCOMPARE(viewer->classAt(QPointF(1, 1)), QString());
    viewer->close();
}

void TestResultsPage::cleanupTestCase()
{
    delete m_connection;
    m_connection = nullptr;
}

QTEST_MAIN(TestResultsPage)
#include "tst_resultspage.moc"
