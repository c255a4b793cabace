#include "storage/sftpconnection.h"

#include "storage/sshsession.h"

#include <QFile>
#include <QRandomGenerator>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace SegScale::Storage {

namespace {

Error storageError(const QString &message) { return Error{ErrorCategory::Storage, message}; }

QString sshError(ssh_session ssh) { return sshErrorText(ssh); }

SftpConnection::RemoteEntry toEntry(sftp_attributes a, const QString &name)
{
    SftpConnection::RemoteEntry e;
    e.name = name;
    switch (a->type) {
    case SSH_FILEXFER_TYPE_REGULAR: e.type = SftpConnection::RemoteEntry::Type::File; break;
    case SSH_FILEXFER_TYPE_DIRECTORY: e.type = SftpConnection::RemoteEntry::Type::Directory; break;
    case SSH_FILEXFER_TYPE_SYMLINK: e.type = SftpConnection::RemoteEntry::Type::Symlink; break;
    default: e.type = SftpConnection::RemoteEntry::Type::Other; break;
    }
    e.size = static_cast<qint64>(a->size);
    e.modified = QDateTime::fromSecsSinceEpoch(a->mtime, Qt::UTC);
    return e;
}

} // namespace

Result<std::unique_ptr<SftpConnection>> SftpConnection::open(const StorageUrl &url, const Credentials &credentials,
                                                             const StorageOptions &options, ConnectionReport *report)
{
    auto ssh = sshHandshake(url, options, report);
    if (!ssh)
        return ssh.error();
    std::unique_ptr<SftpConnection> c(new SftpConnection);
    c->m_url = url;
    c->m_ssh = *ssh;
    // A descriptor of our own for abort(): libssh may close its one on a fatal error,
    // and the number could then be reused by another connection's socket.
    c->m_fd = ::fcntl(ssh_get_fd(c->m_ssh), F_DUPFD_CLOEXEC, 0);
    auto fail = [&](ConnectionStep step, Error error) -> Error {
        if (report) {
            report->failedStep = step;
            report->error = error;
        }
        return error;
    };

    const auto method = sshAuthenticate(c->m_ssh, url, credentials.forHost(url.host, url.port));
    if (!method) {
        if (!ssh_is_connected(c->m_ssh) || ssh_get_error_code(c->m_ssh) == SSH_FATAL) {
            // The server went away mid-authentication (restarting?): no verdict on the key.
            c->m_broken = true;
            if (report)
                report->connectionLost = true;
            return fail(ConnectionStep::Authentication,
                        storageError(QStringLiteral("connection to %1 lost during authentication: %2")
                                         .arg(url.hostKeyName(), sshError(c->m_ssh))));
        }
        return fail(ConnectionStep::Authentication, method.error());
    }
    if (report) {
        report->passed.append(ConnectionStep::Authentication);
        report->authMethod = *method;
    }

    c->m_sftp = sftp_new(c->m_ssh);
    if (!c->m_sftp || sftp_init(c->m_sftp) != SSH_OK)
        return fail(ConnectionStep::Sftp,
                    storageError(QStringLiteral("the server %1 did not start SFTP: %2").arg(url.hostKeyName(), sshError(c->m_ssh))));
    if (report)
        report->passed.append(ConnectionStep::Sftp);
    return c;
}

Result<void> SftpConnection::recordHostKey(const StorageUrl &url, const QString &fingerprint, const QString &knownHostsPath)
{
    StorageOptions options;
    options.knownHostsPath = knownHostsPath;
    ConnectionReport report;
    auto ssh = sshHandshake(url, options, &report, fingerprint);
    if (!ssh)
        return ssh.error();
    sshFreeSession(*ssh, true);
    return {};
}

SftpConnection::~SftpConnection()
{
    if (m_sftp)
        sftp_free(m_sftp);
    if (m_ssh)
        sshFreeSession(m_ssh, !broken());
    if (m_fd >= 0)
        ::close(m_fd);
}

void SftpConnection::abort()
{
    m_aborted = true;
    if (const int fd = m_fd.load(); fd >= 0)
        ::shutdown(fd, SHUT_RDWR);
}

bool SftpConnection::connectionLost() const
{
    return m_aborted.load() || !ssh_is_connected(m_ssh) || ssh_get_error_code(m_ssh) == SSH_FATAL ||
           ssh_channel_is_closed(m_sftp->channel) || ssh_channel_is_eof(m_sftp->channel);
}

Error SftpConnection::failure(const QString &action, const QString &path)
{
    const int code = sftp_get_error(m_sftp);
    if (connectionLost()) {
        m_broken = true;
        return storageError(QStringLiteral("connection to %1 lost while %2 %3: %4")
                                .arg(m_url.hostKeyName(), action, path,
                                     m_aborted.load() ? QStringLiteral("timed out") : sshError(m_ssh)));
    }
    switch (code) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
        return Error{ErrorCategory::Missing, QStringLiteral("%1 does not exist on %2").arg(path, m_url.hostKeyName())};
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_WRITE_PROTECT:
        return Error{ErrorCategory::Unreadable,
                     QStringLiteral("permission denied %1 %2 on %3").arg(action, path, m_url.hostKeyName())};
    default:
        return storageError(QStringLiteral("%1 %2 on %3 failed: %4").arg(action, path, m_url.hostKeyName(), sshError(m_ssh)));
    }
}

Result<QString> SftpConnection::realpath(const QString &path)
{
    const QByteArray p = path.toUtf8();
    char *resolved = sftp_canonicalize_path(m_sftp, p.constData());
    if (!resolved)
        return failure(QStringLiteral("resolving"), path);
    QString result = QString::fromUtf8(resolved);
    ssh_string_free_char(resolved);
    return result;
}

Result<SftpConnection::RemoteEntry> SftpConnection::stat(const QString &path, bool followLinks)
{
    const QByteArray p = path.toUtf8();
    sftp_attributes a = followLinks ? sftp_stat(m_sftp, p.constData()) : sftp_lstat(m_sftp, p.constData());
    if (!a)
        return failure(QStringLiteral("examining"), path);
    RemoteEntry e = toEntry(a, path.section(QLatin1Char('/'), -1));
    sftp_attributes_free(a);
    return e;
}

Result<QList<SftpConnection::RemoteEntry>> SftpConnection::readDir(const QString &path)
{
    const QByteArray p = path.toUtf8();
    sftp_dir dir = sftp_opendir(m_sftp, p.constData());
    if (!dir)
        return failure(QStringLiteral("listing"), path);
    QList<RemoteEntry> entries;
    while (sftp_attributes a = sftp_readdir(m_sftp, dir)) {
        const QString name = QString::fromUtf8(a->name);
        if (name != QLatin1StringView(".") && name != QLatin1StringView(".."))
            entries.append(toEntry(a, name));
        sftp_attributes_free(a);
    }
    const bool complete = sftp_dir_eof(dir);
    Error error;
    if (!complete)
        error = failure(QStringLiteral("listing"), path);
    sftp_closedir(dir);
    if (!complete)
        return error;
    return entries;
}

Result<QByteArray> SftpConnection::read(const QString &path, qint64 maxBytes)
{
    const QByteArray p = path.toUtf8();
    sftp_file file = sftp_open(m_sftp, p.constData(), O_RDONLY, 0);
    if (!file)
        return failure(QStringLiteral("opening"), path);
    auto result = [&]() -> Result<QByteArray> {
        sftp_attributes a = sftp_fstat(file);
        if (!a)
            return failure(QStringLiteral("examining"), path);
        const bool regular = a->type == SSH_FILEXFER_TYPE_REGULAR;
        const qint64 size = static_cast<qint64>(a->size);
        sftp_attributes_free(a);
        if (!regular)
            return Error{ErrorCategory::Unreadable, QStringLiteral("%1 on %2 is not a regular file").arg(path, m_url.hostKeyName())};
        if (maxBytes > 0 && size > maxBytes)
            return Error{ErrorCategory::TooLarge,
                         QStringLiteral("%1 on %2 is %3 bytes, over the limit of %4").arg(path, m_url.hostKeyName()).arg(size).arg(maxBytes)};

        // Pipelined: all read requests of the file go out before the first answer is
        // awaited, so a file costs one round trip instead of one per chunk. 32 KiB is the
        // read size every SFTP server must serve in full.
        constexpr uint32_t chunk = 32 * 1024;
        constexpr int window = 32;
        QByteArray data(size, Qt::Uninitialized);
        QList<int> pending;
        qint64 requested = 0;
        qint64 received = 0;
        bool shortRead = false;
        while (received < size && !shortRead) {
            while (requested < size && pending.size() < window) {
                const uint32_t len = static_cast<uint32_t>(std::min<qint64>(chunk, size - requested));
                const int id = sftp_async_read_begin(file, len);
                if (id < 0)
                    return failure(QStringLiteral("reading"), path);
                pending.append(id);
                requested += len;
            }
            const uint32_t len = static_cast<uint32_t>(std::min<qint64>(chunk, size - received));
            const int got = sftp_async_read(file, data.data() + received, len, static_cast<uint32_t>(pending.takeFirst()));
            if (got < 0) {
                m_broken = true; // answers still in flight would confuse the next request
                return failure(QStringLiteral("reading"), path);
            }
            received += got;
            shortRead = static_cast<uint32_t>(got) < len;
        }
        if (!shortRead)
            return data;
        // The file shrank, or the server served less than asked: drain what is in flight
        // and fall back to plain reads from where the data stopped being contiguous.
        QByteArray sink(chunk, Qt::Uninitialized);
        for (const int id : std::as_const(pending))
            if (sftp_async_read(file, sink.data(), chunk, static_cast<uint32_t>(id)) < 0) {
                m_broken = true;
                return failure(QStringLiteral("reading"), path);
            }
        if (sftp_seek64(file, static_cast<uint64_t>(received)) != 0)
            return failure(QStringLiteral("reading"), path);
        data.truncate(received);
        auto rest = readSequential(file, path, maxBytes > 0 ? maxBytes - received : 0);
        if (!rest)
            return rest.error();
        data.append(*rest);
        return data;
    }();
    sftp_close(file);
    return result;
}

Result<QByteArray> SftpConnection::readSequential(void *handle, const QString &path, qint64 maxBytes)
{
    auto file = static_cast<sftp_file>(handle);
    QByteArray data;
    char buffer[32 * 1024];
    for (;;) {
        const ssize_t got = sftp_read(file, buffer, sizeof buffer);
        if (got < 0)
            return failure(QStringLiteral("reading"), path);
        if (got == 0)
            return data;
        data.append(buffer, got);
        if (maxBytes > 0 && data.size() > maxBytes)
            return Error{ErrorCategory::TooLarge, QStringLiteral("%1 on %2 grew over the limit of %3 bytes while being read")
                                                      .arg(path, m_url.hostKeyName()).arg(maxBytes)};
    }
}

Result<void> SftpConnection::mkdir(const QString &path)
{
    const QByteArray p = path.toUtf8();
    if (sftp_mkdir(m_sftp, p.constData(), 0755) == 0)
        return {};
    Error error = failure(QStringLiteral("creating folder"), path);
    if (broken())
        return error;
    // OpenSSH answers a plain "Failure" when the folder exists; look before giving up.
    if (const auto existing = stat(path, true); existing && existing->type == RemoteEntry::Type::Directory)
        return {};
    return error;
}

Result<void> SftpConnection::writeAtomic(const QString &path, const QByteArray &data)
{
    const QString folder = path.section(QLatin1Char('/'), 0, -2);
    const QString name = path.section(QLatin1Char('/'), -1);
    const QString random = QString::number(QRandomGenerator::global()->generate64(), 36);
    const QString temp = folder + QStringLiteral("/.") + name + QStringLiteral(".segscale-") + random;
    const QByteArray tempName = temp.toUtf8();
    const QByteArray targetName = path.toUtf8();

    sftp_file file = sftp_open(m_sftp, tempName.constData(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!file)
        return failure(QStringLiteral("creating"), temp);
    qint64 written = 0;
    bool ok = true;
    while (ok && written < data.size()) {
        // Chunks the server will take in one message (OpenSSH caps messages at 256 KiB).
        const size_t len = static_cast<size_t>(std::min<qint64>(64 * 1024, data.size() - written));
        const ssize_t n = sftp_write(file, data.constData() + written, len);
        ok = n > 0;
        written += std::max<ssize_t>(n, 0);
    }
    Error error;
    if (!ok)
        error = failure(QStringLiteral("writing"), temp);
    if (sftp_close(file) != SSH_OK && ok) {
        ok = false;
        error = failure(QStringLiteral("closing"), temp);
    }
    auto cleanup = [&](Error e) -> Error {
        if (!broken())
            sftp_unlink(m_sftp, tempName.constData());
        return e;
    };
    if (!ok)
        return cleanup(error);

    if (sftp_rename(m_sftp, tempName.constData(), targetName.constData()) == 0)
        return {};
    if (broken())
        return failure(QStringLiteral("renaming"), temp);
    // SFTP v3 rename (all libssh 0.10 offers) will not replace an existing file. Move the
    // old one aside first: readers may briefly find no file, but never half a file.
    const QByteArray aside = (folder + QStringLiteral("/.") + name + QStringLiteral(".segscale-old-") + random).toUtf8();
    if (sftp_rename(m_sftp, targetName.constData(), aside.constData()) != 0)
        return cleanup(failure(QStringLiteral("replacing"), path));
    if (sftp_rename(m_sftp, tempName.constData(), targetName.constData()) != 0) {
        Error e = failure(QStringLiteral("replacing"), path);
        if (!broken())
            sftp_rename(m_sftp, aside.constData(), targetName.constData());
        return cleanup(e);
    }
    sftp_unlink(m_sftp, aside.constData());
    return {};
}

} // namespace SegScale::Storage
