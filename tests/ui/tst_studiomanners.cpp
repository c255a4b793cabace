// The Studio's manners, offscreen, with a real embedded coordinator and a real local
// `segscale agent` (the ESPNet model): window state persists across two windows (QSettings
// in this test's sandbox), the keyboard shortcuts switch tabs and say what they cannot do,
// the Start agents dialog builds the launch request that starts an agent which joins, a
// launcher's refusal reaches the user, and closing during the run asks — Cancel keeps
// the window, "Drain the agents and close" lets the agent finish its images, commits
// them and only then closes.

#include "jobs/jobstore.h"
#include "ui/mainwindow.h"
#include "ui/newstudydialog.h"
#include "ui/progresspanel.h"
#include "ui/startagentsdialog.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"
#include "ui/workerspage.h"

#include "common/clirun.h"
#include "common/studiosandbox.h"
#include "common/testpaths.h"

#include <QComboBox>
#include <QDir>
#include <QHeaderView>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLineEdit>
#include <QMessageBox>
#include <QPainter>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSplitter>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace SegScale;
using SegScale::Testing::cliPath;
using SegScale::Testing::runCli;
using SegScale::Testing::sharedModel;
using SegScale::Ui::MainWindow;
using SegScale::Ui::NewStudyDialog;
using SegScale::Ui::StartAgentsDialog;
using SegScale::Ui::StudyConnection;
using SegScale::Ui::WorkersModel;

namespace {

constexpr int kImages = 40;

int rowNamed(const WorkersModel *m, const QString &prefix)
{
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->index(r, WorkersModel::Name).data().toString().startsWith(prefix))
            return r;
    return -1;
}

} // namespace

class TestStudioManners : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_db;
    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        SegScale::Testing::sandboxStudio(m_dir.path(), QStringLiteral("tst_studiomanners"));
        QVERIFY2(QSettings().fileName().startsWith(m_dir.path()), qPrintable(QSettings().fileName()));
        if (cliPath().isEmpty() || !QFile::exists(cliPath()))
            QSKIP("SEGSCALE_CLI is not set: build the segscale target");
        if (!QFile::exists(sharedModel() + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        const QString images = path(QStringLiteral("images"));
        QVERIFY(QDir().mkpath(images));
        for (int i = 0; i < kImages; ++i) {
            QImage img(320, 240, QImage::Format_RGB32);
            QPainter p(&img);
            p.fillRect(0, 0, 320, 90, QColor(120, 170, 230));
            p.fillRect(0, 90, 320, 80, QColor(100 + i, 100, 90));
            p.fillRect(0, 170, 320, 70, QColor(90, 90, 95));
            p.end();
            QVERIFY(img.save(QStringLiteral("%1/street%2.png").arg(images).arg(i)));
        }
        m_db = path(QStringLiteral("study.db"));
        auto created = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("create"), m_db, QStringLiteral("--model"), sharedModel(),
                                      QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("320"),
                                      QStringLiteral("--crop"), QStringLiteral("320"), QStringLiteral("--no-flip")},
                              120000);
        QVERIFY2(created.code == 0, qPrintable(created.err));
        auto added = runCli(cliPath(), {QStringLiteral("study"), QStringLiteral("add"), m_db, images}, 120000);
        QVERIFY2(added.code == 0, qPrintable(added.err));
    }

    void settingsAndShortcutsPersistAcrossWindows()
    {
        QList<int> sizes;
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.activateWindow();
            window.resize(812, 533);
            window.openStudy(m_db);
            QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);
            // Ctrl+3: the third tab; Ctrl+1 back to the first, then Ctrl+2.
            QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
            QCOMPARE(window.tabs()->currentIndex(), 2);
            QTest::keyClick(&window, Qt::Key_1, Qt::ControlModifier);
            QCOMPARE(window.tabs()->currentIndex(), 0);
            window.progressPanel()->splitter()->setSizes({100, 300});
            sizes = window.progressPanel()->splitter()->sizes();
            QVERIFY(sizes.first() * 2 < sizes.last());
            QTest::keyClick(&window, Qt::Key_2, Qt::ControlModifier);
            QCOMPARE(window.tabs()->currentIndex(), 1);
            window.workersView()->horizontalHeader()->resizeSection(WorkersModel::State, 333);
            // Nothing running: closing asks nothing.
            int asked = 0;
            window.setCloseQuestion([&asked] {
                ++asked;
                return MainWindow::CloseChoice::Cancel;
            });
            QVERIFY(window.close());
            QCOMPARE(asked, 0);
            QSettings settings;
            QCOMPARE(settings.value(QStringLiteral("lastStudy")).toString(), QFileInfo(m_db).absoluteFilePath());
        }
        MainWindow again;
        QCOMPARE(again.size(), QSize(812, 533));
        QCOMPARE(again.tabs()->currentIndex(), 1);
        QCOMPARE(again.lastStudy(), QFileInfo(m_db).absoluteFilePath());
        QCOMPARE(again.workersView()->horizontalHeader()->sectionSize(WorkersModel::State), 333);
        // The splitter as it was left (compared before the layout adapts it to a new size).
        QCOMPARE(again.progressPanel()->splitter()->sizes().first(), sizes.first());
        again.show();
        QVERIFY(QTest::qWaitForWindowExposed(&again));

        // F5 without a connection: said, not swallowed.
        again.activateWindow();
        QTest::keyClick(&again, Qt::Key_F5);
        QCOMPARE(again.statusBar()->currentMessage(), QStringLiteral("Not connected: nothing to refresh"));
        // Ctrl+N opens the study-creation dialog.
        QTest::keyClick(&again, Qt::Key_N, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(again.findChildren<NewStudyDialog *>().size(), 1, 5000);
        for (NewStudyDialog *dialog : again.findChildren<NewStudyDialog *>())
            dialog->close();
    }

    void startAgentsDialogBuildsTheRequests()
    {
        StartAgentsDialog dialog;
        dialog.setPage(StartAgentsDialog::Local);
        dialog.localCount()->setValue(2);
        dialog.localThreads()->setValue(1);
        dialog.localDevice()->setCurrentText(QStringLiteral("cpu"));
        QCOMPARE(dialog.request(), (QJsonObject{{QStringLiteral("kind"), QStringLiteral("local")},
                                               {QStringLiteral("count"), 2},
                                               {QStringLiteral("args"), QJsonArray{QStringLiteral("--threads"), QStringLiteral("1"),
                                                                                   QStringLiteral("--device"), QStringLiteral("cpu")}}}));
        dialog.setPage(StartAgentsDialog::Ssh);
        QVERIFY(dialog.request().isEmpty());
        QCOMPARE(dialog.problem(), QStringLiteral("Say which host the agents run on."));
        dialog.sshHost()->setText(QStringLiteral("gpu-node-1:2222"));
        dialog.sshUser()->setText(QStringLiteral("ana"));
        dialog.sshProgram()->setText(QStringLiteral("/opt/segscale/bin/segscale"));
        dialog.sshCount()->setValue(3);
        const QJsonObject ssh = dialog.request();
        QCOMPARE(ssh.value(QStringLiteral("host")).toString(), QStringLiteral("ssh://ana@gpu-node-1:2222"));
        QCOMPARE(ssh.value(QStringLiteral("program")).toString(), QStringLiteral("/opt/segscale/bin/segscale"));
        QCOMPARE(ssh.value(QStringLiteral("count")).toInt(), 3);
        dialog.setPage(StartAgentsDialog::Slurm);
        dialog.slurmPartition()->setText(QStringLiteral("gpu"));
        dialog.slurmArray()->setValue(16);
        dialog.slurmLoginHost()->setText(QStringLiteral("login.cluster"));
        dialog.slurmTemplate()->setText(path(QStringLiteral("no-such-template.sh")));
        QVERIFY(dialog.request().isEmpty());
        QVERIFY2(dialog.problem().startsWith(QStringLiteral("Cannot read the template %1").arg(path(QStringLiteral("no-such-template.sh")))),
                 qPrintable(dialog.problem()));
        QFile t(path(QStringLiteral("batch.sh")));
        QVERIFY(t.open(QIODevice::WriteOnly));
        t.write("#!/bin/sh\n#SBATCH --gres=gpu:1\n{command}\n");
        t.close();
        dialog.slurmTemplate()->setText(t.fileName());
        const QJsonObject slurm = dialog.request();
        QCOMPARE(slurm.value(QStringLiteral("kind")).toString(), QStringLiteral("slurm"));
        QCOMPARE(slurm.value(QStringLiteral("count")).toInt(), 16);
        QCOMPARE(slurm.value(QStringLiteral("partition")).toString(), QStringLiteral("gpu"));
        QCOMPARE(slurm.value(QStringLiteral("host")).toString(), QStringLiteral("ssh://login.cluster"));
        QCOMPARE(slurm.value(QStringLiteral("template")).toString(), QStringLiteral("#!/bin/sh\n#SBATCH --gres=gpu:1\n{command}\n"));

        // An embedded study listens on loopback only: the remote pages say so.
        QVERIFY(dialog.remoteWarning().isEmpty());
        dialog.setAgentUrl(QStringLiteral("ws://127.0.0.1:4567"));
        QVERIFY2(dialog.remoteWarning().contains(QLatin1StringView("only this machine can reach")), qPrintable(dialog.remoteWarning()));
        dialog.setAgentUrl(QString());
        QVERIFY(dialog.remoteWarning().isEmpty());
    }

    void launchedAgentJoinsAndCloseDrainsIt()
    {
        MainWindow window;
        window.connection()->setAgentProgram(cliPath());
        window.show();
        window.openStudy(m_db);
        QTRY_VERIFY2_WITH_TIMEOUT(window.connection()->isConnected(), qPrintable(window.lastFailure()), 30000);

        // A launcher's refusal reaches the user as the launcher's words.
        StartAgentsDialog bad;
        bad.setPage(StartAgentsDialog::Ssh);
        bad.sshHost()->setText(QStringLiteral("127.0.0.1:1"));
        window.workersPage()->launch(bad.request());
        QTRY_VERIFY_WITH_TIMEOUT(window.lastFailure().startsWith(QLatin1StringView("Start 1 agent(s) over SSH on ssh://127.0.0.1:1: ")), 60000);
        qInfo("refused launch said: %s", qPrintable(window.lastFailure()));

        // The dialog's local request starts an agent that joins the embedded coordinator.
        StartAgentsDialog dialog;
        dialog.setPage(StartAgentsDialog::Local);
        dialog.localThreads()->setValue(2);
        dialog.localDevice()->setCurrentText(QStringLiteral("cpu"));
        QJsonArray lastWorkers;
        connect(window.connection(), &StudyConnection::workersUpdated, this, [&lastWorkers](const QJsonArray &w) { lastWorkers = w; });
        window.workersPage()->launch(dialog.request());
        WorkersModel *model = window.workersModel();
        auto cell = [model](int column) {
            const int r = rowNamed(model, QStringLiteral("local"));
            return r < 0 ? QString() : model->index(r, column).data().toString();
        };
        QTRY_VERIFY2_WITH_TIMEOUT(cell(WorkersModel::State) == QLatin1StringView("working") && cell(WorkersModel::Held).toLongLong() > 0,
                                  qPrintable(cell(WorkersModel::State) + window.lastFailure()), 120000);
        QCOMPARE(cell(WorkersModel::Launcher), QStringLiteral("local"));
        QCOMPARE(cell(WorkersModel::Device), QStringLiteral("cpu"));
        QCOMPARE(cell(WorkersModel::Accelerator), QStringLiteral("—"));
        QTRY_VERIFY_WITH_TIMEOUT(window.runIsGoing(), 10000);

        // Close → Cancel: the window stays, the run goes on.
        QList<MainWindow::CloseChoice> answers{MainWindow::CloseChoice::Cancel, MainWindow::CloseChoice::DrainAndClose};
        int asked = 0;
        window.setCloseQuestion([&] { return answers.at(asked++); });
        QVERIFY(!window.close());
        QCOMPARE(asked, 1);
        QVERIFY(window.isVisible());
        QVERIFY(window.connection()->isConnected());

        // Close → Drain and close: still open while the agent finishes what it holds.
        QVERIFY(!window.close());
        QCOMPARE(asked, 2);
        QVERIFY(window.isDrainingToClose());
        QVERIFY(window.isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), 180000);
        QVERIFY(!window.connection()->isConnected());

        // The agent left drained (the coordinator's last word on it before the close).
        bool drained = false;
        for (const QJsonValue &v : lastWorkers) {
            const QJsonObject w = v.toObject();
            if (w.value(QStringLiteral("name")).toString().startsWith(QLatin1StringView("local")))
                drained = w.value(QStringLiteral("state")).toString() == QLatin1StringView("left") &&
                          w.value(QStringLiteral("detail")).toString().startsWith(QLatin1StringView("drained"));
        }
        QVERIFY2(drained, qPrintable(QString::fromUtf8(QJsonDocument(lastWorkers).toJson())));

        // Nothing left leased; every done image has its result committed.
        auto store = Jobs::JobStore::open(m_db);
        QVERIFY(store.ok());
        const qint64 done = *(*store)->imageCount(Jobs::ImageState::Done);
        QCOMPARE(*(*store)->imageCount(Jobs::ImageState::Leased), qint64(0));
        QVERIFY(done > 0);
        QCOMPARE(*(*store)->imageCount(), qint64(kImages));
        QSqlQuery q((*store)->database());
        QVERIFY(q.exec(QStringLiteral("SELECT COUNT(*) FROM results r JOIN images i ON i.id = r.image_id WHERE i.state = 2")) && q.next());
        QCOMPARE(q.value(0).toLongLong(), done);
        qInfo("drained on close: %lld of %d images done, %lld pending", static_cast<long long>(done), kImages,
              static_cast<long long>(*(*store)->imageCount(Jobs::ImageState::Pending)));
    }
};

QTEST_MAIN(TestStudioManners)
#include "tst_studiomanners.moc"
