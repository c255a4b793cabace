#pragma once
// Storage on an SFTP server (libssh), for datasets that live on a storage server as in
// the paper. Thread-safe: calls share a pool of connections (StorageOptions::connections),
// so as many transfers are in flight; broken connections are replaced transparently.
// The root is resolved once with the server's realpath, and every path is checked
// against it after the server resolved symlinks.

#include "storage/storage.h"

#include <QSet>

#include <mutex>

namespace SegScale::Storage {

class SftpSessionPool;
class SftpConnection;

class SftpStorage final : public Storage {
public:
    // Connects once: host key, authentication and the root folder are checked here.
    // A root spelled "/~" or "/~/..." is relative to the user's home folder.
    static Result<std::shared_ptr<SftpStorage>> open(const StorageUrl &url, const Credentials &credentials,
                                                     const StorageOptions &options = {});
    ~SftpStorage() override;

    StorageUrl url() const override { return m_url; }
    Result<QList<FileEntry>> list(const QString &root, const QStringList &include, const QStringList &exclude,
                                  std::function<void(qint64 found)> progress = {}) override;
    Result<FileEntry> stat(const QString &path) override;
    Result<QByteArray> read(const QString &path, qint64 maxBytes) override;
    Result<void> write(const QString &path, const QByteArray &data) override;

    // How many pooled connections broke and were replaced so far (for tests and stats).
    int reconnects() const;

private:
    SftpStorage(StorageUrl url, std::unique_ptr<SftpSessionPool> pool);
    Result<QString> relativePath(const QString &path) const;
    // Resolves root/relative on the server; refuses results outside the root.
    Result<QString> resolve(SftpConnection &connection, const QString &relative) const;
    Result<void> ensureFolder(SftpConnection &connection, const QString &relativeFolder);

    StorageUrl m_url;
    QString m_root; // canonical, as the server resolved it
    std::unique_ptr<SftpSessionPool> m_pool;
    std::mutex m_foldersMutex;
    QSet<QString> m_knownFolders; // relative folders already checked or created by write()
};

} // namespace SegScale::Storage
