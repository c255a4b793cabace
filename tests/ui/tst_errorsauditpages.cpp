// ErrorsPage and AuditPage over a real embedded coordinator (StudyConnection) and a real
// SQLite study written with JobStore (tests/common/auditstudy.h: 200 images in two
// datasets, 40 failures from three workers an hour apart, 160 results with known shares).
// Error filters against a brute-force filter, the details pane, retry of selected rows,
// the errors export against `segscale study export --errors`, the audit sample modes,
// marks that survive reopening the study, the quality rate, and `study export --audit`.

#include "common/auditstudy.h"
#include "common/clirun.h"
#include "jobs/jobstore.h"
#include "ui/auditpage.h"
#include "ui/auditqualitymodel.h"
#include "ui/auditsamplemodel.h"
#include "ui/errorsexport.h"
#include "ui/errorsmodel.h"
#include "ui/errorspage.h"
#include "ui/mainwindow.h"
#include "ui/studyconnection.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QFile>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace SegScale;
using SegScale::Testing::AuditStudy;
using namespace SegScale::Ui;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<cannot read>");
}

QList<qint64> modelIds(const QAbstractItemModel &m)
{
    QList<qint64> out;
    for (int r = 0; r < m.rowCount(); ++r)
        out << m.index(r, 0).data(Qt::UserRole).toLongLong();
    return out;
}

// The road-share extremes among the finished images, ties by id (the brute force).
QList<qint64> bruteExtremes(const std::vector<qint64> &done, int k, bool highest)
{
    std::vector<qint64> sorted = done;
    std::sort(sorted.begin(), sorted.end(), [highest](qint64 a, qint64 b) {
        const float sa = AuditStudy::composition(a)[0], sb = AuditStudy::composition(b)[0];
        return sa != sb ? (highest ? sa > sb : sa < sb) : a < b;
    });
    return QList<qint64>(sorted.begin(), sorted.begin() + k);
}

} // namespace

class TestErrorsAuditPages : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void errorFiltersMatchBruteForce();
    void detailsPaneShowsTheSelectedError();
    void nullFiltersMeanAll();
    void errorsExportHasTheCliBytes();
    void auditSampleModes();
    void marksSurviveReopeningTheStudy();
    void auditExportColumns();
    void windowHasBothTabs();
    void retrySelectedRowsOnly();
    void cleanupTestCase();

private:
    void open();
    QTemporaryDir m_dir;
    QString m_db;
    QString m_cli;
    AuditStudy m_study;
    StudyConnection *m_connection = nullptr;
    QList<qint64> m_marked;  // accepted, flagged
};

void TestErrorsAuditPages::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    m_cli = qEnvironmentVariable("SEGSCALE_CLI");
    m_db = m_dir.filePath(QStringLiteral("study.db"));
    const QString written = m_study.write(m_db);
    QVERIFY2(written.isEmpty(), qPrintable(written));
    open();
}

void TestErrorsAuditPages::open()
{
    delete m_connection;
    m_connection = new StudyConnection(this);
    QSignalSpy connected(m_connection, &StudyConnection::connected);
    QSignalSpy failed(m_connection, &StudyConnection::failed);
    m_connection->openEmbedded(m_db);
    QTRY_VERIFY_WITH_TIMEOUT(!connected.isEmpty() || !failed.isEmpty(), 10000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
}

void TestErrorsAuditPages::errorFiltersMatchBruteForce()
{
    ErrorsPage page(m_connection);
    QAbstractItemModelTester tester(page.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy pages(page.model(), &ErrorsModel::pageLoaded);
    page.reload();
    QTRY_COMPARE(pages.size(), 1);
    QCOMPARE(page.model()->rowCount(), 40);
    // The choices come from the study: its workers and datasets.
    QTRY_COMPARE(page.workerBox()->count(), 4);
    QCOMPARE(page.workerBox()->itemText(2), QStringLiteral("w2"));
    QCOMPARE(page.datasetBox()->count(), 3);
    QCOMPARE(page.datasetBox()->itemText(2), QStringLiteral("/data/b"));

    const qint64 t0 = AuditStudy::kT0, h = AuditStudy::kHour;
    const std::optional<QString> categories[] = {std::nullopt, QStringLiteral("corrupt"), QStringLiteral("missing")};
    const std::optional<QString> workers[] = {std::nullopt, QStringLiteral("w2")};
    const std::optional<qint64> datasets[] = {std::nullopt, m_study.datasetB};
    const std::pair<std::optional<qint64>, std::optional<qint64>> times[] = {
        {std::nullopt, std::nullopt}, {t0 + h, std::nullopt}, {std::nullopt, t0 + h}, {t0 + h, t0 + 2 * h}};
    int checked = 0, nonEmpty = 0;
    for (const auto &c : categories)
        for (const auto &w : workers)
            for (const auto &d : datasets)
                for (const auto &[since, until] : times) {
                    const qsizetype before = pages.size();
                    page.setFilter(c.value_or(QString()), w.value_or(QString()), d.value_or(0),
                                   since ? QDateTime::fromMSecsSinceEpoch(*since) : QDateTime(),
                                   until ? QDateTime::fromMSecsSinceEpoch(*until) : QDateTime());
                    QTRY_VERIFY(pages.size() > before && !page.model()->isLoading());
                    const std::vector<qint64> expected = m_study.matching(c, w, d, since, until);
                    QCOMPARE(modelIds(*page.model()), QList<qint64>(expected.begin(), expected.end()));
                    // What went to the coordinator is what the controls say.
                    QCOMPARE(page.model()->filter(), page.filter());
                    ++checked;
                    nonEmpty += expected.empty() ? 0 : 1;
                }
    QCOMPARE(checked, 48);
    QVERIFY(nonEmpty >= 20);
}

void TestErrorsAuditPages::detailsPaneShowsTheSelectedError()
{
    ErrorsPage page(m_connection);
    QSignalSpy pages(page.model(), &ErrorsModel::pageLoaded);
    page.setFilter(QStringLiteral("missing"), QStringLiteral("w2"), 0, {}, {});
    QTRY_VERIFY(!pages.isEmpty() && !page.model()->isLoading());
    const std::vector<qint64> expected = m_study.matching(QStringLiteral("missing"), QStringLiteral("w2"), {}, {}, {});
    QCOMPARE(page.model()->rowCount(), static_cast<int>(expected.size()));
    QVERIFY(page.detailsText().contains(QStringLiteral("Select a failed image")));
    page.view()->selectRow(0);
    const auto f = std::find_if(m_study.failed.begin(), m_study.failed.end(), [&](const auto &x) { return x.id == expected[0]; });
    const QString details = page.detailsText();
    QVERIFY2(details.contains(f->location), qPrintable(details));
    QVERIFY2(details.contains(QStringLiteral("missing · 1 attempt(s) · reported by w2")), qPrintable(details));
    QVERIFY2(details.contains(f->message), qPrintable(details));  // whole, with the location it starts with
}

void TestErrorsAuditPages::nullFiltersMeanAll()
{
    QJsonObject reply;
    QString failure;
    m_connection->ask(QStringLiteral("errors"),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("errors")},
                                  {QStringLiteral("category"), QJsonValue::Null},
                                  {QStringLiteral("worker"), QJsonValue::Null},
                                  {QStringLiteral("dataset"), QJsonValue::Null},
                                  {QStringLiteral("limit"), 1000}},
                      this, [&](const QJsonObject &r) { reply = r; }, [&](const QString &m) { failure = m; });
    QTRY_VERIFY(!reply.isEmpty() || !failure.isEmpty());
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
    QCOMPARE(reply.value(QStringLiteral("rows")).toArray().size(), 40);
    // since after until: a readable refusal, not an empty list.
    reply = {};
    m_connection->ask(QStringLiteral("errors"),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("errors")}, {QStringLiteral("since"), 2000}, {QStringLiteral("until"), 1000}},
                      this, [&](const QJsonObject &r) { reply = r; }, [&](const QString &m) { failure = m; });
    QTRY_VERIFY(!failure.isEmpty());
    QVERIFY2(failure.contains(QStringLiteral("\"since\" is after \"until\"")), qPrintable(failure));
}

void TestErrorsAuditPages::errorsExportHasTheCliBytes()
{
    const QString cliComposition = m_dir.filePath(QStringLiteral("cli-composition.csv"));
    const QString cliErrors = m_dir.filePath(QStringLiteral("cli-errors.csv"));
    const auto cli = Testing::runCli(m_cli, {QStringLiteral("study"), QStringLiteral("export"), m_db, QStringLiteral("--format"), QStringLiteral("wide"),
                                             QStringLiteral("--out"), cliComposition, QStringLiteral("--errors"), cliErrors},
                                     60000);
    QVERIFY2(cli.code == 0, qPrintable(cli.err));
    const QByteArray expected = readAll(cliErrors);
    QVERIFY(expected.startsWith("image,category,message\r\n"));

    // Through the page (one request of up to 1000 rows) and paged by 7.
    ErrorsPage page(m_connection);
    QSignalSpy exported(&page, &ErrorsPage::exported);
    const QString viaPage = m_dir.filePath(QStringLiteral("page-errors.csv"));
    page.exportTo(viaPage);
    QTRY_COMPARE(exported.size(), 1);
    QCOMPARE(exported.first().first().toLongLong(), 40);
    QCOMPARE(readAll(viaPage), expected);

    ErrorsExport paged(m_connection);
    paged.setPageRows(7);
    QSignalSpy finished(&paged, &ErrorsExport::finished);
    QSignalSpy progressed(&paged, &ErrorsExport::progressed);
    const QString viaPages = m_dir.filePath(QStringLiteral("paged-errors.csv"));
    QVERIFY(paged.start(viaPages));
    QTRY_COMPARE(finished.size(), 1);
    QCOMPARE(progressed.size(), 6);  // 40 rows in pages of 7
    QCOMPARE(readAll(viaPages), expected);

    // Filtered: the rows of the filter, nothing else.
    page.setFilter(QStringLiteral("corrupt"), {}, m_study.datasetB, {}, {});
    const QString filtered = m_dir.filePath(QStringLiteral("filtered-errors.csv"));
    page.exportTo(filtered);
    QTRY_COMPARE(exported.size(), 2);
    const std::vector<qint64> want = m_study.matching(QStringLiteral("corrupt"), {}, m_study.datasetB, {}, {});
    const QList<QByteArray> lines = readAll(filtered).split('\n');
    QCOMPARE(lines.size(), static_cast<qsizetype>(want.size()) + 2);  // header, rows, the empty tail
    for (size_t i = 0; i < want.size(); ++i)
        QVERIFY(lines[static_cast<qsizetype>(i) + 1].startsWith(QByteArray(AuditStudy::locationOf(want[i]).toUtf8() + ",corrupt,")));

    // A file that cannot be written is a readable failure, and nothing is left behind.
    QSignalSpy failed(&page, &ErrorsPage::failed);
    page.exportTo(m_dir.filePath(QStringLiteral("no/such/dir/errors.csv")));
    QCOMPARE(failed.size(), 1);
    QVERIFY2(failed.first().first().toString().contains(QStringLiteral("cannot write")), qPrintable(failed.first().first().toString()));
}

void TestErrorsAuditPages::auditSampleModes()
{
    AuditPage page(m_connection);
    QAbstractItemModelTester sampleTester(page.sampleModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester qualityTester(page.qualityModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    page.setClasses({QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree")});
    QSignalSpy drawn(&page, &AuditPage::sampleDrawn);
    // Draws and returns the sample's image ids; a draw that never comes fails the test.
    auto draw = [&](const QString &mode, int k, qint64 seed, int cls = 0) {
        const qsizetype before = drawn.size();
        page.drawSample(mode, k, seed, cls);
        if (!QTest::qWaitFor([&] { return drawn.size() > before; }, 10000))
            return QList<qint64>{-1};
        return modelIds(*page.sampleModel());
    };
    const QList<qint64> a = draw(QStringLiteral("random"), 10, 7);
    QCOMPARE(a.size(), 10);
    QCOMPARE(draw(QStringLiteral("random"), 10, 7), a);
    QVERIFY(draw(QStringLiteral("random"), 10, 8) != a);
    for (qint64 id : a)
        QVERIFY(std::binary_search(m_study.done.begin(), m_study.done.end(), id));

    const QList<qint64> perDataset = draw(QStringLiteral("per-dataset"), 4, 7);
    QCOMPARE(perDataset.size(), 8);
    QCOMPARE(std::count_if(perDataset.begin(), perDataset.end(), [](qint64 id) { return id < AuditStudy::kFirstB; }), 4);
    QTRY_COMPARE(page.qualityModel()->rowCount(), 2);  // the summary names the datasets
    QTRY_COMPARE(page.sampleModel()->index(7, AuditSampleModel::Dataset).data().toString(), QStringLiteral("/data/b"));

    const QList<qint64> extremes = draw(QStringLiteral("extremes"), 3, 0, 0);
    QCOMPARE(extremes, bruteExtremes(m_study.done, 3, true) + bruteExtremes(m_study.done, 3, false));
    QCOMPARE(page.sampleModel()->index(0, AuditSampleModel::Share).data().toString(),
             QStringLiteral("▲ ") + QLocale().toString(AuditStudy::composition(extremes[0])[0] * 100.0, 'f', 1));
    // The first row is selected and shown: no overlay file here, so the placeholder says where.
    QCOMPARE(page.sampleView()->currentIndex().row(), 0);
}

void TestErrorsAuditPages::marksSurviveReopeningTheStudy()
{
    {
        AuditPage page(m_connection);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QSignalSpy drawn(&page, &AuditPage::sampleDrawn);
        QSignalSpy marked(&page, &AuditPage::marked);
        QSignalSpy summary(&page, &AuditPage::summaryLoaded);
        page.drawSample(QStringLiteral("random"), 5, 3);
        QTRY_COMPARE(drawn.size(), 1);
        const QList<qint64> sample = modelIds(*page.sampleModel());
        QCOMPARE(page.sampleView()->currentIndex().row(), 0);
        page.noteEdit()->setText(QStringLiteral("looks right"));
        page.accept();
        QTRY_COMPARE(marked.size(), 1);
        // Marked: the next image is up, with its own (empty) note.
        QCOMPARE(page.sampleView()->currentIndex().row(), 1);
        QCOMPARE(page.noteEdit()->text(), QString());
        page.noteEdit()->setText(QStringLiteral("road under-segmented, \"shadow\""));
        page.sampleView()->setFocus();
        QTest::keyClick(page.sampleView(), Qt::Key_F);  // the shortcut
        QTRY_COMPARE(marked.size(), 2);
        QCOMPARE(page.sampleModel()->index(0, AuditSampleModel::Mark).data().toString(), QStringLiteral("accepted"));
        QCOMPARE(page.sampleModel()->index(1, AuditSampleModel::Mark).data().toString(), QStringLiteral("flagged"));
        QCOMPARE(page.sampleModel()->index(1, AuditSampleModel::Note).data().toString(), QStringLiteral("road under-segmented, \"shadow\""));
        m_marked = {sample[0], sample[1]};
        // The quality table follows.
        QTRY_VERIFY(summary.size() >= 2);
        QTRY_COMPARE(page.qualityModel()->index(0, AuditQualityModel::Marked).data(Qt::UserRole).toLongLong() +
                         page.qualityModel()->index(1, AuditQualityModel::Marked).data(Qt::UserRole).toLongLong(),
                     2);
    }
    // Close the study, open it again with a new connection: the marks are there.
    m_connection->close();
    open();
    AuditPage page(m_connection);
    // And the sample's settings came back (QSettings): the same draw is one click away.
    QCOMPARE(page.seedBox()->value(), 3);
    QAbstractItemModelTester tester(page.sampleModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy drawn(&page, &AuditPage::sampleDrawn);
    page.drawSample(QStringLiteral("random"), 5, 3);
    QTRY_COMPARE(drawn.size(), 1);
    QCOMPARE(modelIds(*page.sampleModel()).mid(0, 2), m_marked);
    QCOMPARE(page.sampleModel()->index(0, AuditSampleModel::Mark).data().toString(), QStringLiteral("accepted"));
    QCOMPARE(page.sampleModel()->index(0, AuditSampleModel::Note).data().toString(), QStringLiteral("looks right"));
    QCOMPARE(page.sampleModel()->index(1, AuditSampleModel::Note).data().toString(), QStringLiteral("road under-segmented, \"shadow\""));
    QCOMPARE(page.noteEdit()->text(), QStringLiteral("looks right"));  // row 0 selected: its note

    // Quality per dataset: accepted / marked, as brute force counts them.
    page.reloadSummary();
    QTRY_COMPARE(page.qualityModel()->rowCount(), 2);
    for (int row = 0; row < 2; ++row) {
        const bool inB = row == 1;
        const auto inDataset = [inB](qint64 id) { return (id >= AuditStudy::kFirstB) == inB; };
        const qint64 accepted = inDataset(m_marked[0]) ? 1 : 0, flagged = inDataset(m_marked[1]) ? 1 : 0;
        QCOMPARE(page.qualityModel()->index(row, AuditQualityModel::Accepted).data(Qt::UserRole).toLongLong(), accepted);
        QCOMPARE(page.qualityModel()->index(row, AuditQualityModel::Flagged).data(Qt::UserRole).toLongLong(), flagged);
        const QVariant rate = page.qualityModel()->index(row, AuditQualityModel::Rate).data(Qt::UserRole);
        if (accepted + flagged == 0)
            QVERIFY(!rate.isValid() || rate.isNull());
        else
            QCOMPARE(rate.toDouble(), static_cast<double>(accepted) / static_cast<double>(accepted + flagged));
    }

    // Clearing a mark is stored too.
    page.sampleView()->selectRow(0);
    QSignalSpy marked(&page, &AuditPage::marked);
    page.clearMark();
    QTRY_COMPARE(marked.size(), 1);
    QCOMPARE(page.sampleModel()->index(0, AuditSampleModel::Mark).data().toString(), QString());
    // And the refusals are readable: a verdict that is not one.
    QString failure;
    m_connection->ask(QStringLiteral("mark"),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("audit-mark")}, {QStringLiteral("image"), 1}, {QStringLiteral("verdict"), QStringLiteral("maybe")}},
                      this, [](const QJsonObject &) {}, [&](const QString &m) { failure = m; });
    QTRY_VERIFY(!failure.isEmpty());
    QVERIFY2(failure.contains(QStringLiteral("accepted, flagged or none")), qPrintable(failure));
    // Put the accepted mark back for the export test.
    page.noteEdit()->setText(QStringLiteral("looks right"));
    page.accept();
    QTRY_COMPARE(marked.size(), 2);
}

void TestErrorsAuditPages::auditExportColumns()
{
    const QString plain = m_dir.filePath(QStringLiteral("plain.csv"));
    const QString audited = m_dir.filePath(QStringLiteral("audited.csv"));
    auto run = [&](const QString &out, bool audit) {
        QStringList args{QStringLiteral("study"), QStringLiteral("export"), m_db, QStringLiteral("--format"), QStringLiteral("wide"), QStringLiteral("--out"), out};
        if (audit)
            args << QStringLiteral("--audit");
        return Testing::runCli(m_cli, args, 60000);
    };
    const auto a = run(plain, false);
    QVERIFY2(a.code == 0, qPrintable(a.err));
    const auto b = run(audited, true);
    QVERIFY2(b.code == 0, qPrintable(b.err));
    const QList<QByteArray> p = readAll(plain).split('\n'), q = readAll(audited).split('\n');
    QCOMPARE(p.first(), QByteArray("image,width,height,road,sky,tree\r"));
    QCOMPARE(q.first(), QByteArray("image,width,height,road,sky,tree,audit,audit_note\r"));
    QCOMPARE(p.size(), q.size());
    int marks = 0;
    for (qsizetype i = 1; i + 1 < p.size(); ++i) {
        const QByteArray location = p[i].left(p[i].indexOf(','));
        QByteArray tail = ",,\r";
        if (location == AuditStudy::locationOf(m_marked[0]).toUtf8())
            tail = ",accepted,looks right\r";
        else if (location == AuditStudy::locationOf(m_marked[1]).toUtf8())
            tail = ",flagged,\"road under-segmented, \"\"shadow\"\"\"\r";
        marks += tail.size() > 3 ? 1 : 0;
        QCOMPARE(q[i], p[i].chopped(1) + tail);
    }
    QCOMPARE(marks, 2);
}

void TestErrorsAuditPages::windowHasBothTabs()
{
    MainWindow window;
    window.openStudy(m_db);
    QTRY_VERIFY2(window.connection()->isConnected(), qPrintable(window.lastFailure()));
    QCOMPARE(window.tabs()->indexOf(window.errorsPage()), 2);
    QVERIFY(window.tabs()->indexOf(window.auditPage()) > 0);
    QTRY_COMPARE(window.errorsModel()->rowCount(), 40);
    // The tabs do not force a tall window (tst_studio restores a 900x520 one).
    QVERIFY2(window.minimumSizeHint().height() < 520, qPrintable(QString::number(window.minimumSizeHint().height())));
    const QStringList shots = window.saveScreenshots(m_dir.filePath(QStringLiteral("shots")));
    QVERIFY2(shots.contains(m_dir.filePath(QStringLiteral("shots/audit.png"))), qPrintable(shots.join(u' ')));
    window.close();
}

void TestErrorsAuditPages::retrySelectedRowsOnly()
{
    ErrorsPage page(m_connection);
    QSignalSpy pages(page.model(), &ErrorsModel::pageLoaded);
    QSignalSpy status(&page, &ErrorsPage::statusMessage);
    page.reload();
    QTRY_COMPARE(page.model()->rowCount(), 40);
    QItemSelectionModel *selection = page.view()->selectionModel();
    QList<qint64> chosen;
    for (int row : {0, 3, 17}) {
        selection->select(page.model()->index(row, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
        chosen << page.model()->index(row, 0).data(Qt::UserRole).toLongLong();
    }
    page.retrySelected();
    QTRY_VERIFY(status.size() >= 1);
    QCOMPARE(status.last().first().toString(), QStringLiteral("3 failed image(s) back to pending"));
    QTRY_COMPARE(page.model()->rowCount(), 37);
    for (qint64 id : chosen)
        QVERIFY(!modelIds(*page.model()).contains(id));

    m_connection->close();
    auto store = Jobs::JobStore::open(m_db);
    QVERIFY(store.ok());
    QSqlQuery q((*store)->database());
    QVERIFY(q.exec(QStringLiteral("SELECT id, attempts FROM images WHERE state = 0 ORDER BY id")));
    QList<qint64> pending;
    while (q.next()) {
        pending << q.value(0).toLongLong();
        QCOMPARE(q.value(1).toInt(), 0);
    }
    QCOMPARE(pending, chosen);
    QCOMPARE(*(*store)->imageCount(Jobs::ImageState::Failed), 37);
}

void TestErrorsAuditPages::cleanupTestCase()
{
    if (m_connection)
        m_connection->close();
}

QTEST_MAIN(TestErrorsAuditPages)
#include "tst_errorsauditpages.moc"
