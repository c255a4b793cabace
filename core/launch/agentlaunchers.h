#pragma once
// AgentLaunchers: starts `segscale agent` processes for a coordinator — on this machine,
// on SSH hosts, or as Slurm job arrays — and keeps the state and last log lines of each,
// so the coordinator (and through it the desktop app) knows every agent it launched.
// Implements Cluster::LaunchControl: the coordinator forwards admin "launch" requests
// here. The launchers live on a thread of their own, because starting one may block for
// seconds (an SSH connect, an sbatch call).

#include "cluster/launchcontrol.h"
#include "launch/launchspec.h"

#include <QHash>
#include <QJsonObject>
#include <QStringList>
#include <QThread>

#include <memory>
#include <mutex>
#include <vector>

namespace SegScale::Launch {

class Launcher;

class AgentLaunchers final : public Cluster::LaunchControl {
public:
    struct Options {
        QString connectUrl;       // what launched agents connect to (ws[s]://host:port)
        QString tokenFile;        // the agents' token file, as a path on the machine the agent runs on
        QString localProgram;     // segscale on this machine (default: the running executable)
        QString remoteProgram = QStringLiteral("segscale");  // on SSH hosts and Slurm nodes
        QStringList agentArguments;  // added to every agent's command line (e.g. --device cuda)
        QString knownHostsPath;   // for SSH hosts and an SSH Slurm login host
        QString credentialsPath;
        QString slurmScriptDirectory;  // empty: ~/.segscale/slurm on the login host
        QMap<QString, QString> slurmEnvironment;  // for sbatch/squeue/scancel (e.g. SLURM_CONF)
        int slurmPollMs = 3000;
    };

    explicit AgentLaunchers(Options options);
    ~AgentLaunchers() override;  // stops every agent it launched

    void launch(const QJsonObject &request, Reply reply) override;
    void stop(const QString &id, Reply reply) override;
    QJsonArray launched() const override;
    // Runs f for each log line an agent writes (on the launchers' thread), e.g. serve's log.
    void setLogSink(std::function<void(const QString &id, const QString &line)> sink);

private:
    struct Entry;
    void onState(const QString &kind, const QJsonObject &state);

    Options m_options;
    QThread m_thread;
    QObject *m_context = nullptr;                // lives on m_thread; parent of the launchers
    std::vector<Launcher *> m_launchers;         // owned by m_context
    QHash<QString, std::pair<Launcher *, QString>> m_byId;  // external id -> launcher, its own id
    int m_launches = 0;
    mutable std::mutex m_mutex;
    QStringList m_order;
    QHash<QString, QJsonObject> m_states;
    QHash<QString, QStringList> m_logs;
    std::function<void(const QString &, const QString &)> m_logSink;
};

} // namespace SegScale::Launch
