#pragma once
// WorkersPage: the Workers tab — one table of every agent on every host (WorkersModel)
// and the actions on it: Start agents… (StartAgentsDialog: local, SSH, Slurm), Drain and
// Stop for the selected rows (Delete stops them after asking). Stop also reaches an agent
// that was launched but never connected, through its launch id. Refusals come back from
// the coordinator through StudyConnection::actionFailed; what the page itself refuses
// (draining an agent that is gone) is said through failure().

#include <QJsonObject>
#include <QWidget>

class QAction;
class QTableView;

namespace SegScale::Ui {

class StudyConnection;
class WorkersModel;

class WorkersPage final : public QWidget {
    Q_OBJECT
public:
    explicit WorkersPage(StudyConnection *connection, QWidget *parent = nullptr);

    WorkersModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }

    // Opens the Start agents dialog; on Start, sends its request.
    void startAgents();
    void launch(const QJsonObject &request);
    void startLocalAgents(int count);
    void drainSelected();
    // confirm: ask first (the Delete key).
    void stopSelected(bool confirm = false);
    void updateActions();
    // One PNG per page of the Start agents dialog (start-agents-local.png, -ssh, -slurm).
    QStringList saveDialogScreenshots(const QString &dir);

Q_SIGNALS:
    // Something the user asked for could not be done; the window shows it.
    void failure(const QString &message);
    void status(const QString &message);

private:
    struct Selected {
        QString name;
        QString launchId;
        bool connected = false;
    };
    QList<Selected> selected() const;

    StudyConnection *m_connection;
    WorkersModel *m_model;
    QTableView *m_view;
    QAction *m_start = nullptr;
    QAction *m_drain = nullptr;
    QAction *m_stop = nullptr;
};

} // namespace SegScale::Ui
