// ErrorsModel and ResultsModel over a real embedded coordinator (StudyConnection) and a
// real SQLite study written with JobStore directly — no model, no agent: 450 fake images,
// 430 results with known class fractions, 10 corrupt and 10 unsupported failures. Checks
// keyset paging (200 rows a page, more only on fetchMore), the composition columns, the
// category filter, and that "retry" puts exactly one category back to pending.

#include "jobs/jobstore.h"
#include "ui/errorsmodel.h"
#include "ui/mainwindow.h"
#include "ui/resultsmodel.h"
#include "ui/studyconnection.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QJsonArray>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace SegScale;
using SegScale::Ui::ErrorsModel;
using SegScale::Ui::ResultsModel;
using SegScale::Ui::StudyConnection;

namespace {

constexpr int kImages = 450;
constexpr int kResults = 430;  // images 1..430 are done; 431..440 corrupt, 441..450 unsupported

// What image number i (0-based) was given: fractions of road, sky, tree summing to 1.
std::vector<float> composition(int i)
{
    const float road = static_cast<float>(i % 10) / 10.0f;
    const float sky = static_cast<float>(i % 4) / 8.0f;
    return {road, sky, 1.0f - road - sky};
}

} // namespace

class TestErrorsResultsModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void resultsArePagedOnDemand();
    void resultsUnderModelTester();
    void errorsFilterAndRetry();
    void windowRetryAllReloadsAndCounts();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    QString m_db;
    StudyConnection *m_connection = nullptr;
    QStringList m_classes;
};

void TestErrorsResultsModels::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    m_db = m_dir.filePath(QStringLiteral("study.db"));
    {
        auto opened = Jobs::JobStore::open(m_db, Jobs::JobStore::OpenMode::CreateIfMissing);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().toString()));
        Jobs::JobStore &store = **opened;
        Jobs::StudySettings settings;
        settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("fake-3")},
                                         {QStringLiteral("classes"), QJsonArray{QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree")}}};
        settings.modelFingerprint = QByteArray(64, 'a');
        QVERIFY(store.beginRun(settings, false).ok());
        auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        QVERIFY(storage.ok());
        auto ds = store.addDataset(*storage, QStringLiteral("/data/photos"), {QStringLiteral("*.jpg")}, {});
        QVERIFY(ds.ok());
        QList<Jobs::ImageEntry> entries;
        for (int i = 0; i < kImages; ++i)
            entries.append(Jobs::ImageEntry{QStringLiteral("street-%1.jpg").arg(i + 1, 4, 10, QLatin1Char('0')), 1000});
        auto added = store.addImages(*ds, entries);
        QVERIFY(added.ok());
        QCOMPARE(added->added, kImages);
        auto leased = store.lease(QStringLiteral("node-a-cpu-1"), kImages, 600);
        QVERIFY(leased.ok());
        QCOMPARE(leased->size(), kImages);
        QList<Jobs::Completion> done;
        QList<Jobs::Failure> failed;
        for (const auto &l : *leased) {
            const int i = static_cast<int>(l.imageId) - 1;
            if (i < kResults) {
                Jobs::ImageResult r;
                r.width = 640 + i;
                r.height = 480;
                r.composition = composition(i);
                done.append(Jobs::Completion{l.imageId, l.leaseId, r});
            } else {
                const bool corrupt = i < kResults + 10;
                failed.append(Jobs::Failure{l.imageId, l.leaseId,
                                            Error{corrupt ? ErrorCategory::Corrupt : ErrorCategory::Unsupported,
                                                  corrupt ? QStringLiteral("truncated JPEG: %1").arg(l.path)
                                                          : l.location() + QStringLiteral(": not an image: the content is text")}});
            }
        }
        QVERIFY(store.completeMany(done).ok());
        QVERIFY(store.failMany(failed).ok());
        QCOMPARE(*store.imageCount(Jobs::ImageState::Done), kResults);
        QCOMPARE(*store.imageCount(Jobs::ImageState::Failed), kImages - kResults);
    }

    m_connection = new StudyConnection(this);
    QSignalSpy connected(m_connection, &StudyConnection::connected);
    QSignalSpy summary(m_connection, &StudyConnection::summaryUpdated);
    QSignalSpy failed(m_connection, &StudyConnection::failed);
    m_connection->openEmbedded(m_db);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(!summary.isEmpty(), 10000);
    QCOMPARE(connected.size(), 1);
    for (const auto &c : summary.first().first().toJsonObject().value(QStringLiteral("classes")).toArray())
        m_classes << c.toString();
    QCOMPARE(m_classes, (QStringList{QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree")}));
}

void TestErrorsResultsModels::resultsArePagedOnDemand()
{
    // No QAbstractItemModelTester here: it calls fetchMore after every insert, like an
    // eager view (resultsUnderModelTester), and this case checks that nothing else does.
    ResultsModel model(m_connection);
    model.setClasses(m_classes);
    QCOMPARE(model.columnCount(), ResultsModel::FirstClass + 3);
    QCOMPARE(model.headerData(ResultsModel::FirstClass + 1, Qt::Horizontal).toString(), QStringLiteral("sky %"));
    QVERIFY(!model.canFetchMore({}));  // nothing asked for yet

    QSignalSpy pages(&model, &ResultsModel::pageLoaded);
    model.reload();
    QTRY_COMPARE(pages.size(), 1);
    QCOMPARE(model.rowCount(), 200);
    QTest::qWait(200);  // and nothing more comes unless asked for
    QCOMPARE(model.rowCount(), 200);
    QVERIFY(model.canFetchMore({}));

    model.fetchMore({});
    model.fetchMore({});  // a second call while the page is on its way asks for nothing
    QTRY_COMPARE(pages.size(), 2);
    QCOMPARE(model.rowCount(), 400);
    QVERIFY(model.canFetchMore({}));
    model.fetchMore({});
    QTRY_COMPARE(pages.size(), 3);
    QCOMPARE(model.rowCount(), kResults);
    QVERIFY(!model.canFetchMore({}));

    // The composition columns show what was written: percentages, raw fractions in UserRole.
    for (int row : {0, 7, 215, 429}) {
        QCOMPARE(model.index(row, ResultsModel::Image).data().toString(),
                 QStringLiteral("/data/photos/street-%1.jpg").arg(row + 1, 4, 10, QLatin1Char('0')));
        QCOMPARE(model.index(row, ResultsModel::Width).data().toInt(), 640 + row);
        QCOMPARE(model.index(row, ResultsModel::Height).data().toInt(), 480);
        const std::vector<float> expected = composition(row);
        for (int k = 0; k < 3; ++k) {
            const QModelIndex cell = model.index(row, ResultsModel::FirstClass + k);
            QVERIFY(qAbs(cell.data(Qt::UserRole).toDouble() - expected[static_cast<size_t>(k)]) < 1e-6);
            QCOMPARE(cell.data().toString(), QLocale().toString(expected[static_cast<size_t>(k)] * 100.0, 'f', 1));
        }
    }
    QCOMPARE(model.index(7, ResultsModel::FirstClass).data().toString(), QLocale().toString(70.0, 'f', 1));

    // A "changed" push while the user is past the first page does not reload it.
    model.refreshTop();
    QVERIFY(!model.isLoading());
    QCOMPARE(model.rowCount(), kResults);
}

void TestErrorsResultsModels::resultsUnderModelTester()
{
    ResultsModel model(m_connection);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy pages(&model, &ResultsModel::pageLoaded);
    model.reload();
    // The tester fetches more after each insert: every page comes, then it stops.
    QTRY_COMPARE(model.rowCount(), kResults);
    QCOMPARE(pages.size(), 3);
    QVERIFY(!model.canFetchMore({}));
    QCOMPARE(model.columnCount(), int(ResultsModel::FirstClass));
    model.setClasses(m_classes);  // columns change: a reset the tester checks
    QCOMPARE(model.columnCount(), ResultsModel::FirstClass + 3);
    QVERIFY(qAbs(model.index(429, ResultsModel::FirstClass + 2).data(Qt::UserRole).toDouble() - composition(429)[2]) < 1e-6);
    // Starts over: the rows stay until the first page replaces them (a reset), then the
    // tester fetches on.
    model.reload();
    QCOMPARE(model.rowCount(), kResults);
    QTRY_COMPARE(pages.size(), 6);
    QCOMPARE(model.rowCount(), kResults);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void TestErrorsResultsModels::errorsFilterAndRetry()
{
    ErrorsModel model(m_connection);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(ErrorsModel::categories(),
             (QStringList{QStringLiteral("missing"), QStringLiteral("unreadable"), QStringLiteral("corrupt"), QStringLiteral("too-large"),
                          QStringLiteral("unsupported"), QStringLiteral("storage"), QStringLiteral("model"), QStringLiteral("internal")}));
    QSignalSpy pages(&model, &ErrorsModel::pageLoaded);
    model.reload();
    QTRY_COMPARE(pages.size(), 1);
    QCOMPARE(model.rowCount(), kImages - kResults);
    QVERIFY(!model.canFetchMore({}));
    QCOMPARE(model.index(0, ErrorsModel::Image).data().toString(), QStringLiteral("/data/photos/street-0431.jpg"));
    QCOMPARE(model.index(0, ErrorsModel::Category).data().toString(), QStringLiteral("corrupt"));
    QCOMPARE(model.index(0, ErrorsModel::Message).data().toString(), QStringLiteral("truncated JPEG: street-0431.jpg"));
    QCOMPARE(model.index(0, ErrorsModel::Message).data(Qt::ToolTipRole).toString(), QStringLiteral("truncated JPEG: street-0431.jpg"));
    QCOMPARE(model.index(0, ErrorsModel::Worker).data().toString(), QStringLiteral("node-a-cpu-1"));
    QVERIFY(!model.index(0, ErrorsModel::When).data().toString().isEmpty());
    QCOMPARE(model.index(19, ErrorsModel::Category).data().toString(), QStringLiteral("unsupported"));
    // The file a message starts with is in the Image column already; the tooltip has all.
    QCOMPARE(model.index(19, ErrorsModel::Message).data().toString(), QStringLiteral("not an image: the content is text"));
    QCOMPARE(model.index(19, ErrorsModel::Message).data(Qt::ToolTipRole).toString(),
             QStringLiteral("/data/photos/street-0450.jpg: not an image: the content is text"));

    model.setCategory(QStringLiteral("unsupported"));
    QTRY_COMPARE(pages.size(), 2);
    QCOMPARE(model.rowCount(), 10);
    for (int r = 0; r < model.rowCount(); ++r)
        QCOMPARE(model.index(r, ErrorsModel::Category).data().toString(), QStringLiteral("unsupported"));

    model.setCategory(QStringLiteral("corrupt"));
    QTRY_COMPARE(pages.size(), 3);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(model.index(9, ErrorsModel::Image).data().toString(), QStringLiteral("/data/photos/street-0440.jpg"));

    // Retry the corrupt ones: the reply counts them, the model reloads to none left.
    qint64 retried = -1;
    m_connection->retry(QStringLiteral("corrupt"), this, [&](qint64 count) {
        retried = count;
        model.reload();
    });
    QTRY_COMPARE(retried, 10);
    QTRY_COMPARE(pages.size(), 4);
    QCOMPARE(model.rowCount(), 0);
    model.setCategory({});
    QTRY_COMPARE(pages.size(), 5);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(model.index(0, ErrorsModel::Category).data().toString(), QStringLiteral("unsupported"));

    // Exactly the corrupt images are pending again; the unsupported ones stay failed.
    m_connection->close();
    auto store = Jobs::JobStore::open(m_db);
    QVERIFY(store.ok());
    QCOMPARE(*(*store)->imageCount(Jobs::ImageState::Pending), 10);
    QCOMPARE(*(*store)->imageCount(Jobs::ImageState::Failed), 10);
    QCOMPARE(*(*store)->imageCount(Jobs::ImageState::Done), kResults);
    auto leased = (*store)->lease(QStringLiteral("check"), 100, 60);
    QVERIFY(leased.ok());
    QCOMPARE(leased->size(), 10);
    for (const auto &l : *leased)
        QVERIFY2(l.imageId >= 431 && l.imageId <= 440, qPrintable(l.path));
    auto unsupported = (*store)->failedImages(ErrorCategory::Unsupported);
    QVERIFY(unsupported.ok());
    QCOMPARE(unsupported->size(), 10);
}

// The window's Errors tab over the same study (10 unsupported failures left): the
// category box lists the closed set, and "Retry all failed" reports its count and reloads.
void TestErrorsResultsModels::windowRetryAllReloadsAndCounts()
{
    Ui::MainWindow window;
    window.show();
    window.openStudy(m_db);
    QTRY_VERIFY2(window.connection()->isConnected(), qPrintable(window.lastFailure()));
    window.tabs()->setCurrentIndex(2);
    QCOMPARE(window.categoryBox()->count(), 1 + ErrorsModel::categories().size());
    QTRY_COMPARE(window.errorsModel()->rowCount(), 10);
    QTRY_COMPARE(window.resultsModel()->columnCount(), ResultsModel::FirstClass + 3);
    QTRY_COMPARE(window.resultsModel()->rowCount(), 200);  // one page until the view scrolls
    window.retryAll();
    QTRY_COMPARE(window.statusBar()->currentMessage(), QStringLiteral("10 failed image(s) back to pending"));
    QTRY_COMPARE(window.errorsModel()->rowCount(), 0);
    QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
    window.close();
}

void TestErrorsResultsModels::cleanupTestCase()
{
    if (m_connection)
        m_connection->close();
}

QTEST_MAIN(TestErrorsResultsModels)
#include "tst_errorsresultsmodels.moc"
