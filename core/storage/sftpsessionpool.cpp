#include "storage/sftpsessionpool.h"

#include "storage/sftpconnection.h"

#include <QRandomGenerator>

namespace SegScale::Storage {

SftpSessionPool::SftpSessionPool(StorageUrl url, Credentials credentials, StorageOptions options)
    : m_url(std::move(url)), m_credentials(std::move(credentials)), m_options(std::move(options))
{
    m_watchdog = std::thread([this] { watch(); });
}

SftpSessionPool::~SftpSessionPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wakeWatchdog.notify_all();
    m_watchdog.join();
}

int SftpSessionPool::reconnects() const
{
    std::lock_guard lock(m_mutex);
    return m_reconnects;
}

void SftpSessionPool::watch()
{
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        m_wakeWatchdog.wait_for(lock, std::chrono::milliseconds(100));
        const auto now = Clock::now();
        for (const auto &[connection, deadline] : m_busy)
            if (now > deadline)
                connection->abort(); // the blocked call returns with an error; the caller retries
    }
}

std::chrono::milliseconds SftpSessionPool::backoff(int attempt) const
{
    const int base = std::max(1, m_options.retryBaseDelayMs);
    const qint64 delay = std::min<qint64>(2000, qint64(base) << std::min(attempt, 16));
    // Jitter so that all threads of all agents do not reconnect in the same instant.
    return std::chrono::milliseconds(delay + QRandomGenerator::global()->bounded(base / 2 + 1));
}

Result<std::unique_ptr<SftpConnection>> SftpSessionPool::acquire(ConnectionReport *report)
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (!m_idle.empty()) {
            auto connection = std::move(m_idle.back());
            m_idle.pop_back();
            return connection;
        }
        if (m_open < std::max(1, m_options.connections)) {
            ++m_open;
            lock.unlock(); // connecting takes a while; others may use idle connections meanwhile
            auto connection = SftpConnection::open(m_url, m_credentials, m_options, report);
            if (!connection) {
                lock.lock();
                --m_open;
                m_available.notify_one();
            }
            return connection;
        }
        m_available.wait(lock);
    }
}

void SftpSessionPool::release(std::unique_ptr<SftpConnection> connection)
{
    std::unique_lock lock(m_mutex);
    if (connection->broken()) {
        --m_open;
        ++m_reconnects;
        lock.unlock();
        connection.reset();
    } else {
        m_idle.push_back(std::move(connection));
        lock.unlock();
    }
    m_available.notify_one();
}

Result<void> SftpSessionPool::connect(ConnectionReport *report)
{
    auto connection = acquire(report);
    if (!connection)
        return connection.error();
    release(std::move(*connection));
    return {};
}

Result<void> SftpSessionPool::run(const std::function<Result<void>(SftpConnection &)> &operation)
{
    for (int attempt = 0;; ++attempt) {
        ConnectionReport report;
        auto connection = acquire(&report);
        if (!connection) {
            // Only failures that a server coming back would cure are retried; a refused
            // host key or password stays refused.
            const bool transient = report.connectionLost || report.failedStep == ConnectionStep::TcpConnect ||
                                   report.failedStep == ConnectionStep::KeyExchange ||
                                   report.failedStep == ConnectionStep::Sftp;
            if (!transient)
                return connection.error();
            if (attempt >= m_options.maxRetries)
                return Error{ErrorCategory::Storage, connection.error().message +
                                                         QStringLiteral(" (gave up after %1 attempts)").arg(attempt + 1)};
            std::this_thread::sleep_for(backoff(attempt));
            continue;
        }

        SftpConnection *raw = connection->get();
        {
            std::lock_guard lock(m_mutex);
            m_busy[raw] = Clock::now() + std::chrono::milliseconds(std::max(1, m_options.operationTimeoutMs));
        }
        Result<void> result = operation(*raw);
        {
            std::lock_guard lock(m_mutex);
            m_busy.erase(raw);
        }
        const bool broken = raw->broken();
        release(std::move(*connection));
        if (result.ok() || !broken)
            return result;
        if (attempt >= m_options.maxRetries)
            return Error{ErrorCategory::Storage,
                         result.error().message + QStringLiteral(" (gave up after %1 attempts)").arg(attempt + 1)};
        std::this_thread::sleep_for(backoff(attempt));
    }
}

} // namespace SegScale::Storage
