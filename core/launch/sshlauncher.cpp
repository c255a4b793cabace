#include "launch/sshlauncher.h"

#include "launch/linebuffer.h"
#include "launch/shellcommand.h"
#include "launch/sshconnection.h"
#include "storage/sshsession.h"

#include <libssh/libssh.h>

namespace SegScale::Launch {

namespace {
// The first line every launched command prints: its process group on the remote host.
const QString kPidMarker = QStringLiteral("segscale-launch-pid ");
constexpr int kPollMs = 50;
} // namespace

struct SshLauncher::Remote {
    QString id;
    std::shared_ptr<SshConnection> connection;
    ssh_channel channel = nullptr;
    LineBuffer out;
    LineBuffer err;
    qint64 pid = 0;
    int graceMs = 5000;
    bool stopRequested = false;

    void closeChannel()
    {
        if (!channel)
            return;
        ssh_channel_close(channel);
        ssh_channel_free(channel);
        channel = nullptr;
    }
};

SshLauncher::SshLauncher(QObject *parent)
    : Launcher(parent)
{
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &SshLauncher::poll);
}

SshLauncher::~SshLauncher()
{
    for (const auto &remote : std::as_const(m_remotes)) {
        if (remote->channel && remote->pid > 0 && remote->connection->isConnected())
            signalRemote(*remote, QStringLiteral("KILL"));
        remote->closeChannel();
    }
}

Result<QStringList> SshLauncher::start(const LaunchSpec &spec)
{
    if (spec.program.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("nothing to launch: no program given")};
    if (spec.count < 1)
        return Error{ErrorCategory::Usage, QStringLiteral("cannot launch %1 copies of %2").arg(spec.count).arg(spec.program)};
    if (spec.ssh.host.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("cannot launch %1 over SSH: no host given").arg(spec.program)};
    auto opened = SshConnection::open(spec.ssh);
    if (!opened)
        return Error{opened.error().category,
                     QStringLiteral("cannot launch %1 on %2: %3")
                         .arg(spec.program, SshConnection::displayHost(spec.ssh.host), opened.error().message)};
    std::shared_ptr<SshConnection> connection = std::move(*opened);

    QStringList ids;
    QList<std::shared_ptr<Remote>> started;
    for (int index = 0; index < spec.count; ++index) {
        const QString name = spec.namePrefix + QLatin1Char('-') + QString::number(index);
        const QString line = QStringLiteral("echo \"%1$$\"; %2").arg(kPidMarker, ShellCommand::command(spec, index));
        auto channel = connection->exec(line);
        if (!channel) {
            // All or nothing: what this call started already is ended again.
            for (const auto &remote : std::as_const(started)) {
                remote->stopRequested = true;
                remote->closeChannel();
                m_remotes.remove(remote->id);
            }
            return Error{channel.error().category,
                         QStringLiteral("cannot launch %1 on %2: %3").arg(spec.program, connection->where(), channel.error().message)};
        }
        auto remote = std::make_shared<Remote>();
        remote->id = QStringLiteral("ssh:%1").arg(m_nextId++);
        remote->connection = connection;
        remote->channel = *channel;
        remote->graceMs = spec.stopGraceMs;
        m_remotes.insert(remote->id, remote);
        started << remote;
        ids << remote->id;
        addAgent(LaunchedAgent{remote->id, name, index, LaunchedAgent::State::Starting, -1,
                               QStringLiteral("starting on %1").arg(connection->where())});
    }
    if (!m_poll.isActive())
        m_poll.start();
    return ids;
}

void SshLauncher::readChannel(Remote &remote)
{
    char buffer[16384];
    for (const int isStderr : {0, 1}) {
        for (;;) {
            const int n = ssh_channel_read_nonblocking(remote.channel, buffer, sizeof buffer, isStderr);
            if (n <= 0)
                break;
            for (const QString &line : (isStderr ? remote.err : remote.out).append(QByteArray(buffer, n))) {
                if (!isStderr && remote.pid == 0 && line.startsWith(kPidMarker)) {
                    remote.pid = QStringView(line).mid(kPidMarker.size()).toLongLong();
                    updateAgent(remote.id, LaunchedAgent::State::Running, -1,
                                QStringLiteral("pid %1 on %2").arg(remote.pid).arg(remote.connection->where()));
                    if (remote.stopRequested)
                        terminate(m_remotes.value(remote.id));
                    continue;
                }
                Q_EMIT logLineReceived(remote.id, line);
            }
        }
    }
}

void SshLauncher::poll()
{
    bool anyOpen = false;
    // A copy: signals emitted here may lead to start()/stop() calls on us.
    const auto remotes = m_remotes.values();
    for (const auto &remote : remotes) {
        if (!remote->channel)
            continue;
        if (!remote->connection->isConnected()) {
            endRemote(*remote, LaunchedAgent::State::Failed, -1,
                      QStringLiteral("connection to %1 lost: %2")
                          .arg(remote->connection->where(), Storage::sshErrorText(remote->connection->session())));
            continue;
        }
        readChannel(*remote);
        if (!ssh_channel_is_eof(remote->channel) && ssh_channel_is_open(remote->channel)) {
            anyOpen = true;
            continue;
        }
        readChannel(*remote);
        for (LineBuffer *buffer : {&remote->out, &remote->err})
            for (const QString &line : buffer->flush())
                Q_EMIT logLineReceived(remote->id, line);
        const int status = ssh_channel_get_exit_status(remote->channel);
        if (remote->stopRequested)
            endRemote(*remote, LaunchedAgent::State::Stopped, status, QStringLiteral("stopped"));
        else if (status < 0)
            endRemote(*remote, LaunchedAgent::State::Failed, -1,
                      QStringLiteral("ended on %1 without an exit code (killed by a signal?)").arg(remote->connection->where()));
        else
            endRemote(*remote, LaunchedAgent::State::Exited, status, QStringLiteral("exit code %1").arg(status));
    }
    if (!anyOpen)
        m_poll.stop();
}

void SshLauncher::endRemote(Remote &remote, LaunchedAgent::State state, int exitCode, const QString &detail)
{
    remote.closeChannel();
    updateAgent(remote.id, state, exitCode, detail);
}

void SshLauncher::signalRemote(Remote &remote, const QString &signal)
{
    // The group first; a plain pid when the group is already gone.
    const QString command = QStringLiteral("kill -%1 -- -%2 2>/dev/null || kill -%1 %2 2>/dev/null; true").arg(signal).arg(remote.pid);
    const auto out = remote.connection->run(command, {}, 10000);
    if (!out)
        Q_EMIT logLineReceived(remote.id, QStringLiteral("cannot send SIG%1: %2").arg(signal, out.error().message));
}

Result<void> SshLauncher::stop(const QString &id)
{
    const auto it = m_remotes.constFind(id);
    if (it == m_remotes.constEnd())
        return Error{ErrorCategory::Usage, QStringLiteral("no launched agent %1").arg(id)};
    const std::shared_ptr<Remote> remote = *it;
    if (!remote->channel || remote->stopRequested)
        return {};
    remote->stopRequested = true;
    if (remote->pid != 0) // else signalled as soon as its pid arrives
        terminate(remote);
    return {};
}

void SshLauncher::terminate(const std::shared_ptr<Remote> &remote)
{
    signalRemote(*remote, QStringLiteral("TERM"));
    QTimer::singleShot(remote->graceMs, this, [this, remote] {
        if (remote->channel && remote->connection->isConnected())
            signalRemote(*remote, QStringLiteral("KILL"));
    });
}

void SshLauncher::stopAll()
{
    for (const QString &id : m_remotes.keys())
        (void)stop(id);
}

} // namespace SegScale::Launch
