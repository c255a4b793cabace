#pragma once
// Why a server's host key was not accepted, in a form the GUI can act on: show the
// fingerprint, ask the user, then call acceptHostKey() (Unknown only; a Changed key is
// never accepted by SegScale: the user removes the old entry after checking why).

#include <QString>

namespace SegScale::Storage {

struct HostKeyProblem {
    enum class Kind { Unknown, Changed };

    Kind kind = Kind::Unknown;
    QString host;           // known_hosts spelling: "host" or "[host]:port"
    QString keyType;        // e.g. "ssh-ed25519"
    QString fingerprint;    // "SHA256:..." as OpenSSH prints it
    QString knownHostsPath; // the file that was checked
};

} // namespace SegScale::Storage
