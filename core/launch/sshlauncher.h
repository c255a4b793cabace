#pragma once
// Starts copies of a command on a remote host over SSH (libssh exec channels, one SSH
// session per start()), streams their stdout and stderr back line by line, and stops
// them by killing their remote process group. The host key must already be trusted
// (known_hosts); an unknown or changed key fails start() with a Storage error.
//
// How stop works: sshd runs each command in a session of its own (setsid), so the login
// shell is its process group's leader. The command line first prints that shell's pid
// ($$), then execs the command in the same process; stop() sends SIGTERM to the group
// over another channel, SIGKILL after the grace time. The login shell must be POSIX
// (sh, bash, dash, zsh).

#include "launch/launcher.h"

#include <QHash>
#include <QTimer>

#include <memory>

namespace SegScale::Launch {

class SshConnection;

class SshLauncher final : public Launcher {
    Q_OBJECT

public:
    explicit SshLauncher(QObject *parent = nullptr);
    // Kills what is still running (SIGKILL to each remote group) and disconnects.
    ~SshLauncher() override;

    Result<QStringList> start(const LaunchSpec &spec) override;
    Result<void> stop(const QString &id) override;
    void stopAll() override;

private:
    struct Remote;
    void poll();
    void readChannel(Remote &remote);
    void endRemote(Remote &remote, LaunchedAgent::State state, int exitCode, const QString &detail);
    void signalRemote(Remote &remote, const QString &signal);
    // SIGTERM now, SIGKILL after the grace time if it is still there.
    void terminate(const std::shared_ptr<Remote> &remote);

    QHash<QString, std::shared_ptr<Remote>> m_remotes;
    QTimer m_poll;
    int m_nextId = 1;
};

} // namespace SegScale::Launch
