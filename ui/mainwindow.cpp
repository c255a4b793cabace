#include "ui/mainwindow.h"

#include "ui/auditpage.h"
#include "ui/connectdialog.h"
#include "ui/datasourcedialog.h"
#include "ui/errorsmodel.h"
#include "ui/errorspage.h"
#include "ui/newstudydialog.h"
#include "ui/progresspanel.h"
#include "ui/imageviewer.h"
#include "ui/resultsmodel.h"
#include "ui/resultspage.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"
#include "ui/workerspage.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace SegScale::Ui {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), m_connection(new StudyConnection(this)), m_workersPage(new WorkersPage(m_connection)),
      m_workers(m_workersPage->model()), m_progress(new ProgressPanel), m_tabs(new QTabWidget(this)),
      m_errorsPage(new ErrorsPage(m_connection)), m_auditPage(new AuditPage(m_connection)), m_results(new ResultsModel(m_connection, this)),
      m_resultsView(new QTableView), m_connectionLabel(new QLabel(this))
{
    setWindowTitle(tr("SegScale Studio"));
    setObjectName(QStringLiteral("mainWindow"));
    m_tabs->addTab(m_progress, tr("&Progress"));
    m_tabs->addTab(m_workersPage, tr("&Workers"));
    connect(m_workersPage, &WorkersPage::failure, this, [this](const QString &m) { showFailure(m, true); });
    connect(m_workersPage, &WorkersPage::status, this, [this](const QString &m) { statusBar()->showMessage(m, 5000); });
    m_tabs->addTab(m_errorsPage, tr("&Errors"));
    m_tabs->addTab(createResultsPage(), tr("&Results"));
    m_tabs->addTab(m_auditPage, tr("&Audit"));
    // The audit shows its sample in the same viewer as the results (overlay, legend, class
    // under the cursor), fed with the classes and palette the Results page read.
    auto *auditViewer = new ImageViewer(m_connection);
    m_auditPage->setImageViewer(auditViewer, [auditViewer](const QJsonObject &row) {
        if (!row.isEmpty())
            auditViewer->showResult(row);
    });
    connect(m_resultsPage, &ResultsPage::compositionLoaded, auditViewer, [this, auditViewer] {
        QStringList classes;
        for (const auto &c : m_resultsPage->composition().value(QStringLiteral("classes")).toArray())
            classes << c.toString();
        auditViewer->setClasses(classes, m_resultsPage->palette());
    });
    const auto showStatus = [this](const QString &message) { statusBar()->showMessage(message, 10000); };
    connect(m_errorsPage, &ErrorsPage::statusMessage, this, showStatus);
    connect(m_auditPage, &AuditPage::statusMessage, this, showStatus);
    connect(m_errorsPage, &ErrorsPage::failed, this, [this](const QString &message) { showFailure(message, true); });
    setCentralWidget(m_tabs);

    statusBar()->addPermanentWidget(m_connectionLabel);
    m_connectionLabel->setText(tr("Not connected"));
    createMenus();

    connect(m_connection, &StudyConnection::connected, this, [this] {
        m_attaching = false;
        QString text = tr("Connected: %1").arg(m_connection->describe());
        if (m_connection->isEmbedded())
            text += tr(" · agents join at %1").arg(m_connection->agentUrl());
        m_connectionLabel->setText(text);
        m_connectionLabel->setToolTip(m_connection->isEmbedded()
                                          ? tr("External agents: segscale agent --connect %1 --token-file %2")
                                                .arg(m_connection->agentUrl(), m_connection->agentTokenFile())
                                          : QString());
        updateTitle();
        updateActions();
        m_errorsPage->reload();
        m_results->reload();
    });
    connect(m_connection, &StudyConnection::summaryUpdated, this, [this](const QJsonObject &s) {
        m_progress->setSummary(s);
        QStringList classes;
        for (const auto &c : s.value(QStringLiteral("classes")).toArray())
            classes << c.toString();
        m_results->setClasses(classes);
        m_auditPage->setClasses(classes);
        updateTitle();
    });
    // New results and failures show up at the top only: a user who scrolled down stays put.
    connect(m_connection, &StudyConnection::studyChanged, this, [this] {
        m_errorsPage->refreshTop();
        m_results->refreshTop();
    });
    connect(m_connection, &StudyConnection::datasetsUpdated, m_progress, &ProgressPanel::setDatasets);
    connect(m_connection, &StudyConnection::throughputUpdated, m_progress, &ProgressPanel::setThroughput);
    connect(m_connection, &StudyConnection::failed, this, [this](const QString &message) {
        // Failures of a connection being made are answers to the user; refresh errors are not.
        showFailure(message, m_attaching);
        m_attaching = false;
    });
    connect(m_connection, &StudyConnection::actionFailed, this, [this](const QString &message) { showFailure(message, true); });
    connect(m_connection, &StudyConnection::disconnected, this, [this] {
        // Nobody asked for this one: the coordinator went away (its failure is the reason).
        if (!m_closing && !m_attaching && !m_lastFailure.isEmpty())
            showFailure(m_lastFailure, true);
        m_connectionLabel->setText(tr("Not connected"));
        m_connectionLabel->setToolTip({});
        updateTitle();
        updateActions();
    });
    // Drain and close: once no agent is connected any more, the window closes.
    m_drainWatch.setInterval(250);
    connect(&m_drainWatch, &QTimer::timeout, this, [this] {
        if (m_connection->isConnected() && runIsGoing())
            return;
        bool anyAgent = false;
        for (const QJsonValue &v : m_connection->lastWorkers()) {
            const QString state = v.toObject().value(QStringLiteral("state")).toString();
            anyAgent = anyAgent || (state != QLatin1StringView("left") && state != QLatin1StringView("refused"));
        }
        if (anyAgent && m_connection->isConnected())
            return;
        m_drainWatch.stop();
        m_closeNow = true;
        close();
    });

    restoreSettings();
    updateActions();
}

QTableView *MainWindow::workersView() const
{
    return m_workersPage->view();
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray()))
        resize(1100, 680);
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("mainWindow/tab"), 0).toInt());
    m_lastStudy = settings.value(QStringLiteral("lastStudy")).toString();
    m_progress->splitter()->restoreState(settings.value(QStringLiteral("progress/splitter")).toByteArray());
    m_workersPage->view()->horizontalHeader()->restoreState(settings.value(QStringLiteral("workers/columns")).toByteArray());
    errorsView()->horizontalHeader()->restoreState(settings.value(QStringLiteral("errors/columns")).toByteArray());
}

void MainWindow::saveSettings()
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    settings.setValue(QStringLiteral("mainWindow/tab"), m_tabs->currentIndex());
    if (!m_lastStudy.isEmpty())
        settings.setValue(QStringLiteral("lastStudy"), m_lastStudy);
    settings.setValue(QStringLiteral("progress/splitter"), m_progress->splitter()->saveState());
    settings.setValue(QStringLiteral("workers/columns"), m_workersPage->view()->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("errors/columns"), errorsView()->horizontalHeader()->saveState());
}

MainWindow::~MainWindow() = default;

QWidget *MainWindow::createResultsPage()
{
    m_resultsPage = new ResultsPage(m_connection, m_results, m_resultsView);
    return m_resultsPage;
}

ErrorsModel *MainWindow::errorsModel() const
{
    return m_errorsPage->model();
}

QTableView *MainWindow::errorsView() const
{
    return m_errorsPage->view();
}

QComboBox *MainWindow::categoryBox() const
{
    return m_errorsPage->categoryBox();
}

void MainWindow::retryCategory()
{
    m_errorsPage->retryCategory();
}

void MainWindow::retryAll()
{
    m_errorsPage->retryAll();
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_newStudy = file->addAction(tr("&New study…"), this, [this] {
        auto *dialog = new NewStudyDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &NewStudyDialog::studyCreated, this, &MainWindow::openStudy);
        dialog->open();
    });
    m_newStudy->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(tr("&Open study…"), this, [this] {
        QSettings settings;
        const QString f = QFileDialog::getOpenFileName(this, tr("Open study"), settings.value(QStringLiteral("lastStudyDir")).toString(),
                                                       tr("SegScale studies (*.db *.sqlite);;All files (*)"));
        if (f.isEmpty())
            return;
        settings.setValue(QStringLiteral("lastStudyDir"), QFileInfo(f).absolutePath());
        openStudy(f);
    });
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_O));
    QAction *reopen = file->addAction(tr("Open &last study"), this, [this] {
        if (m_lastStudy.isEmpty())
            showFailure(tr("No study was opened before"), true);
        else
            openStudy(m_lastStudy);
    });
    reopen->setObjectName(QStringLiteral("reopenAction"));
    QAction *connectAction = file->addAction(tr("&Connect…"), this, [this] {
        ConnectDialog dialog(this);
        if (dialog.exec() == QDialog::Accepted)
            connectTo(dialog.url(), dialog.tokenFile());
    });
    connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    file->addAction(tr("&Disconnect"), this, [this] {
        m_closing = true;
        m_connection->close();
        m_closing = false;
    });
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *refresh = view->addAction(tr("&Refresh"), this, &MainWindow::refreshAll);
    refresh->setShortcut(QKeySequence(Qt::Key_F5));
    view->addSeparator();
    // Ctrl+1..6: the tabs in order (the ones other parts of the app add included).
    for (int i = 0; i < 6; ++i) {
        QAction *tab = view->addAction(tr("Tab %1").arg(i + 1), this, [this, i] {
            if (i < m_tabs->count())
                m_tabs->setCurrentIndex(i);
        });
        tab->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)));
    }
    QMenu *workers = menuBar()->addMenu(tr("&Agents"));
    workers->addAction(tr("&Start agents…"), m_workersPage, &WorkersPage::startAgents);
    workers->addAction(tr("&Drain selected"), m_workersPage, &WorkersPage::drainSelected);
    workers->addAction(tr("S&top selected…"), m_workersPage, [this] { m_workersPage->stopSelected(true); });

    QMenu *study = menuBar()->addMenu(tr("&Study"));
    study->setToolTipsVisible(true);  // a disabled entry says why
    m_addDataSource = study->addAction(tr("&Add data source…"), this, [this] {
        auto *dialog = new DataSourceDialog(m_connection->database(), this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &DataSourceDialog::imagesAdded, this, [this](qint64 added) {
            statusBar()->showMessage(tr("%n image(s) added to the study", nullptr, int(added)), 5000);
            m_connection->refresh();
        });
        dialog->open();
    });
}

void MainWindow::refreshAll()
{
    if (!m_connection->isConnected()) {
        statusBar()->showMessage(tr("Not connected: nothing to refresh"), 5000);
        return;
    }
    m_connection->refresh();
    m_errorsPage->reload();
    m_results->reload();
}

void MainWindow::openStudy(const QString &database)
{
    m_errorsPage->clear();
    m_auditPage->clear();
    m_results->clear();
    m_workers->clear();
    m_progress->clear();
    m_attaching = true;
    m_connectionLabel->setText(tr("Opening %1…").arg(QDir::toNativeSeparators(database)));
    m_closing = true;  // the connection open now, if any, is closed first
    m_connection->close();
    m_closing = false;
    m_lastStudy = QFileInfo(database).absoluteFilePath();
    QSettings().setValue(QStringLiteral("lastStudy"), m_lastStudy);
    m_connection->openEmbedded(database);
}

void MainWindow::connectTo(const QUrl &url, const QString &adminTokenFile)
{
    m_errorsPage->clear();
    m_auditPage->clear();
    m_results->clear();
    m_workers->clear();
    m_progress->clear();
    m_attaching = true;
    m_connectionLabel->setText(tr("Connecting to %1…").arg(url.toString()));
    m_closing = true;  // the connection open now, if any, is closed first
    m_connection->close();
    m_closing = false;
    m_connection->openRemote(url, adminTokenFile);
}

void MainWindow::startLocalAgents(int count)
{
    m_workersPage->startLocalAgents(count);
}

void MainWindow::drainSelected()
{
    m_workersPage->drainSelected();
}

void MainWindow::stopSelected()
{
    m_workersPage->stopSelected(false);
}

void MainWindow::updateActions()
{
    const bool online = m_connection->isConnected();
    m_workersPage->updateActions();
    // Adding images writes the study file, which only an embedded coordinator's host has.
    m_addDataSource->setEnabled(online && m_connection->isEmbedded());
    m_addDataSource->setToolTip(!online ? tr("Open a study first.")
                                : m_connection->isEmbedded() ? tr("Add a local folder or an SFTP folder to the study.")
                                                             : tr("This study is served remotely: add data on the server with "
                                                                  "`segscale study add STUDY.db PATH`."));
    m_addDataSource->setStatusTip(m_addDataSource->toolTip());
}

void MainWindow::updateTitle()
{
    if (!m_connection->isConnected()) {
        setWindowTitle(tr("SegScale Studio"));
        return;
    }
    setWindowTitle(tr("%1% · %2 — SegScale Studio").arg(m_progress->percent()).arg(m_connection->describe()));
}

void MainWindow::showFailure(const QString &message, bool ask)
{
    m_lastFailure = message;
    statusBar()->showMessage(message);
    if (!ask)
        return;
    // Window-modal and not exec(): the window keeps updating behind it.
    auto *box = new QMessageBox(QMessageBox::Warning, tr("SegScale Studio"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

QStringList MainWindow::saveScreenshots(const QString &dir)
{
    QStringList written;
    if (!QDir().mkpath(dir))
        return written;
    const int current = m_tabs->currentIndex();
    const QStringList names{QStringLiteral("progress.png"), QStringLiteral("workers.png"), QStringLiteral("errors.png"),
                            QStringLiteral("results.png"), QStringLiteral("audit.png")};
    for (int i = 0; i < m_tabs->count() && i < names.size(); ++i) {
        m_tabs->setCurrentIndex(i);
        QApplication::processEvents();
        const QString path = QDir(dir).filePath(names[i]);
        if (grab().save(path))
            written << path;
    }
    m_tabs->setCurrentIndex(current);
    written += m_workersPage->saveDialogScreenshots(dir);
    // The two study dialogs, shown non-modally for a moment.
    const QStringList models = NewStudyDialog::standardModelFolders();
    const QString model = qEnvironmentVariable("SEGSCALE_SCREENSHOT_MODEL", models.value(0));
    if (const QString path = NewStudyDialog::saveScreenshot(this, model, QDir(dir).filePath(QStringLiteral("newstudy.png"))); !path.isEmpty())
        written << path;
    if (const QString path = DataSourceDialog::saveScreenshot(this, m_connection->database(), QDir(dir).filePath(QStringLiteral("datasource.png")));
        !path.isEmpty())
        written << path;
    // The image viewer, when one is open (--screenshot opens the first result).
    if (m_resultsPage && m_resultsPage->viewer()) {
        QApplication::processEvents();
        const QString path = QDir(dir).filePath(QStringLiteral("viewer.png"));
        if (m_resultsPage->viewer()->grab().save(path))
            written << path;
    }
    return written;
}

bool MainWindow::runIsGoing() const
{
    if (!m_connection->isEmbedded() || !m_connection->isConnected())
        return false;
    const qint64 pending = static_cast<qint64>(m_connection->lastSummary().value(QStringLiteral("pending")).toDouble());
    for (const QJsonValue &v : m_connection->lastWorkers()) {
        const QJsonObject w = v.toObject();
        const QString state = w.value(QStringLiteral("state")).toString();
        if (state == QLatin1StringView("left") || state == QLatin1StringView("refused"))
            continue;
        if (pending > 0 || w.value(QStringLiteral("held")).toDouble() > 0)
            return true;
    }
    return false;
}

MainWindow::CloseChoice MainWindow::askClose()
{
    QMessageBox box(QMessageBox::Question, tr("SegScale Studio"),
                    tr("Agents are segmenting this study. Closing stops them; the images they hold go back to pending "
                       "and are segmented again later."),
                    QMessageBox::NoButton, this);
    box.setInformativeText(tr("Drain lets each agent finish the images it holds, commits their results, then closes."));
    QPushButton *drain = box.addButton(tr("Drain the agents and close"), QMessageBox::AcceptRole);
    QPushButton *now = box.addButton(tr("Close now"), QMessageBox::DestructiveRole);
    box.addButton(QMessageBox::Cancel);
    box.setDefaultButton(drain);
    box.exec();
    if (box.clickedButton() == drain)
        return CloseChoice::DrainAndClose;
    if (box.clickedButton() == now)
        return CloseChoice::CloseNow;
    return CloseChoice::Cancel;
}

void MainWindow::drainAndClose()
{
    m_drainingToClose = true;
    const int asked = m_connection->drainAll();
    statusBar()->showMessage(tr("Draining %n agent(s): the window closes once they have finished their images…", nullptr, asked));
    m_drainWatch.start();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    // A second close while draining: the user insists, close now.
    if (!m_closeNow && !m_drainingToClose && runIsGoing()) {
        switch (m_askClose ? m_askClose() : askClose()) {
        case CloseChoice::Cancel:
            event->ignore();
            return;
        case CloseChoice::DrainAndClose:
            event->ignore();
            drainAndClose();
            return;
        case CloseChoice::CloseNow:
            break;
        }
    }
    m_drainWatch.stop();
    m_drainingToClose = false;
    m_closeNow = false;
    saveSettings();
    // Agents this window launched are stopped; their leases return to pending.
    m_closing = true;
    m_connection->close();
    m_closing = false;
    QMainWindow::closeEvent(event);
}

} // namespace SegScale::Ui
