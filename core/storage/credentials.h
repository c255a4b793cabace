#pragma once
// The secrets SegScale may use to reach SFTP servers, loaded from a credentials file that
// only its owner can read (default ~/.config/segscale/credentials.json). Keeping them in a
// 0600 file rather than in URLs, command lines or study files is what keeps them out of
// logs and `ps`. Format:
//
//   { "hosts": {
//       "storage.example.org":      { "key_file": "~/.ssh/id_study", "passphrase": "..." },
//       "[127.0.0.1]:2222":         { "password": "..." },
//       "*":                        { "agent": true } } }
//
// A host is looked up as "[host]:port", then "host", then "*". With no entry the default
// applies: ssh-agent, then ~/.ssh/id_* keys.

#include "base/result.h"
#include "storage/hostcredentials.h"

#include <QHash>
#include <QString>

namespace SegScale::Storage {

class Credentials {
public:
    static QString defaultPath();
    // Refuses a file that group or others may read or write. A missing file is an error
    // here; loadDefault() treats a missing default file as "no credentials".
    static Result<Credentials> load(const QString &path);
    static Result<Credentials> loadDefault();

    void set(const QString &hostPattern, const HostCredentials &credentials) { m_hosts.insert(hostPattern, credentials); }
    HostCredentials forHost(const QString &host, int port) const;
    bool isEmpty() const { return m_hosts.isEmpty(); }

private:
    QHash<QString, HostCredentials> m_hosts;
};

} // namespace SegScale::Storage
