#pragma once
// Where a storage lives: a local folder (plain path or file:///path) or an SFTP server
// (sftp://user@host:port/path). Parsing refuses passwords in URLs on purpose: a URL ends
// up in study files, logs and process lists, so secrets go in a credentials file or an
// ssh-agent instead.

#include "base/result.h"

#include <QString>

namespace SegScale::Storage {

struct StorageUrl {
    enum class Scheme { Local, Sftp };

    Scheme scheme = Scheme::Local;
    QString user; // Sftp: defaults to the current user
    QString host; // Sftp only
    int port = 22; // Sftp only
    QString path; // absolute; for Sftp the remote path ("/" when none was given)

    bool isLocal() const { return scheme == Scheme::Local; }
    // Canonical text form, safe to log (it never holds a secret).
    QString toString() const;
    // "host" for port 22, "[host]:port" otherwise: the OpenSSH known_hosts spelling.
    QString hostKeyName() const;

    static Result<StorageUrl> parse(const QString &text);
};

} // namespace SegScale::Storage
