#include "storage/knownhosts.h"

#include "storage/sftpconnection.h"

#include <QDir>

namespace SegScale::Storage {

QString defaultKnownHostsPath()
{
    return QDir::homePath() + QStringLiteral("/.ssh/known_hosts");
}

Result<void> acceptHostKey(const StorageUrl &url, const QString &fingerprint, const QString &knownHostsPath)
{
    if (url.isLocal())
        return Error{ErrorCategory::Usage, QStringLiteral("%1 is a local folder; it has no host key").arg(url.toString())};
    if (!fingerprint.startsWith(QLatin1StringView("SHA256:")))
        return Error{ErrorCategory::Usage, QStringLiteral("expected a SHA256:... fingerprint, got \"%1\"").arg(fingerprint)};
    return SftpConnection::recordHostKey(url, fingerprint, knownHostsPath);
}

} // namespace SegScale::Storage
