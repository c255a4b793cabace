#include "storage/connectiontester.h"

#include "storage/sftpconnection.h"

#include <QDir>
#include <QFileInfo>

namespace SegScale::Storage {

namespace {

ConnectionReport failed(ConnectionReport report, ConnectionStep step, Error error)
{
    report.failedStep = step;
    report.error = std::move(error);
    return report;
}

// Missing means the path is wrong; anything else that is not a network failure is about
// what the account may do.
ConnectionStep stepFor(const Error &error)
{
    if (error.category == ErrorCategory::Missing)
        return ConnectionStep::Path;
    if (error.category == ErrorCategory::Unreadable)
        return ConnectionStep::Permission;
    return ConnectionStep::Sftp;
}

ConnectionReport testLocal(const StorageUrl &url)
{
    ConnectionReport report;
    const QFileInfo info(url.path);
    if (!info.exists())
        return failed(report, ConnectionStep::Path, {ErrorCategory::Missing, QStringLiteral("%1 does not exist").arg(url.path)});
    if (!info.isDir())
        return failed(report, ConnectionStep::Path, {ErrorCategory::Unreadable, QStringLiteral("%1 is not a folder").arg(url.path)});
    report.passed.append(ConnectionStep::Path);
    if (!info.isReadable() || !info.isExecutable())
        return failed(report, ConnectionStep::Permission,
                      {ErrorCategory::Unreadable, QStringLiteral("%1 cannot be listed by this account").arg(url.path)});
    report.passed.append(ConnectionStep::Permission);
    return report;
}

} // namespace

ConnectionReport ConnectionTester::run(const StorageUrl &url, const Credentials &credentials, const StorageOptions &options)
{
    if (url.isLocal())
        return testLocal(url);

    ConnectionReport report;
    auto connection = SftpConnection::open(url, credentials, options, &report);
    if (!connection)
        return report;
    SftpConnection &c = **connection;

    QString root = url.path;
    if (root == QLatin1StringView("/~") || root.startsWith(QLatin1StringView("/~/"))) {
        const auto home = c.realpath(QStringLiteral("."));
        if (!home)
            return failed(report, stepFor(home.error()), home.error());
        root = *home + root.mid(2);
    }
    const auto resolved = c.realpath(root);
    if (!resolved)
        return failed(report, stepFor(resolved.error()), resolved.error());
    const auto entry = c.stat(*resolved, true);
    if (!entry)
        return failed(report, stepFor(entry.error()), entry.error());
    if (entry->type != SftpConnection::RemoteEntry::Type::Directory)
        return failed(report, ConnectionStep::Path,
                      {ErrorCategory::Unreadable, QStringLiteral("%1 on %2 is not a folder").arg(root, url.hostKeyName())});
    report.passed.append(ConnectionStep::Path);
    const auto listing = c.readDir(*resolved);
    if (!listing)
        return failed(report, stepFor(listing.error()) == ConnectionStep::Sftp ? ConnectionStep::Sftp : ConnectionStep::Permission,
                      listing.error());
    report.passed.append(ConnectionStep::Permission);
    return report;
}

} // namespace SegScale::Storage
