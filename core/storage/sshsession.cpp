#include "storage/sshsession.h"

#include "storage/credentials.h"
#include "storage/knownhosts.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMutex>

#include <libssh/libssh.h>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace SegScale::Storage {

namespace {

// libssh's global state (crypto, threading callbacks) must be set up once, before any
// session, and from one thread.
void initLibssh()
{
    static std::once_flag once;
    std::call_once(once, [] { ssh_init(); });
}

// Serialises writes to known_hosts files, so two pooled connections accepting the same
// new key do not both append it.
QMutex &knownHostsMutex()
{
    static QMutex mutex;
    return mutex;
}

// We hand libssh a socket we connected (SSH_OPTIONS_FD). libssh closes it itself only
// after a fatal error (and then reports no fd); otherwise the socket stays ours to close.
void closeSession(ssh_session ssh, bool disconnect)
{
    // Asked before ssh_disconnect, which forgets the descriptor without closing it.
    const socket_t fd = ssh_get_fd(ssh);
    if (disconnect)
        ssh_disconnect(ssh);
    ssh_free(ssh);
    if (fd != SSH_INVALID_SOCKET)
        ::close(fd);
}

Error storageError(const QString &message) { return Error{ErrorCategory::Storage, message}; }

QString sshError(ssh_session ssh) { return QString::fromUtf8(ssh_get_error(ssh)); }

// Name lookup and TCP connect done here rather than inside ssh_connect, so that the
// two are reported as separate steps and the connect honours our timeout exactly.
Result<int> connectTcp(const StorageUrl &url, int timeoutMs, ConnectionReport *report)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *addresses = nullptr;
    const QByteArray host = url.host.toUtf8();
    const QByteArray port = QByteArray::number(url.port);
    if (const int rc = ::getaddrinfo(host.constData(), port.constData(), &hints, &addresses); rc != 0) {
        if (report)
            report->failedStep = ConnectionStep::NameLookup;
        return storageError(QStringLiteral("cannot resolve host name \"%1\": %2").arg(url.host, QString::fromLocal8Bit(::gai_strerror(rc))));
    }
    if (report)
        report->passed.append(ConnectionStep::NameLookup);

    QString lastError = QStringLiteral("no address");
    int fd = -1;
    for (addrinfo *a = addresses; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            lastError = QString::fromLocal8Bit(std::strerror(errno));
            continue;
        }
        int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = ::poll(&p, 1, timeoutMs);
            if (rc == 0) {
                lastError = QStringLiteral("timed out after %1 ms").arg(timeoutMs);
                rc = -1;
            } else if (rc > 0) {
                int soError = 0;
                socklen_t len = sizeof soError;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len);
                rc = soError == 0 ? 0 : -1;
                if (soError != 0)
                    lastError = QString::fromLocal8Bit(std::strerror(soError));
            } else {
                lastError = QString::fromLocal8Bit(std::strerror(errno));
            }
        } else if (rc != 0) {
            lastError = QString::fromLocal8Bit(std::strerror(errno));
        }
        if (rc != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(addresses);
    if (fd < 0) {
        if (report)
            report->failedStep = ConnectionStep::TcpConnect;
        return storageError(QStringLiteral("cannot connect to %1 port %2: %3").arg(url.host).arg(url.port).arg(lastError));
    }
    const int one = 1;
    // SFTP is request/response with small packets; Nagle would add delay to every one.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (report)
        report->passed.append(ConnectionStep::TcpConnect);
    return fd;
}

struct ServerKey {
    QString type;
    QString fingerprint;
};

Result<ServerKey> serverKey(ssh_session ssh)
{
    ssh_key key = nullptr;
    if (ssh_get_server_publickey(ssh, &key) != SSH_OK)
        return storageError(QStringLiteral("the server sent no host key: %1").arg(sshError(ssh)));
    unsigned char *hash = nullptr;
    size_t hashLength = 0;
    ServerKey result;
    result.type = QString::fromLatin1(ssh_key_type_to_char(ssh_key_type(key)));
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hashLength) == 0) {
        char *text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hashLength);
        result.fingerprint = QString::fromLatin1(text);
        ssh_string_free_char(text);
        ssh_clean_pubkey_hash(&hash);
    }
    ssh_key_free(key);
    if (result.fingerprint.isEmpty())
        return storageError(QStringLiteral("cannot compute the host key fingerprint"));
    return result;
}

// A new session with options set from the URL and our defaults; the TCP socket is ours.
Result<ssh_session> newSession(const StorageUrl &url, const StorageOptions &options, const QString &knownHosts,
                               ConnectionReport *report)
{
    initLibssh();
    const auto fd = connectTcp(url, options.connectTimeoutMs, report);
    if (!fd)
        return fd.error();
    ssh_session ssh = ssh_new();
    if (!ssh) {
        ::close(*fd);
        return Error{ErrorCategory::Internal, QStringLiteral("libssh could not create a session")};
    }
    const QByteArray host = url.host.toUtf8();
    const QByteArray user = url.user.toUtf8();
    const QByteArray knownHostsFile = QFile::encodeName(knownHosts);
    const unsigned int port = static_cast<unsigned int>(url.port);
    const long timeoutSeconds = std::max(1, (options.connectTimeoutMs + 999) / 1000);
    const int noLog = SSH_LOG_NOLOG;
    // Not reading ~/.ssh/config: a study must connect the same way from the GUI, an
    // agent under Slurm and CI, whatever each account's ssh configuration says.
    const bool processConfig = false;
    socket_t socket = *fd;
    ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &processConfig);
    ssh_options_set(ssh, SSH_OPTIONS_LOG_VERBOSITY, &noLog);
    ssh_options_set(ssh, SSH_OPTIONS_HOST, host.constData());
    ssh_options_set(ssh, SSH_OPTIONS_PORT, &port);
    ssh_options_set(ssh, SSH_OPTIONS_USER, user.constData());
    ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeoutSeconds);
    ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, knownHostsFile.constData());
    // The system-wide file is consulted only with the default user file, so that an
    // explicit --known-hosts means exactly that file.
    if (!options.knownHostsPath.isEmpty())
        ssh_options_set(ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, knownHostsFile.constData());
    ssh_options_set(ssh, SSH_OPTIONS_FD, &socket);
    return ssh;
}

QString appendKnownHost(ssh_session ssh, const QString &knownHosts)
{
    char *entry = nullptr;
    if (ssh_session_export_known_hosts_entry(ssh, &entry) != SSH_OK)
        return QStringLiteral("cannot format the known_hosts entry: %1").arg(sshError(ssh));
    const QByteArray line = QByteArray(entry) + '\n';
    ssh_string_free_char(entry);
    QDir().mkpath(QFileInfo(knownHosts).absolutePath());
    QFile file(knownHosts);
    const bool existed = file.exists();
    if (!file.open(QIODevice::Append) || file.write(line) != line.size())
        return QStringLiteral("cannot write %1: %2").arg(knownHosts, file.errorString());
    if (!existed)
        file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return {};
}

} // namespace

Result<ssh_session> sshHandshake(const StorageUrl &url, const StorageOptions &options, ConnectionReport *report,
                                 const QString &acceptFingerprint)
{
    const QString knownHosts = options.knownHostsPath.isEmpty() ? defaultKnownHostsPath() : options.knownHostsPath;
    auto created = newSession(url, options, knownHosts, report);
    if (!created) {
        if (report)
            report->error = created.error();
        return created.error();
    }
    ssh_session ssh = *created;
    auto fail = [&](ConnectionStep step, Error error) -> Error {
        if (report) {
            report->failedStep = step;
            report->error = error;
        }
        closeSession(ssh, true);
        return error;
    };

    if (ssh_connect(ssh) != SSH_OK)
        return fail(ConnectionStep::KeyExchange,
                    storageError(QStringLiteral("SSH handshake with %1 failed: %2").arg(url.hostKeyName(), sshError(ssh))));
    if (report)
        report->passed.append(ConnectionStep::KeyExchange);

    const auto key = serverKey(ssh);
    if (!key)
        return fail(ConnectionStep::HostKey, key.error());
    if (report)
        report->serverFingerprint = key->fingerprint;

    const HostKeyProblem problemBase{HostKeyProblem::Kind::Unknown, url.hostKeyName(), key->type, key->fingerprint, knownHosts};
    QMutexLocker lock(&knownHostsMutex());
    switch (ssh_session_is_known_server(ssh)) {
    case SSH_KNOWN_HOSTS_OK:
        break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
        HostKeyProblem problem = problemBase;
        problem.kind = HostKeyProblem::Kind::Changed;
        if (report)
            report->hostKeyProblem = problem;
        return fail(ConnectionStep::HostKey,
                    storageError(QStringLiteral("HOST KEY CHANGED for %1: the server now presents %2 key %3, which does "
                                                "not match the key recorded in %4. This may be an attack, or the server "
                                                "was reinstalled; the connection is refused. If you know why the key "
                                                "changed, remove the old entry (ssh-keygen -R '%1' -f %4) and connect again.")
                                     .arg(url.hostKeyName(), key->type, key->fingerprint, knownHosts)));
    }
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND: {
        const bool accept = options.acceptNewHostKey || (!acceptFingerprint.isEmpty() && acceptFingerprint == key->fingerprint);
        if (accept) {
            if (const QString problem = appendKnownHost(ssh, knownHosts); !problem.isEmpty())
                return fail(ConnectionStep::HostKey, storageError(problem));
            break;
        }
        if (report)
            report->hostKeyProblem = problemBase;
        if (!acceptFingerprint.isEmpty())
            return fail(ConnectionStep::HostKey,
                        storageError(QStringLiteral("the host key of %1 is %2, not the %3 that was to be accepted; "
                                                    "nothing was recorded")
                                         .arg(url.hostKeyName(), key->fingerprint, acceptFingerprint)));
        return fail(ConnectionStep::HostKey,
                    storageError(QStringLiteral("unknown host key for %1: %2 key fingerprint %3 is not in %4. Check "
                                                "the fingerprint with the server's administrator, then accept it "
                                                "(segscale storage test URL --accept-new-host-key, or in the GUI).")
                                     .arg(url.hostKeyName(), key->type, key->fingerprint, knownHosts)));
    }
    case SSH_KNOWN_HOSTS_ERROR:
    default:
        return fail(ConnectionStep::HostKey,
                    storageError(QStringLiteral("cannot check the host key of %1 against %2: %3")
                                     .arg(url.hostKeyName(), knownHosts, sshError(ssh))));
    }
    if (report)
        report->passed.append(ConnectionStep::HostKey);
    return ssh;
}

namespace {

QString methodNames(int methods)
{
    QStringList names;
    if (methods & SSH_AUTH_METHOD_PUBLICKEY)
        names << QStringLiteral("publickey");
    if (methods & SSH_AUTH_METHOD_PASSWORD)
        names << QStringLiteral("password");
    if (methods & SSH_AUTH_METHOD_INTERACTIVE)
        names << QStringLiteral("keyboard-interactive");
    if (methods & SSH_AUTH_METHOD_GSSAPI_MIC)
        names << QStringLiteral("gssapi");
    return names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "));
}

// Answers every keyboard-interactive prompt with the password: what a person would type
// for a server that offers passwords only this way (PAM setups do).
int keyboardInteractive(ssh_session ssh, const QByteArray &password)
{
    int rc = ssh_userauth_kbdint(ssh, nullptr, nullptr);
    for (int round = 0; rc == SSH_AUTH_INFO && round < 8; ++round) {
        const int prompts = ssh_userauth_kbdint_getnprompts(ssh);
        for (int i = 0; i < prompts; ++i)
            ssh_userauth_kbdint_setanswer(ssh, static_cast<unsigned int>(i), password.constData());
        rc = ssh_userauth_kbdint(ssh, nullptr, nullptr);
    }
    return rc;
}

} // namespace

Result<QString> sshAuthenticate(ssh_session ssh, const StorageUrl &url, const HostCredentials &credentials)
{
    const QString who = url.user + QLatin1Char('@') + url.hostKeyName();
    int rc = ssh_userauth_none(ssh, nullptr);
    if (rc == SSH_AUTH_SUCCESS)
        return QStringLiteral("none");
    if (rc == SSH_AUTH_ERROR)
        return storageError(QStringLiteral("authentication as %1 failed: %2").arg(who, sshError(ssh)));
    const int methods = ssh_userauth_list(ssh, nullptr);
    const QString offered = methodNames(methods);

    if (!credentials.keyFile.isEmpty()) {
        ssh_key key = nullptr;
        const QByteArray path = QFile::encodeName(credentials.keyFile);
        const QByteArray passphrase = credentials.passphrase.toUtf8();
        if (ssh_pki_import_privkey_file(path.constData(), passphrase.isEmpty() ? nullptr : passphrase.constData(), nullptr,
                                        nullptr, &key) != SSH_OK)
            return storageError(QStringLiteral("cannot load private key %1 (missing, unreadable, or wrong passphrase)")
                                    .arg(credentials.keyFile));
        rc = ssh_userauth_publickey(ssh, nullptr, key);
        ssh_key_free(key);
        if (rc == SSH_AUTH_SUCCESS)
            return QStringLiteral("key file");
        return storageError(QStringLiteral("authentication as %1 failed: the server refused key %2 (server accepts: %3)")
                                .arg(who, credentials.keyFile, offered));
    }
    if (!credentials.password.isEmpty()) {
        const QByteArray password = credentials.password.toUtf8();
        if (methods & SSH_AUTH_METHOD_PASSWORD) {
            rc = ssh_userauth_password(ssh, nullptr, password.constData());
            if (rc == SSH_AUTH_SUCCESS)
                return QStringLiteral("password");
        }
        if (rc != SSH_AUTH_SUCCESS && (methods & SSH_AUTH_METHOD_INTERACTIVE)) {
            rc = keyboardInteractive(ssh, password);
            if (rc == SSH_AUTH_SUCCESS)
                return QStringLiteral("keyboard-interactive");
        }
        return storageError(QStringLiteral("authentication as %1 failed: password refused (server accepts: %2)").arg(who, offered));
    }
    if (credentials.agent) {
        if (qEnvironmentVariableIsEmpty("SSH_AUTH_SOCK"))
            return storageError(QStringLiteral("authentication as %1 failed: ssh-agent was asked for, but SSH_AUTH_SOCK is not set").arg(who));
        if (ssh_userauth_agent(ssh, nullptr) == SSH_AUTH_SUCCESS)
            return QStringLiteral("ssh-agent");
        return storageError(QStringLiteral("authentication as %1 failed: no key in ssh-agent was accepted (server accepts: %2)").arg(who, offered));
    }
    // Default: ssh-agent, then the unencrypted ~/.ssh/id_* keys.
    if (ssh_userauth_publickey_auto(ssh, nullptr, nullptr) == SSH_AUTH_SUCCESS)
        return QStringLiteral("ssh-agent or ~/.ssh key");
    return storageError(QStringLiteral("authentication as %1 failed: neither ssh-agent nor ~/.ssh/id_* keys were accepted "
                                       "(server accepts: %2); add an entry to %3")
                            .arg(who, offered, Credentials::defaultPath()));
}

void sshFreeSession(ssh_session ssh, bool disconnect)
{
    closeSession(ssh, disconnect);
}

QString sshErrorText(ssh_session ssh)
{
    return sshError(ssh);
}

} // namespace SegScale::Storage
