#include "ui/mainwindow.h"

#include "ui/connectdialog.h"
#include "ui/errorsmodel.h"
#include "ui/progresspanel.h"
#include "ui/imageviewer.h"
#include "ui/resultsmodel.h"
#include "ui/resultspage.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
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
    : QMainWindow(parent), m_connection(new StudyConnection(this)), m_workers(new WorkersModel(this)),
      m_progress(new ProgressPanel), m_tabs(new QTabWidget(this)), m_workersView(new QTableView),
      m_errors(new ErrorsModel(m_connection, this)), m_results(new ResultsModel(m_connection, this)), m_errorsView(new QTableView),
      m_resultsView(new QTableView), m_connectionLabel(new QLabel(this))
{
    setWindowTitle(tr("SegScale Studio"));
    m_tabs->addTab(m_progress, tr("&Progress"));

    auto *workersPage = new QWidget;
    auto *workersLayout = new QVBoxLayout(workersPage);
    workersLayout->setContentsMargins(0, 0, 0, 0);
    auto *toolbar = new QToolBar(workersPage);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_startAgents = toolbar->addAction(tr("Start local agents…"), this, [this] {
        bool ok = false;
        const int n = QInputDialog::getInt(this, tr("Start local agents"),
                                           tr("Agents to start on this machine (each runs `segscale agent`):"), 1, 1, 64, 1, &ok);
        if (ok)
            startLocalAgents(n);
    });
    m_drain = toolbar->addAction(tr("Drain"), this, &MainWindow::drainSelected);
    m_drain->setToolTip(tr("The selected agent finishes the images it holds, then leaves"));
    m_stop = toolbar->addAction(tr("Stop"), this, &MainWindow::stopSelected);
    m_stop->setToolTip(tr("The selected agent stops now; the images it held go back to pending"));
    workersLayout->addWidget(toolbar);
    m_workersView->setModel(m_workers);
    m_workersView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_workersView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_workersView->setAlternatingRowColors(true);
    m_workersView->verticalHeader()->hide();
    m_workersView->horizontalHeader()->setStretchLastSection(true);
    m_workersView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    workersLayout->addWidget(m_workersView);
    m_tabs->addTab(workersPage, tr("&Workers"));
    m_tabs->addTab(createErrorsPage(), tr("&Errors"));
    m_tabs->addTab(createResultsPage(), tr("&Results"));
    setCentralWidget(m_tabs);

    statusBar()->addPermanentWidget(m_connectionLabel);
    m_connectionLabel->setText(tr("Not connected"));
    createMenus();

    connect(m_connection, &StudyConnection::connected, this, [this] {
        m_attaching = false;
        m_workers->setHeartbeatSeconds(m_connection->heartbeatSeconds());
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
        m_errors->reload();
        m_results->reload();
    });
    connect(m_connection, &StudyConnection::summaryUpdated, this, [this](const QJsonObject &s) {
        m_progress->setSummary(s);
        QStringList classes;
        for (const auto &c : s.value(QStringLiteral("classes")).toArray())
            classes << c.toString();
        m_results->setClasses(classes);
        updateTitle();
    });
    // New results and failures show up at the top only: a user who scrolled down stays put.
    connect(m_connection, &StudyConnection::studyChanged, this, [this] {
        m_errors->refreshTop();
        m_results->refreshTop();
    });
    connect(m_connection, &StudyConnection::workersUpdated, this,
            [this](const QJsonArray &workers, const QJsonArray &launched) { m_workers->update(workers, launched); });
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
    connect(m_workersView->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::updateActions);
    connect(m_workers, &QAbstractItemModel::dataChanged, this, &MainWindow::updateActions);

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray()))
        resize(960, 560);
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("mainWindow/tab"), 0).toInt());
    updateActions();
}

MainWindow::~MainWindow() = default;

namespace {

QTableView *setUpTable(QTableView *view)
{
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->setTextElideMode(Qt::ElideMiddle);  // a path's file name is its most telling part
    view->verticalHeader()->hide();
    // Dense rows: a study's tables are read by scanning many of them.
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    return view;
}

} // namespace

QWidget *MainWindow::createErrorsPage()
{
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *toolbar = new QToolBar(page);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    toolbar->addWidget(new QLabel(tr("Category: "), toolbar));
    m_category = new QComboBox(toolbar);
    m_category->addItem(tr("all"), QString());
    for (const QString &c : ErrorsModel::categories())
        m_category->addItem(c, c);
    toolbar->addWidget(m_category);
    connect(m_category, &QComboBox::currentIndexChanged, this, [this] {
        m_errors->setCategory(m_category->currentData().toString());
        updateActions();
    });
    toolbar->addSeparator();
    m_retryCategory = toolbar->addAction(tr("Retry this category"), this, &MainWindow::retryCategory);
    m_retryCategory->setToolTip(tr("The failed images of the chosen category go back to pending"));
    m_retryAll = toolbar->addAction(tr("Retry all failed"), this, &MainWindow::retryAll);
    m_retryAll->setToolTip(tr("Every failed image goes back to pending"));
    toolbar->addSeparator();
    toolbar->addAction(tr("Reload"), m_errors, &KeysetTableModel::reload);
    layout->addWidget(toolbar);
    m_errorsView->setModel(m_errors);
    setUpTable(m_errorsView);
    QHeaderView *header = m_errorsView->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    // The message (what went wrong) takes what is left, not the date at the end; the
    // image keeps a width people can change; the short columns fit their contents.
    header->resizeSection(ErrorsModel::Image, 280);
    header->setSectionResizeMode(ErrorsModel::Category, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::Worker, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::When, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::Message, QHeaderView::Stretch);
    layout->addWidget(m_errorsView);
    return page;
}

QWidget *MainWindow::createResultsPage()
{
    m_resultsPage = new ResultsPage(m_connection, m_results, m_resultsView);
    return m_resultsPage;
}

void MainWindow::retryCategory()
{
    retry(m_category->currentData().toString());
}

void MainWindow::retryAll()
{
    retry({});
}

void MainWindow::retry(const QString &category)
{
    m_connection->retry(category, this, [this, category](qint64 count) {
        statusBar()->showMessage(category.isEmpty() ? tr("%n failed image(s) back to pending", nullptr, static_cast<int>(count))
                                                    : tr("%n %1 failure(s) back to pending", nullptr, static_cast<int>(count)).arg(category),
                                 10000);
        m_errors->reload();
    });
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open study…"), this, [this] {
        QSettings settings;
        const QString f = QFileDialog::getOpenFileName(this, tr("Open study"), settings.value(QStringLiteral("lastStudyDir")).toString(),
                                                       tr("SegScale studies (*.db *.sqlite);;All files (*)"));
        if (f.isEmpty())
            return;
        settings.setValue(QStringLiteral("lastStudyDir"), QFileInfo(f).absolutePath());
        openStudy(f);
    });
    open->setShortcut(QKeySequence::Open);
    QAction *connectAction = file->addAction(tr("&Connect…"), this, [this] {
        ConnectDialog dialog(this);
        if (dialog.exec() == QDialog::Accepted)
            connectTo(dialog.url(), dialog.tokenFile());
    });
    connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    file->addAction(tr("&Disconnect"), this, [this] {
        m_closing = true;
        m_connection->close();
        m_closing = false;
    });
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
}

void MainWindow::openStudy(const QString &database)
{
    m_errors->clear();
    m_results->clear();
    m_workers->clear();
    m_progress->clear();
    m_attaching = true;
    m_connectionLabel->setText(tr("Opening %1…").arg(QDir::toNativeSeparators(database)));
    m_closing = true;  // the connection open now, if any, is closed first
    m_connection->close();
    m_closing = false;
    m_connection->openEmbedded(database);
}

void MainWindow::connectTo(const QUrl &url, const QString &adminTokenFile)
{
    m_errors->clear();
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
    statusBar()->showMessage(tr("Starting %n local agent(s)…", nullptr, count), 5000);
    m_connection->launchLocal(count);
}

QString MainWindow::selectedAgent(bool *connected, QString *launchId) const
{
    const QModelIndexList rows = m_workersView->selectionModel() ? m_workersView->selectionModel()->selectedRows() : QModelIndexList{};
    if (rows.isEmpty())
        return {};
    const QModelIndex row = rows.first();
    *connected = row.data(WorkersModel::ConnectedRole).toBool();
    *launchId = row.data(WorkersModel::LaunchIdRole).toString();
    return m_workers->index(row.row(), WorkersModel::Name).data().toString();
}

void MainWindow::drainSelected()
{
    bool connected = false;
    QString launchId;
    const QString name = selectedAgent(&connected, &launchId);
    if (name.isEmpty())
        return;
    if (!connected) {
        showFailure(tr("Drain %1: it is not connected to the coordinator").arg(name), true);
        return;
    }
    m_connection->drain(name);
}

void MainWindow::stopSelected()
{
    bool connected = false;
    QString launchId;
    const QString name = selectedAgent(&connected, &launchId);
    if (name.isEmpty())
        return;
    if (connected)
        m_connection->stop(name);
    else if (!launchId.isEmpty())
        m_connection->stopLaunched(launchId);  // started but not (or no longer) connected
    else
        showFailure(tr("Stop %1: it is not connected to the coordinator").arg(name), true);
}

void MainWindow::updateActions()
{
    bool connected = false;
    QString launchId;
    const bool online = m_connection->isConnected();
    const bool selected = !selectedAgent(&connected, &launchId).isEmpty();
    m_startAgents->setEnabled(online);
    m_drain->setEnabled(online && selected && connected);
    m_stop->setEnabled(online && selected && (connected || !launchId.isEmpty()));
    m_retryCategory->setEnabled(online && !m_category->currentData().toString().isEmpty());
    m_retryAll->setEnabled(online);
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
                            QStringLiteral("results.png")};
    for (int i = 0; i < m_tabs->count() && i < names.size(); ++i) {
        m_tabs->setCurrentIndex(i);
        QApplication::processEvents();
        const QString path = QDir(dir).filePath(names[i]);
        if (grab().save(path))
            written << path;
    }
    m_tabs->setCurrentIndex(current);
    // The image viewer, when one is open (--screenshot opens the first result).
    if (m_resultsPage && m_resultsPage->viewer()) {
        QApplication::processEvents();
        const QString path = QDir(dir).filePath(QStringLiteral("viewer.png"));
        if (m_resultsPage->viewer()->grab().save(path))
            written << path;
    }
    return written;
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/tab"), m_tabs->currentIndex());
    // Agents this window launched are stopped; their leases return to pending.
    m_closing = true;
    m_connection->close();
    m_closing = false;
    QMainWindow::closeEvent(event);
}

} // namespace SegScale::Ui
