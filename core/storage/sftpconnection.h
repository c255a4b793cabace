#pragma once
// One SSH connection with its SFTP channel (libssh), connected step by step so a failure
// says which step failed. Not thread-safe: SftpSessionPool hands each connection to one
// caller at a time. The only call allowed from another thread is abort(), which the
// pool's watchdog uses to end an operation that ran past its timeout.
//
// libssh types stay out of this header so that code using storage does not need them.

#include "base/result.h"
#include "storage/connectionreport.h"
#include "storage/credentials.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

#include <QDateTime>
#include <QList>

#include <atomic>
#include <memory>

struct ssh_session_struct;
struct sftp_session_struct;

namespace SegScale::Storage {

class SftpConnection {
public:
    struct RemoteEntry {
        enum class Type { File, Directory, Symlink, Other };
        QString name;
        Type type = Type::Other;
        qint64 size = 0;
        QDateTime modified;
    };

    // Connects and authenticates. `report`, when given, records every step. A host key
    // that is unknown and not accepted, or changed, fails at ConnectionStep::HostKey.
    static Result<std::unique_ptr<SftpConnection>> open(const StorageUrl &url, const Credentials &credentials,
                                                         const StorageOptions &options, ConnectionReport *report = nullptr);
    // Connects only as far as the host key and records it in the known hosts file when
    // its fingerprint is `fingerprint` and the host has no other key recorded there.
    static Result<void> recordHostKey(const StorageUrl &url, const QString &fingerprint, const QString &knownHostsPath);

    ~SftpConnection();
    SftpConnection(const SftpConnection &) = delete;
    SftpConnection &operator=(const SftpConnection &) = delete;

    // Remote paths here are absolute; confinement to a root is the caller's business.
    Result<QString> realpath(const QString &path);
    Result<RemoteEntry> stat(const QString &path, bool followLinks);
    Result<QList<RemoteEntry>> readDir(const QString &path);
    Result<QByteArray> read(const QString &path, qint64 maxBytes);
    // Temporary file in the same folder, then renamed over `path`; the folder must exist.
    Result<void> writeAtomic(const QString &path, const QByteArray &data);
    // Succeeds when the folder already exists.
    Result<void> mkdir(const QString &path);

    // True once the connection is unusable (server gone, timed out): drop it, reconnect.
    bool broken() const { return m_broken || m_aborted.load(); }
    // From another thread: shut the socket down so a blocked operation returns at once.
    void abort();
    QString host() const { return m_url.host; }

private:
    SftpConnection() = default;
    // An Error for a failed SFTP request, and whether the connection itself is gone.
    Error failure(const QString &action, const QString &path);
    bool connectionLost() const;
    Result<QByteArray> readSequential(void *file, const QString &path, qint64 maxBytes);

    StorageUrl m_url;
    ssh_session_struct *m_ssh = nullptr;
    sftp_session_struct *m_sftp = nullptr;
    std::atomic<int> m_fd{-1};
    std::atomic<bool> m_aborted{false};
    bool m_broken = false;
};

} // namespace SegScale::Storage
