#pragma once
// How to log in to one SSH host. Holds secrets (a key passphrase or a password), so it
// has no toString and no QDebug operator on purpose: nothing prints it by accident.

#include <QString>

namespace SegScale::Storage {

struct HostCredentials {
    QString keyFile;    // a private key file; with passphrase when it is encrypted
    QString passphrase;
    QString password;
    bool agent = false; // ask ssh-agent ($SSH_AUTH_SOCK)

    // Nothing configured: fall back to ssh-agent, then ~/.ssh/id_* keys.
    bool isDefault() const { return keyFile.isEmpty() && password.isEmpty() && !agent; }
};

} // namespace SegScale::Storage
