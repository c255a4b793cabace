#pragma once
// Storage: where study images are read from and results written to — a local folder or
// an SFTP server — behind one interface, so the fetch stage does not care which.
//
// Thread-safety: every method may be called from several threads at once (the fetch
// stage keeps several transfers in flight). Paths are relative to the storage root and
// confined to it: ".." segments and symlinks resolving outside the root are refused.

#include "base/result.h"
#include "storage/credentials.h"
#include "storage/fileentry.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

#include <QByteArray>
#include <QList>
#include <QStringList>

#include <functional>
#include <memory>

namespace SegScale::Storage {

class Storage {
public:
    virtual ~Storage() = default;

    virtual StorageUrl url() const = 0;

    // All regular files below `root` (relative to the storage root; "" for all of it),
    // recursively, sorted by path. Returned paths are relative to the storage root.
    // `include`/`exclude` are glob patterns (*, ?, [..]), case-insensitive; a pattern
    // with a '/' is matched against the whole relative path, otherwise against the file
    // name; an excluded directory name prunes its subtree. Empty include = every file.
    // `progress` is called now and then with the number of files found so far.
    virtual Result<QList<FileEntry>> list(const QString &root, const QStringList &include, const QStringList &exclude,
                                          std::function<void(qint64 found)> progress = {}) = 0;
    virtual Result<FileEntry> stat(const QString &path) = 0;
    // Missing, Unreadable (permission, not a file, outside the root), TooLarge (over
    // maxBytes; maxBytes <= 0 means no limit), Storage (network, after retries).
    virtual Result<QByteArray> read(const QString &path, qint64 maxBytes) = 0;
    // Atomic for readers: written under a temporary name in the same folder, then
    // renamed over the target. Parent folders are created.
    virtual Result<void> write(const QString &path, const QByteArray &data) = 0;
};

// A LocalStorage or an SftpStorage (connects once to check host key and credentials, so
// an unreachable server fails here and not on the first image).
Result<std::shared_ptr<Storage>> openStorage(const StorageUrl &url, const Credentials &credentials,
                                             const StorageOptions &options = {});

} // namespace SegScale::Storage
