#pragma once
// RemoteLocation: how an image or a dataset on an SFTP server is spelled — parsing an
// sftp:// location safely (no "..", no home-relative path, no secret) and writing the
// server URL and the per-image locations a study records. Plain text handling, shared by
// the engine's fetcher (Pipeline::StorageFetcher forwards here), `study add` and the
// desktop app's data sources dialog.

#include "base/result.h"
#include "storage/storageurl.h"

#include <QString>

namespace SegScale::Storage {

class RemoteLocation {
public:
    // Whether `location` names a remote file (sftp://...) rather than a local one.
    static bool isRemote(const QString &location);
    // The server and the exact remote path (percent-decoded, cleaned). Refuses ".."
    // segments (Usage), a password in the URL, non-sftp schemes.
    static Result<StorageUrl> parse(const QString &location);
    // "sftp://user@host:port", the storage URL a study records for this server (no secret).
    static QString serverUrl(const StorageUrl &url);
    // The location of `absolutePath` on the storage `storageUrl` as the job store keeps it
    // ("sftp://user@host:port" or "file://"/empty for local). Remote paths are
    // percent-encoded, so names with spaces, '#' or '%' survive.
    static QString location(const QString &storageUrl, const QString &absolutePath);
    static QString location(const StorageUrl &server, const QString &absolutePath);
};

} // namespace SegScale::Storage
