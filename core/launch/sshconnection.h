#pragma once
// One logged-in SSH session to a host that runs commands for a launcher: exec channels
// for long-running commands (SshLauncher streams them) and short ones run to completion
// (SshCommandRunner). Connects, checks the host key and logs in exactly as SFTP storage
// does (Storage::sshHandshake/sshAuthenticate): an unknown or changed host key is an
// error, never accepted here.
//
// Not thread-safe; used from its owner's thread only. libssh types stay out of this
// header except as opaque pointers.

#include "base/result.h"
#include "launch/commandoutput.h"
#include "launch/launchspec.h"

#include <QString>

#include <memory>

struct ssh_session_struct;
struct ssh_channel_struct;

namespace SegScale::Launch {

class SshConnection {
public:
    // Parses spec.host (ssh://user@host:port), loads the credentials file and logs in.
    // Errors: Usage (bad URL, unreadable credentials file), Storage (unreachable host,
    // unknown or changed host key, login refused) — each names the host.
    static Result<std::unique_ptr<SshConnection>> open(const LaunchSpec::Ssh &spec);
    // The host URL as messages may show it: without a password, should it hold one.
    static QString displayHost(const QString &hostUrl);
    ~SshConnection();
    SshConnection(const SshConnection &) = delete;
    SshConnection &operator=(const SshConnection &) = delete;

    // Starts `command` (a line for the remote login shell) on a new channel.
    Result<ssh_channel_struct *> exec(const QString &command);
    // Runs `command` to completion, feeding `input` to its stdin.
    Result<CommandOutput> run(const QString &command, const QByteArray &input, int timeoutMs);

    bool isConnected() const;
    // "user@host:port", for messages.
    QString where() const { return m_where; }
    ssh_session_struct *session() const { return m_ssh; }

private:
    SshConnection() = default;

    ssh_session_struct *m_ssh = nullptr;
    QString m_where;
};

} // namespace SegScale::Launch
