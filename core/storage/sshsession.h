#pragma once
// The SSH steps every libssh user in SegScale shares: TCP connect, key exchange, host key
// check against a known_hosts file (an unknown key is recorded only when asked, a changed
// one never), and authentication with the credentials file's entry for the host. SFTP
// storage (SftpConnection) and the agent launchers (Launch::SshConnection) both start
// their sessions here, so a host is trusted and logged in to the same way everywhere.
//
// Only code that links libssh itself includes this header; the session is libssh's
// ssh_session (declared opaque here).

#include "base/result.h"
#include "storage/connectionreport.h"
#include "storage/hostcredentials.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

struct ssh_session_struct;

namespace SegScale::Storage {

// Connects and checks the host key. Records an unknown key in the known hosts file when
// options.acceptNewHostKey is set or the key's fingerprint is `acceptFingerprint`.
// Errors are ErrorCategory::Storage and name the host; `report` records every step.
Result<ssh_session_struct *> sshHandshake(const StorageUrl &url, const StorageOptions &options, ConnectionReport *report,
                                          const QString &acceptFingerprint = {});
// Returns the method that worked, or an Error that never contains a secret.
Result<QString> sshAuthenticate(ssh_session_struct *ssh, const StorageUrl &url, const HostCredentials &credentials);
// Disconnects (when `disconnect`) and frees a session from sshHandshake, socket included.
void sshFreeSession(ssh_session_struct *ssh, bool disconnect);
// libssh's last error for the session, as text.
QString sshErrorText(ssh_session_struct *ssh);

} // namespace SegScale::Storage
