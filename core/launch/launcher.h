#pragma once
// Starts copies of a command line somewhere (this machine, an SSH host, a Slurm cluster)
// and keeps track of each one's state, so the coordinator knows which agents it launched
// are queued, running or gone, and why. Agent-agnostic on purpose: it launches any
// command, which is how the tests check it without an agent.
//
// Lives in one thread (the one it was created in): its signals come from there, and
// start()/stop() may block briefly there (an SSH connect, an sbatch call), so a GUI runs
// a launcher in a worker thread.

#include "base/result.h"
#include "launch/launchedagent.h"
#include "launch/launchspec.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QStringList>

namespace SegScale::Launch {

class Launcher : public QObject {
    Q_OBJECT

public:
    explicit Launcher(QObject *parent = nullptr);
    ~Launcher() override;

    // Starts spec.count copies; returns their ids at once (states follow by signal). An
    // error (nothing was started) when the spec is unusable, the program or batch system
    // cannot be found, or the host cannot be reached or is not trusted.
    virtual Result<QStringList> start(const LaunchSpec &spec) = 0;
    // Asks one copy to end (SIGTERM to its process group, SIGKILL after the grace time;
    // scancel under Slurm). It becomes Stopped once it has ended.
    virtual Result<void> stop(const QString &id) = 0;
    virtual void stopAll() = 0;

    QList<LaunchedAgent> agents() const;
    // An agent with an empty id when there is none with `id`.
    LaunchedAgent agent(const QString &id) const;

Q_SIGNALS:
    void agentStateChanged(const SegScale::Launch::LaunchedAgent &agent);
    // One line (without its newline) of what the command wrote, stdout and stderr alike.
    void logLineReceived(const QString &id, const QString &line);

protected:
    void addAgent(const LaunchedAgent &agent);
    // Records and announces a change; a finished agent never changes again.
    void updateAgent(const QString &id, LaunchedAgent::State state, int exitCode = -1, const QString &detail = {});
    bool isFinished(const QString &id) const;

private:
    QStringList m_order;
    QHash<QString, LaunchedAgent> m_agents;
};

} // namespace SegScale::Launch
