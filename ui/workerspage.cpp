#include "ui/workerspage.h"

#include "ui/startagentsdialog.h"
#include "ui/studyconnection.h"
#include "ui/workersmodel.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QMessageBox>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace SegScale::Ui {

WorkersPage::WorkersPage(StudyConnection *connection, QWidget *parent)
    : QWidget(parent), m_connection(connection), m_model(new WorkersModel(this)), m_view(new QTableView(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_start = toolbar->addAction(tr("Start agents…"), this, &WorkersPage::startAgents);
    m_start->setToolTip(tr("Start agents on this machine, on an SSH host or as a Slurm job array"));
    m_drain = toolbar->addAction(tr("Drain"), this, &WorkersPage::drainSelected);
    m_drain->setToolTip(tr("The selected agents finish the images they hold, then leave"));
    m_stop = toolbar->addAction(tr("Stop"), this, [this] { stopSelected(false); });
    m_stop->setToolTip(tr("The selected agents stop now; the images they held go back to pending (Delete)"));
    layout->addWidget(toolbar);

    // Delete on the table: stop, after asking.
    auto *stopKey = new QAction(tr("Stop selected agents"), m_view);
    stopKey->setShortcut(QKeySequence::Delete);
    stopKey->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(stopKey, &QAction::triggered, this, [this] { stopSelected(true); });
    m_view->addAction(stopKey);

    m_view->setObjectName(QStringLiteral("workersView"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setSectionResizeMode(WorkersModel::State, QHeaderView::Interactive);
    m_view->horizontalHeader()->resizeSection(WorkersModel::State, 220);
    layout->addWidget(m_view);

    connect(m_connection, &StudyConnection::connected, this, [this] {
        m_model->setHeartbeatSeconds(m_connection->heartbeatSeconds());
        updateActions();
    });
    connect(m_connection, &StudyConnection::disconnected, this, &WorkersPage::updateActions);
    connect(m_connection, &StudyConnection::workersUpdated, this,
            [this](const QJsonArray &workers, const QJsonArray &launched) { m_model->update(workers, launched); });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &WorkersPage::updateActions);
    connect(m_model, &QAbstractItemModel::dataChanged, this, &WorkersPage::updateActions);
    updateActions();
}

void WorkersPage::startAgents()
{
    StartAgentsDialog dialog(this);
    dialog.setAgentUrl(m_connection->agentUrl());
    if (dialog.exec() == QDialog::Accepted)
        launch(dialog.request());
}

void WorkersPage::launch(const QJsonObject &request)
{
    const int count = request.value(QStringLiteral("count")).toInt(1);
    Q_EMIT status(tr("Starting %n agent(s)…", nullptr, count));
    m_connection->launch(request);
}

void WorkersPage::startLocalAgents(int count)
{
    launch(QJsonObject{{QStringLiteral("kind"), QStringLiteral("local")}, {QStringLiteral("count"), count}});
}

QList<WorkersPage::Selected> WorkersPage::selected() const
{
    QList<Selected> out;
    if (!m_view->selectionModel())
        return out;
    for (const QModelIndex &row : m_view->selectionModel()->selectedRows())
        out.append(Selected{m_model->index(row.row(), WorkersModel::Name).data().toString(), row.data(WorkersModel::LaunchIdRole).toString(),
                            row.data(WorkersModel::ConnectedRole).toBool()});
    return out;
}

void WorkersPage::drainSelected()
{
    for (const Selected &s : selected()) {
        if (!s.connected)
            Q_EMIT failure(tr("Drain %1: it is not connected to the coordinator").arg(s.name));
        else
            m_connection->drain(s.name);
    }
}

void WorkersPage::stopSelected(bool confirm)
{
    const QList<Selected> rows = selected();
    if (rows.isEmpty())
        return;
    if (confirm) {
        QStringList names;
        for (const Selected &s : rows)
            names << s.name;
        const auto answer = QMessageBox::question(this, tr("Stop agents"),
                                                  tr("Stop %1 now? The images they hold go back to pending.").arg(names.join(QStringLiteral(", "))),
                                                  QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes)
            return;
    }
    for (const Selected &s : rows) {
        if (s.connected)
            m_connection->stop(s.name);
        else if (!s.launchId.isEmpty())
            m_connection->stopLaunched(s.launchId);  // started but not (or no longer) connected
        else
            Q_EMIT failure(tr("Stop %1: it is not connected to the coordinator").arg(s.name));
    }
}

QStringList WorkersPage::saveDialogScreenshots(const QString &dir)
{
    QStringList written;
    const std::pair<StartAgentsDialog::Page, QString> pages[] = {{StartAgentsDialog::Local, QStringLiteral("start-agents-local.png")},
                                                                 {StartAgentsDialog::Ssh, QStringLiteral("start-agents-ssh.png")},
                                                                 {StartAgentsDialog::Slurm, QStringLiteral("start-agents-slurm.png")}};
    for (const auto &[page, name] : pages) {
        StartAgentsDialog dialog(this);
        dialog.setAgentUrl(m_connection->agentUrl());
        dialog.setPage(page);
        dialog.show();
        QApplication::processEvents();
        const QString path = QDir(dir).filePath(name);
        if (dialog.grab().save(path))
            written << path;
        dialog.close();
    }
    return written;
}

void WorkersPage::updateActions()
{
    const bool online = m_connection->isConnected();
    bool anyConnected = false, anyStoppable = false;
    const QList<Selected> rows = selected();
    for (const Selected &s : rows) {
        anyConnected = anyConnected || s.connected;
        anyStoppable = anyStoppable || s.connected || !s.launchId.isEmpty();
    }
    m_start->setEnabled(online);
    m_drain->setEnabled(online && anyConnected);
    m_stop->setEnabled(online && anyStoppable);
}

} // namespace SegScale::Ui
