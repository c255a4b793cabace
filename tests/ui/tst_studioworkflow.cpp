// SegScale Studio, the morning a researcher starts a study — everything through the
// window's own dialogs and pages, offscreen, with the real ESPNet model on real street
// photos: File > New study (model card, settings), Study > Add data source (a local folder
// with a corrupt file in it), one local agent started from the Workers page plus an
// external `segscale agent` process joining the embedded coordinator, the run to its end;
// then the Results page and one overlay in the image viewer (the class under a point is the
// label map's class there), the CSV export compared byte for byte with `segscale study
// export`, the corrupt file in the Errors page by category and Retry selected putting it
// back, an audit mark that survives reopening the study (and reaches `study export
// --audit`), and last the same study served by a separate `segscale serve` and attached to
// with an admin token.

#include "ui/auditpage.h"
#include "ui/auditsamplemodel.h"
#include "ui/datasourcedialog.h"
#include "ui/errorsmodel.h"
#include "ui/errorspage.h"
#include "ui/imageviewer.h"
#include "ui/mainwindow.h"
#include "ui/modelclassesmodel.h"
#include "ui/newstudydialog.h"
#include "ui/resultsmodel.h"
#include "ui/resultspage.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"

#include "common/clirun.h"
#include "common/studiosandbox.h"
#include "common/testpaths.h"

#include <QAbstractItemModelTester>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using SegScale::Testing::cliPath;
using SegScale::Testing::runCli;
using SegScale::Testing::sharedModel;
using namespace SegScale::Ui;

namespace {

// A handful of the shared photos keeps the run to about a minute on two cores.
constexpr int kPhotos = 6;

QString shared()
{
    return qEnvironmentVariable("SEGSCALE_SHARED_DIR");
}

qint64 count(const QJsonObject &summary, const char *key)
{
    return static_cast<qint64>(summary.value(QLatin1StringView(key)).toDouble(-1));
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Every name the Workers page listed while the window was open.
struct SeenWorkers {
    QSet<QString> names;
    QJsonObject summary;
    explicit SeenWorkers(MainWindow &w)
    {
        QObject::connect(w.connection(), &StudyConnection::summaryUpdated, w.connection(), [this](const QJsonObject &s) { summary = s; });
        WorkersModel *model = w.workersModel();
        QObject::connect(w.connection(), &StudyConnection::workersUpdated, w.connection(), [this, model] {
            for (int row = 0; row < model->rowCount(); ++row)
                names.insert(model->index(row, WorkersModel::Name).data().toString());
        });
    }
};

} // namespace

class TestStudioWorkflow : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    QString m_images;
    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        if (cliPath().isEmpty() || !QFile::exists(cliPath()))
            QSKIP("SEGSCALE_CLI is not set: build the segscale target");
        if (!QFile::exists(sharedModel() + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        QVERIFY(m_dir.isValid());
        SegScale::Testing::sandboxStudio(m_dir.path(), QStringLiteral("tst_studioworkflow"));
        qputenv("XDG_DATA_HOME", path(QStringLiteral("data")).toUtf8());

        // Real street photos (the 640 px crops), and one upload that broke on the way.
        m_images = path(QStringLiteral("streets"));
        QVERIFY(QDir().mkpath(m_images));
        QStringList photos = QDir(shared() + QStringLiteral("/samples/streets")).entryList({QStringLiteral("crop640_*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY2(photos.size() >= kPhotos, "the shared street photos are missing");
        for (int i = 0; i < kPhotos; ++i)
            QVERIFY(QFile::copy(shared() + QStringLiteral("/samples/streets/") + photos[i], m_images + QLatin1Char('/') + photos[i]));
        QFile broken(m_images + QStringLiteral("/broken-upload.jpg"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(QByteArray::fromHex("ffd8ffe000104a464946") + QByteArray(3000, '\x33'));  // a JPEG header, then nothing of a picture
        broken.close();
        m_db = path(QStringLiteral("street-study.db"));
    }

    void createAddRunAndLook()
    {
        MainWindow window;
        window.connection()->setAgentProgram(cliPath());
        SeenWorkers seen(window);
        window.show();
        window.resize(1100, 700);

        // File > New study: the model's card, small settings for a quick run.
        {
            NewStudyDialog dialog(&window);
            QObject::connect(&dialog, &NewStudyDialog::studyCreated, &window, &MainWindow::openStudy);
            dialog.setStudyPath(m_db);
            dialog.setModelFolder(sharedModel());
            QVERIFY2(dialog.modelError().isEmpty(), qPrintable(dialog.modelError()));
            QVERIFY(dialog.classesModel()->rowCount() >= 19);
            dialog.setScales(QStringLiteral("1"));
            dialog.setBaseSize(QStringLiteral("256"));
            dialog.setCrop(QStringLiteral("256"));
            dialog.setFlip(false);
            QSignalSpy created(&dialog, &NewStudyDialog::studyCreated);
            QVERIFY2(dialog.create(), qPrintable(dialog.statusText()));
            QTRY_COMPARE_WITH_TIMEOUT(created.size(), 1, 60000);
        }
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
        QVERIFY(window.connection()->isEmbedded());

        // Study > Add data source: the folder with the photos and the broken upload.
        QVERIFY(window.addDataSourceAction()->isEnabled());
        {
            DataSourceDialog dialog(window.connection()->database(), &window);
            dialog.setLocalFolder(m_images);
            QSignalSpy added(&dialog, &DataSourceDialog::imagesAdded);
            QVERIFY2(dialog.add(), qPrintable(dialog.statusText()));
            QTRY_COMPARE_WITH_TIMEOUT(added.size(), 1, 60000);
            QCOMPARE(added.first().first().toLongLong(), qint64(kPhotos + 1));
            window.connection()->refresh();
        }
        QTRY_COMPARE_WITH_TIMEOUT(count(seen.summary, "total"), qint64(kPhotos + 1), 10000);

        // An external agent joins the embedded coordinator with the session's token, and one
        // local agent is started from the Workers page.
        QProcess external;
        external.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        external.start(cliPath(), {QStringLiteral("agent"), QStringLiteral("--connect"), window.connection()->agentUrl(), QStringLiteral("--token-file"),
                               window.connection()->agentTokenFile(), QStringLiteral("--name"), QStringLiteral("external-1"),
                               QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--model-cache"), path(QStringLiteral("cache-ext"))});
        QTRY_VERIFY_WITH_TIMEOUT(seen.names.contains(QStringLiteral("external-1")), 60000);
        window.startLocalAgents(1);
        QTRY_VERIFY2_WITH_TIMEOUT(count(seen.summary, "done") + count(seen.summary, "failed") == kPhotos + 1 &&
                                      count(seen.summary, "leased") == 0,
                                  qPrintable(window.lastFailure()), 600000);
        QCOMPARE(count(seen.summary, "done"), qint64(kPhotos));
        QCOMPARE(count(seen.summary, "failed"), qint64(1));
        QTRY_VERIFY_WITH_TIMEOUT(external.state() == QProcess::NotRunning, 60000);
        QCOMPARE(external.exitCode(), 0);
        // Both kinds of agent were in the one table (launched agents are named local-…).
        QVERIFY2(seen.names.contains(QStringLiteral("external-1")), qPrintable(QStringList(seen.names.values()).join(u',')));
        bool local = false;
        for (const QString &name : std::as_const(seen.names))
            local = local || name.startsWith(QLatin1StringView("local"));
        QVERIFY2(local, qPrintable(QStringList(seen.names.values()).join(u',')));

        // Results: one row per photo; the first one in the viewer.
        ResultsModel *results = window.resultsModel();
        QAbstractItemModelTester tester(results, QAbstractItemModelTester::FailureReportingMode::QtTest);
        window.resultsModel()->reload();
        QTRY_COMPARE_WITH_TIMEOUT(results->rowCount(), kPhotos, 20000);
        ResultsPage *page = window.resultsPage();
        QTRY_VERIFY_WITH_TIMEOUT(!page->palette().isEmpty(), 20000);  // the composition reply brought the palette
        ImageViewer *viewer = page->openViewer(0);
        QVERIFY(viewer);
        QTRY_VERIFY_WITH_TIMEOUT(viewer->isLoaded(), 30000);
        QVERIFY2(viewer->hasPhoto() && viewer->hasLabels(), qPrintable(viewer->problem()));
        // The class under a few points is the one the agent wrote into the label map there.
        const QJsonObject first = results->result(0);
        // Label paths are relative to the study's outputs folder, <study>-outputs beside it.
        const QImage labels(path(QStringLiteral("street-study-outputs/")) + first.value(QStringLiteral("label")).toString());
        QVERIFY2(!labels.isNull(), qPrintable(first.value(QStringLiteral("label")).toString()));
        const QStringList classes = page->classes();
        QSet<QString> named;
        for (const QPoint p : {QPoint(10, 10), QPoint(labels.width() / 2, labels.height() / 2), QPoint(labels.width() - 5, labels.height() - 5),
                               QPoint(labels.width() / 3, labels.height() * 3 / 4)}) {
            const int index = qGray(labels.pixel(p));  // 8-bit class indexes
            QCOMPARE(viewer->classAt(QPointF(p) + QPointF(0.5, 0.5)), classes.value(index));
            named.insert(classes.value(index));
        }
        qInfo("classes under four points of %s: %s", qPrintable(QFileInfo(first.value(QStringLiteral("location")).toString()).fileName()),
              qPrintable(QStringList(named.values()).join(u',')));
        // Hiding the class under the centre takes its colour off the overlay there.
        const QPointF centre(labels.width() / 2 + 0.5, labels.height() / 2 + 0.5);
        QVERIFY(viewer->overlayColorAt(centre).alpha() > 0);
        viewer->setClassVisible(viewer->classIndexAt(centre), false);
        QCOMPARE(viewer->overlayColorAt(centre).alpha(), 0);

        // Export from the app = `segscale study export`, byte for byte, wide and long.
        for (const QString &format : {QStringLiteral("wide"), QStringLiteral("long")}) {
            const QString mine = path(QStringLiteral("app-%1.csv").arg(format));
            const QString theirs = path(QStringLiteral("cli-%1.csv").arg(format));
            QSignalSpy done(page, &ResultsPage::exportFinished);
            page->exportCsv(format, mine);
            QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
            auto cliExport = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("export"), m_db, QStringLiteral("--format"), format,
                                            QStringLiteral("--out"), theirs},
                                    60000);
            QVERIFY2(cliExport.code == 0, qPrintable(cliExport.err));
            QVERIFY(!readAll(theirs).isEmpty());
            QCOMPARE(readAll(mine), readAll(theirs));
        }

        // Errors: the broken upload, by category; Retry selected puts exactly it back.
        ErrorsModel *errors = window.errorsModel();
        window.errorsPage()->reload();
        QTRY_COMPARE_WITH_TIMEOUT(errors->rowCount(), 1, 20000);
        QCOMPARE(QFileInfo(errors->index(0, ErrorsModel::Image).data().toString()).fileName(), QStringLiteral("broken-upload.jpg"));
        QCOMPARE(errors->index(0, ErrorsModel::Category).data().toString(), QStringLiteral("corrupt"));
        // The agents are gone (no work was left), so the retried image waits as pending.
        QTRY_VERIFY_WITH_TIMEOUT(window.connection()->isConnected(), 1000);
        window.errorsPage()->view()->selectRow(0);
        window.errorsPage()->retrySelected();
        QTRY_VERIFY_WITH_TIMEOUT(count(seen.summary, "failed") == 0 && count(seen.summary, "pending") == 1, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(errors->rowCount(), 0, 20000);
        // A new agent meets the same broken file and says so again.
        window.startLocalAgents(1);
        QTRY_VERIFY2_WITH_TIMEOUT(count(seen.summary, "failed") == 1 && count(seen.summary, "pending") == 0 && count(seen.summary, "leased") == 0,
                                  qPrintable(window.lastFailure()), 300000);

        // Audit: a seeded random sample; the first image accepted with a note.
        AuditPage *audit = window.auditPage();
        QSignalSpy drawn(audit, &AuditPage::sampleDrawn);
        audit->drawSample(QStringLiteral("random"), 4, 7);
        QTRY_COMPARE_WITH_TIMEOUT(drawn.size(), 1, 30000);
        QCOMPARE(drawn.first().first().toInt(), 4);
        audit->sampleView()->selectRow(0);
        const qint64 markedImage = audit->sampleModel()->index(0, 0).data(Qt::UserRole).toLongLong();
        audit->noteEdit()->setText(QStringLiteral("sky and trees look right"));
        QSignalSpy marked(audit, &AuditPage::marked);
        audit->accept();
        QTRY_COMPARE_WITH_TIMEOUT(marked.size(), 1, 20000);
        QCOMPARE(marked.first().first().toLongLong(), markedImage);
        QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
        window.close();
        QTRY_VERIFY_WITH_TIMEOUT(!window.connection()->isConnected(), 30000);

        // Reopened: the same draw shows the mark and its note.
        {
            MainWindow again;
            again.show();
            again.openStudy(m_db);
            QTRY_VERIFY2_WITH_TIMEOUT(again.connection()->isConnected(), qPrintable(again.lastFailure()), 30000);
            QSignalSpy redrawn(again.auditPage(), &AuditPage::sampleDrawn);
            again.auditPage()->drawSample(QStringLiteral("random"), 4, 7);
            QTRY_COMPARE_WITH_TIMEOUT(redrawn.size(), 1, 30000);
            AuditSampleModel *sample = again.auditPage()->sampleModel();
            QCOMPARE(sample->index(0, 0).data(Qt::UserRole).toLongLong(), markedImage);
            QCOMPARE(sample->index(0, AuditSampleModel::Mark).data().toString(), QStringLiteral("accepted"));
            QCOMPARE(sample->index(0, AuditSampleModel::Note).data().toString(), QStringLiteral("sky and trees look right"));
            again.close();
        }
        auto withAudit = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("export"), m_db, QStringLiteral("--format"), QStringLiteral("wide"),
                                        QStringLiteral("--out"), path(QStringLiteral("audit.csv")), QStringLiteral("--audit")},
                                60000);
        QVERIFY2(withAudit.code == 0, qPrintable(withAudit.err));
        QVERIFY(readAll(path(QStringLiteral("audit.csv"))).contains(",accepted,sky and trees look right\r\n") ||
                readAll(path(QStringLiteral("audit.csv"))).contains(",accepted,sky and trees look right\n"));
    }

    // The same study served headless; the app attaches with the admin token.
    void attachToServe()
    {
        if (!QFile::exists(m_db))
            QSKIP("the study of the case above was not made");
        auto writeToken = [this](const QString &name, const QByteArray &token) {
            QFile f(path(name));
            return f.open(QIODevice::WriteOnly) && f.write(token + '\n') > 0;
        };
        QVERIFY(writeToken(QStringLiteral("agent.token"), "agent-token-workflow-0123456789"));
        QVERIFY(writeToken(QStringLiteral("admin.token"), "admin-token-workflow-0123456789"));
        QProcess serve;
        const QString log = path(QStringLiteral("serve.log"));
        serve.setStandardErrorFile(log);
        serve.start(cliPath(), {QStringLiteral("serve"), m_db, QStringLiteral("--token-file"), path(QStringLiteral("agent.token")),
                            QStringLiteral("--admin-token-file"), path(QStringLiteral("admin.token")), QStringLiteral("--listen"),
                            QStringLiteral("127.0.0.1:0")});
        static const QRegularExpression served(QStringLiteral("on (ws://127\\.0\\.0\\.1:\\d+)"));
        QString url;
        QTRY_VERIFY_WITH_TIMEOUT(!(url = served.match(QString::fromUtf8(readAll(log))).captured(1)).isEmpty() ||
                                     serve.state() == QProcess::NotRunning,
                                 30000);
        QVERIFY2(!url.isEmpty(), readAll(log).constData());
        {
            MainWindow window;
            SeenWorkers seen(window);
            window.show();
            window.connectTo(QUrl(url), path(QStringLiteral("admin.token")));
            QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
            QVERIFY(!window.connection()->isEmbedded());
            QTRY_COMPARE_WITH_TIMEOUT(count(seen.summary, "done"), qint64(kPhotos), 10000);
            QCOMPARE(count(seen.summary, "failed"), qint64(1));
            QTRY_COMPARE_WITH_TIMEOUT(window.resultsModel()->rowCount(), kPhotos, 20000);
            // Remote: adding data is the server's business, and the menu says so.
            QVERIFY(!window.addDataSourceAction()->isEnabled());
            // The viewer reads photo and labels through the coordinator here too.
            ImageViewer *viewer = window.resultsPage()->openViewer(0);
            QVERIFY(viewer);
            QTRY_VERIFY_WITH_TIMEOUT(viewer->isLoaded(), 30000);
            QVERIFY2(viewer->hasPhoto() && viewer->hasLabels(), qPrintable(viewer->problem()));
            QVERIFY2(window.lastFailure().isEmpty(), qPrintable(window.lastFailure()));
        }
        serve.terminate();
        QVERIFY(serve.waitForFinished(60000));
        QCOMPARE(serve.exitCode(), 0);
    }
};

QTEST_MAIN(TestStudioWorkflow)
#include "tst_studioworkflow.moc"
