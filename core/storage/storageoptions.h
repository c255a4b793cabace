#pragma once
// Settings for reaching a storage that are not secrets: where known host keys live, how
// many connections to keep, timeouts and the reconnect policy. In-class defaults are the
// product defaults; the CLI, GUI and study file fill in what the user changed.

#include <QString>

namespace SegScale::Storage {

struct StorageOptions {
    QString knownHostsPath;        // empty: ~/.ssh/known_hosts
    bool acceptNewHostKey = false; // trust-on-first-use, like OpenSSH's accept-new; a changed key is still refused
    int connections = 4;           // SFTP sessions shared by all callers
    int connectTimeoutMs = 10000;  // TCP connect + key exchange + authentication
    int operationTimeoutMs = 30000; // one SFTP request (a whole read of one file counts as one)
    int maxRetries = 6;            // reconnect attempts after the server went away, then a Storage error
    int retryBaseDelayMs = 200;    // back-off doubles per attempt, capped at 2 s
};

} // namespace SegScale::Storage
