#include "pipeline/storagefetcher.h"

#include "storage/connectiontester.h"
#include "storage/remotelocation.h"

namespace SegScale::Pipeline {

struct StorageFetcher::Server {
    // Held while opening, so that the fetch threads that all start at once on a new
    // server wait for one connection attempt instead of each making their own.
    std::mutex openMutex;
    std::shared_ptr<Storage::Storage> storage;
};

namespace {

QString serverKey(const Storage::StorageUrl &url)
{
    return QStringLiteral("%1@%2:%3").arg(url.user, url.host).arg(url.port);
}

} // namespace

StorageFetcher::StorageFetcher(Storage::Credentials credentials, Storage::StorageOptions options)
    : m_credentials(std::move(credentials)), m_options(std::move(options))
{
}

StorageFetcher::~StorageFetcher() = default;

// The spelling of locations moved to Storage::RemoteLocation (the study services and the
// desktop app use it without the engine); these stay for the engine's callers.
bool StorageFetcher::isRemote(const QString &location)
{
    return Storage::RemoteLocation::isRemote(location);
}

Result<Storage::StorageUrl> StorageFetcher::parseRemote(const QString &location)
{
    return Storage::RemoteLocation::parse(location);
}

QString StorageFetcher::serverUrl(const Storage::StorageUrl &url)
{
    return Storage::RemoteLocation::serverUrl(url);
}

QString StorageFetcher::location(const QString &storageUrl, const QString &absolutePath)
{
    return Storage::RemoteLocation::location(storageUrl, absolutePath);
}

QString StorageFetcher::location(const Storage::StorageUrl &server, const QString &absolutePath)
{
    return Storage::RemoteLocation::location(server, absolutePath);
}

std::shared_ptr<StorageFetcher::Server> StorageFetcher::server(const Storage::StorageUrl &url)
{
    std::lock_guard lock(m_mutex);
    auto &slot = m_servers[serverKey(url)];
    if (!slot)
        slot = std::make_shared<Server>();
    return slot;
}

int StorageFetcher::openStorages() const
{
    std::lock_guard lock(m_mutex);
    int n = 0;
    for (const auto &s : m_servers) {
        std::lock_guard open(s->openMutex);
        n += s->storage ? 1 : 0;
    }
    return n;
}

Result<std::shared_ptr<Storage::Storage>> StorageFetcher::storageFor(const Storage::StorageUrl &url)
{
    if (url.isLocal())
        return Error{ErrorCategory::Usage, QStringLiteral("%1 is not an SFTP URL").arg(url.toString())};
    const auto s = server(url);
    std::lock_guard lock(s->openMutex);
    if (s->storage)
        return s->storage;
    // Rooted at "/": one pool per server serves every folder of it. A failure is not
    // remembered, so a server that comes back later is used again.
    Storage::StorageUrl root = url;
    root.path = QStringLiteral("/");
    auto opened = Storage::openStorage(root, m_credentials, m_options);
    if (!opened)
        return opened.error();
    s->storage = *opened;
    return s->storage;
}

Result<std::shared_ptr<Storage::Storage>> StorageFetcher::connect(const Storage::StorageUrl &url,
                                                                  const QString &credentialsPath)
{
    auto storage = storageFor(url);
    if (storage || storage.error().category != ErrorCategory::Storage)
        return storage;
    // Ask again step by step only to learn whether the host key was the problem, so the
    // user gets the exact command that trusts it.
    Storage::StorageOptions check = m_options;
    check.connections = 1;
    check.maxRetries = 0;
    const auto report = Storage::ConnectionTester::run(url, m_credentials, check);
    if (!report.hostKeyProblem || report.hostKeyProblem->kind != Storage::HostKeyProblem::Kind::Unknown)
        return storage;
    const auto &p = *report.hostKeyProblem;
    QString accept = QStringLiteral("segscale storage test %1 --accept-new-host-key").arg(url.toString());
    if (!m_options.knownHostsPath.isEmpty())
        accept += QStringLiteral(" --known-hosts ") + m_options.knownHostsPath;
    if (!credentialsPath.isEmpty())
        accept += QStringLiteral(" --credentials ") + credentialsPath;
    return Error{ErrorCategory::Usage,
                 QStringLiteral("unknown host key for %1: %2 key fingerprint %3 is not in %4.\n"
                                "  Check the fingerprint with the server's administrator, then trust it with:\n    %5")
                     .arg(p.host, p.keyType, p.fingerprint, p.knownHostsPath, accept)};
}

Result<std::shared_ptr<Storage::Storage>> StorageFetcher::openFolder(const Storage::StorageUrl &url) const
{
    return Storage::openStorage(url, m_credentials, m_options);
}

Result<QByteArray> StorageFetcher::fetch(const QString &location, const DecodeOptions &limits)
{
    if (!isRemote(location)) {
        if (location.startsWith(QLatin1StringView("file:"), Qt::CaseInsensitive)) {
            auto url = Storage::StorageUrl::parse(location);
            if (!url)
                return url.error();
            return ImageDecoder::readFile(url->path, limits);
        }
        return ImageDecoder::readFile(location, limits);
    }

    auto url = parseRemote(location);
    if (!url) {
        // A bad location in a task is that image's problem, not the user's command line.
        const Error &e = url.error();
        return Error{e.category == ErrorCategory::Usage ? ErrorCategory::Unreadable : e.category, e.message};
    }
    auto storage = storageFor(*url);
    if (!storage)
        return storage.error();
    auto bytes = (*storage)->read(url->path, limits.maxFileBytes);
    if (!bytes)
        return bytes.error();
    if (bytes->isEmpty())
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: empty file (0 bytes)").arg(location)};
    return bytes;
}

} // namespace SegScale::Pipeline
