#include "launch/sshconnection.h"

#include "storage/credentials.h"
#include "storage/sshsession.h"
#include "storage/storageurl.h"

#include <QDeadlineTimer>
#include <QUrl>

#include <libssh/libssh.h>

namespace SegScale::Launch {

namespace {

Result<Storage::StorageUrl> parseHost(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (!trimmed.startsWith(QLatin1StringView("ssh://")))
        return Error{ErrorCategory::Usage, QStringLiteral("\"%1\" is not an SSH host (expected ssh://user@host:port)")
                                               .arg(SshConnection::displayHost(trimmed))};
    // The same rules as an SFTP storage URL (no password in it, a host, a valid port),
    // so reuse that parser on the same authority.
    auto url = Storage::StorageUrl::parse(QStringLiteral("sftp://") + trimmed.mid(6));
    if (!url)
        return Error{ErrorCategory::Usage, QString(url.error().message).replace(QLatin1StringView("SFTP URL"), QLatin1StringView("SSH host"))};
    return url;
}

} // namespace

QString SshConnection::displayHost(const QString &hostUrl)
{
    const QUrl url(hostUrl.trimmed());
    if (url.isValid() && !url.host().isEmpty())
        return url.toDisplayString(QUrl::RemovePassword);
    // Not a URL we can take apart: show nothing that could be a secret.
    return hostUrl.contains(QLatin1Char('@')) ? QStringLiteral("(unparsable host)") : hostUrl.trimmed();
}

Result<std::unique_ptr<SshConnection>> SshConnection::open(const LaunchSpec::Ssh &spec)
{
    const auto url = parseHost(spec.host);
    if (!url)
        return url.error();
    const auto credentials = spec.credentialsPath.isEmpty() ? Storage::Credentials::loadDefault()
                                                            : Storage::Credentials::load(spec.credentialsPath);
    if (!credentials)
        return credentials.error();
    Storage::StorageOptions options;
    options.knownHostsPath = spec.knownHostsPath;
    options.connectTimeoutMs = spec.connectTimeoutMs;
    auto ssh = Storage::sshHandshake(*url, options, nullptr);
    if (!ssh)
        return ssh.error();
    std::unique_ptr<SshConnection> c(new SshConnection);
    c->m_ssh = *ssh;
    c->m_where = QStringLiteral("%1@%2:%3").arg(url->user, url->host).arg(url->port);
    const auto method = Storage::sshAuthenticate(c->m_ssh, *url, credentials->forHost(url->host, url->port));
    if (!method)
        return method.error();
    return c;
}

SshConnection::~SshConnection()
{
    if (m_ssh)
        Storage::sshFreeSession(m_ssh, isConnected());
}

bool SshConnection::isConnected() const
{
    return m_ssh && ssh_is_connected(m_ssh) && ssh_get_error_code(m_ssh) != SSH_FATAL;
}

Result<ssh_channel_struct *> SshConnection::exec(const QString &command)
{
    ssh_channel channel = ssh_channel_new(m_ssh);
    if (!channel)
        return Error{ErrorCategory::Storage,
                     QStringLiteral("cannot open a channel to %1: %2").arg(m_where, Storage::sshErrorText(m_ssh))};
    if (ssh_channel_open_session(channel) != SSH_OK) {
        ssh_channel_free(channel);
        return Error{ErrorCategory::Storage,
                     QStringLiteral("cannot open a session channel to %1: %2").arg(m_where, Storage::sshErrorText(m_ssh))};
    }
    const QByteArray line = command.toUtf8();
    if (ssh_channel_request_exec(channel, line.constData()) != SSH_OK) {
        ssh_channel_close(channel);
        ssh_channel_free(channel);
        return Error{ErrorCategory::Storage,
                     QStringLiteral("%1 refused to run a command: %2").arg(m_where, Storage::sshErrorText(m_ssh))};
    }
    return channel;
}

Result<CommandOutput> SshConnection::run(const QString &command, const QByteArray &input, int timeoutMs)
{
    auto opened = exec(command);
    if (!opened)
        return opened.error();
    ssh_channel channel = *opened;
    auto fail = [&](const QString &message) -> Error {
        ssh_channel_close(channel);
        ssh_channel_free(channel);
        return Error{ErrorCategory::Storage, message};
    };
    for (qsizetype written = 0; written < input.size();) {
        const int n = ssh_channel_write(channel, input.constData() + written, static_cast<uint32_t>(input.size() - written));
        if (n <= 0)
            return fail(QStringLiteral("cannot send input to a command on %1: %2").arg(m_where, Storage::sshErrorText(m_ssh)));
        written += n;
    }
    ssh_channel_send_eof(channel);

    CommandOutput out;
    const QDeadlineTimer deadline(timeoutMs);
    char buffer[16384];
    while (!ssh_channel_is_eof(channel)) {
        if (deadline.hasExpired()) {
            ssh_channel_close(channel);
            ssh_channel_free(channel);
            return Error{ErrorCategory::Internal,
                         QStringLiteral("a command on %1 did not finish within %2 s").arg(m_where).arg(timeoutMs / 1000)};
        }
        bool any = false;
        for (const int isStderr : {0, 1}) {
            const int n = ssh_channel_read_nonblocking(channel, buffer, sizeof buffer, isStderr);
            if (n == SSH_ERROR)
                return fail(QStringLiteral("connection to %1 lost while running a command: %2").arg(m_where, Storage::sshErrorText(m_ssh)));
            if (n > 0) {
                (isStderr ? out.standardError : out.standardOutput).append(buffer, n);
                any = true;
            }
        }
        if (!any && ssh_channel_poll_timeout(channel, 50, 0) == SSH_ERROR)
            return fail(QStringLiteral("connection to %1 lost while running a command: %2").arg(m_where, Storage::sshErrorText(m_ssh)));
    }
    // Whatever arrived with the end of file.
    for (const int isStderr : {0, 1}) {
        for (int n; (n = ssh_channel_read_nonblocking(channel, buffer, sizeof buffer, isStderr)) > 0;)
            (isStderr ? out.standardError : out.standardOutput).append(buffer, n);
    }
    out.exitCode = ssh_channel_get_exit_status(channel);
    ssh_channel_close(channel);
    ssh_channel_free(channel);
    return out;
}

} // namespace SegScale::Launch
