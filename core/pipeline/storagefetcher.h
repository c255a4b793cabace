#pragma once
// StorageFetcher: reads an image's bytes from wherever it lives — a local path, a
// file:/// URL or sftp://user@host:port/path — for the fetch stage of the engine, so a
// dataset on a storage server is segmented without copying it first (as in the paper).
//
// Remote locations share one Storage per server (user, host, port), opened on first use
// and kept for the fetcher's lifetime: its session pool keeps several transfers in flight
// and reconnects (with back-off) when the server goes away and comes back. Those storages
// are rooted at the server's "/"; confinement comes from refusing ".." in locations,
// since a location names exactly one file the user (or the study) chose.
//
// Thread-safety: fetch() and storageFor() may be called from any number of threads at once.

#include "base/result.h"
#include "pipeline/imagedecoder.h"
#include "storage/credentials.h"
#include "storage/storage.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

#include <QByteArray>
#include <QHash>
#include <QString>

#include <memory>
#include <mutex>

namespace SegScale::Pipeline {

class StorageFetcher {
public:
    explicit StorageFetcher(Storage::Credentials credentials = {}, Storage::StorageOptions options = {});
    ~StorageFetcher();
    StorageFetcher(const StorageFetcher &) = delete;
    StorageFetcher &operator=(const StorageFetcher &) = delete;

    // Local paths go through ImageDecoder::readFile (all its checks); remote ones through
    // the server's shared Storage. Errors keep their categories (Missing, Unreadable,
    // TooLarge, Corrupt for an empty file, Storage when the server stays unreachable);
    // a location with ".." is refused (Unreadable), as Storage refuses climbing out of a root.
    Result<QByteArray> fetch(const QString &location, const DecodeOptions &limits);

    // The shared Storage (rooted at "/") for the server of an sftp:// URL, opened now if
    // it is not yet: lets a caller fail early and clearly (host key, password) before
    // queueing thousands of images, and list folders through the same connections.
    Result<std::shared_ptr<Storage::Storage>> storageFor(const Storage::StorageUrl &url);
    // storageFor, for a front end about to start work on that server: when it cannot be
    // opened because the server's host key is not trusted yet, a Usage error that shows
    // the key's SHA256 fingerprint and the command that trusts it (credentialsPath, when
    // the user named a credentials file, is part of that command). Other failures keep
    // their category (Storage: unreachable or refused).
    Result<std::shared_ptr<Storage::Storage>> connect(const Storage::StorageUrl &url, const QString &credentialsPath = {});
    // A Storage of its own rooted at the folder `url` names, with this fetcher's
    // credentials and options: Storage::list then gives paths relative to that folder, as
    // a dataset records them. Unreadable when `url` names a file, Missing when nothing.
    Result<std::shared_ptr<Storage::Storage>> openFolder(const Storage::StorageUrl &url) const;

    // Whether `location` names a remote file (sftp://...) rather than a local one.
    static bool isRemote(const QString &location);
    // Parses a remote location: the server and the exact remote path (percent-decoded,
    // cleaned). Refuses ".." segments (Usage), a password in the URL, non-sftp schemes.
    static Result<Storage::StorageUrl> parseRemote(const QString &location);
    // The location of `absolutePath` on the storage `storageUrl` as the job store keeps it
    // ("sftp://user@host:port" or "file://"/empty for local), i.e. what fetch() takes.
    // Remote paths are percent-encoded, so names with spaces, '#' or '%' survive.
    static QString location(const QString &storageUrl, const QString &absolutePath);
    // The same for a parsed server URL (its path is ignored).
    static QString location(const Storage::StorageUrl &server, const QString &absolutePath);
    // "sftp://user@host:port", the storage URL a study records for this server (no secret).
    static QString serverUrl(const Storage::StorageUrl &url);

    // Servers opened so far (tests, stats).
    int openStorages() const;

private:
    struct Server;
    std::shared_ptr<Server> server(const Storage::StorageUrl &url);

    const Storage::Credentials m_credentials;
    const Storage::StorageOptions m_options;
    mutable std::mutex m_mutex;
    QHash<QString, std::shared_ptr<Server>> m_servers; // by "user@host:port"
};

} // namespace SegScale::Pipeline
