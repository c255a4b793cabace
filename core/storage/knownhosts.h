#pragma once
// Host key trust decisions made by the user: recording a key they checked. The check
// itself happens on every connection (see SftpConnection); a key that changed is never
// accepted here.

#include "base/result.h"
#include "storage/storageurl.h"

#include <QString>

namespace SegScale::Storage {

// ~/.ssh/known_hosts, shared with OpenSSH on purpose: a key the user already trusts
// there is trusted here too.
QString defaultKnownHostsPath();

// Connects to the URL's server and records its host key in `knownHostsPath` (empty: the
// default) only if the key's fingerprint is `fingerprint` (what the user was shown, e.g.
// HostKeyProblem::fingerprint) and the host has no different key recorded there.
Result<void> acceptHostKey(const StorageUrl &url, const QString &fingerprint, const QString &knownHostsPath = {});

} // namespace SegScale::Storage
