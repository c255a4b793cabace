#pragma once
// WorkersModel: one row per agent of a study — the agents connected to the coordinator
// and the agents it launched, merged by name, so a launched agent keeps its row (and its
// last counts) from "starting" through "working" to "exited". Fed from
// StudyConnection::workersUpdated; each refresh changes only the rows that changed. A
// connected agent whose last heartbeat is older than twice the heartbeat interval is
// flagged stalled (StalledRole, a background derived from the palette, and a tooltip).
// Agents that left stay listed with why they left (the coordinator remembers them).
// Launcher says how the agent was started: local, ssh or slurm (launched through this
// coordinator) or external (a `segscale agent` started elsewhere). Accelerator shows the
// device's memory and load when the agent reports it (CUDA agents), "—" otherwise.

#include "ui/rowtablemodel.h"

#include <QJsonArray>
#include <QJsonObject>

#include <vector>

namespace SegScale::Ui {

class WorkersModel final : public RowTableModel {
    Q_OBJECT
public:
    enum Column { Name, Host, Launcher, Device, State, ImagesPerSecond, Held, Done, Failed, RssMib, Accelerator, LastHeartbeat, ColumnCount };
    enum Role {
        StalledRole = Qt::UserRole + 1,  // bool
        ConnectedRole,                   // bool: a live session the coordinator can drain or stop
        LaunchIdRole,                    // QString: the launch id, empty for agents started elsewhere
    };

    explicit WorkersModel(QObject *parent = nullptr);

    // The coordinator's heartbeat interval (its welcome); 0 or less: assume 30 s.
    void setHeartbeatSeconds(int seconds);
    // workers: the coordinator's "workers" list; launched: its "launched" list.
    // nowMs is the wall clock the heartbeat ages are measured against.
    void update(const QJsonArray &workers, const QJsonArray &launched, qint64 nowMs);
    void update(const QJsonArray &workers, const QJsonArray &launched);
    void clear();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString name;
        QString host;
        QString device;
        QString state;
        QString detail;
        QString launchId;
        QString launcher;
        QString accelerator;          // empty: none reported
        QString acceleratorTip;
        double imagesPerSecond = -1;  // < 0: not reported yet
        qint64 held = 0;
        qint64 done = 0;
        qint64 failed = 0;
        double rssMib = -1;
        qint64 lastHeartbeatMs = 0;   // 0: none
        qint64 ageSeconds = -1;
        bool connected = false;
        bool stalled = false;
        bool operator==(const Row &) const = default;
    };
    static QString launchedState(const QJsonObject &launched);

    std::vector<Row> m_rows;
    int m_heartbeatSeconds = 0;
};

} // namespace SegScale::Ui
