#pragma once
// A fixed-size pool of SFTP connections to one server, shared by all threads using an
// SftpStorage, so several transfers are in flight at once (one per connection; a single
// libssh session is not thread-safe). It also owns the failure policy: an operation that
// ran past its timeout is aborted by a watchdog, and one whose connection broke (server
// restarted, network dropped) is retried on a fresh connection with back-off, up to
// StorageOptions::maxRetries times, before its Storage error is returned.

#include "base/result.h"
#include "storage/connectionreport.h"
#include "storage/credentials.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace SegScale::Storage {

class SftpConnection;

class SftpSessionPool {
public:
    SftpSessionPool(StorageUrl url, Credentials credentials, StorageOptions options);
    ~SftpSessionPool();
    SftpSessionPool(const SftpSessionPool &) = delete;
    SftpSessionPool &operator=(const SftpSessionPool &) = delete;

    // Runs `operation` on a connection of the pool (thread-safe; blocks while all
    // connections are busy). The operation may run more than once, so it must be safe
    // to repeat; it must not keep the connection.
    Result<void> run(const std::function<Result<void>(SftpConnection &)> &operation);
    // Opens one connection now, without retries, so that a wrong host key or password
    // is reported when the storage is opened rather than on the first image.
    Result<void> connect(ConnectionReport *report = nullptr);

    int reconnects() const;

private:
    using Clock = std::chrono::steady_clock;

    Result<std::unique_ptr<SftpConnection>> acquire(ConnectionReport *report);
    void release(std::unique_ptr<SftpConnection> connection);
    std::chrono::milliseconds backoff(int attempt) const;
    void watch();

    const StorageUrl m_url;
    const Credentials m_credentials;
    const StorageOptions m_options;

    mutable std::mutex m_mutex;
    std::condition_variable m_available;
    std::condition_variable m_wakeWatchdog;
    std::vector<std::unique_ptr<SftpConnection>> m_idle;
    std::map<SftpConnection *, Clock::time_point> m_busy; // deadline of each running operation
    int m_open = 0;       // idle + busy + being connected
    int m_reconnects = 0; // connections replaced after breaking
    bool m_stopping = false;
    std::thread m_watchdog;
};

} // namespace SegScale::Storage
