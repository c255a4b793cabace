#include "storage/remotelocation.h"

#include <QDir>
#include <QUrl>

namespace SegScale::Storage {

bool RemoteLocation::isRemote(const QString &location)
{
    return location.startsWith(QLatin1StringView("sftp://"), Qt::CaseInsensitive);
}

Result<StorageUrl> RemoteLocation::parse(const QString &location)
{
    if (!isRemote(location))
        return Error{ErrorCategory::Usage, QStringLiteral("%1 is not an sftp:// location").arg(location)};
    // StorageUrl::parse cleans the path, which would turn root/../../etc/passwd into
    // /etc/passwd without a word; look at the path as given first.
    const QUrl raw(location.trimmed(), QUrl::StrictMode);
    const QString path = raw.path(QUrl::FullyDecoded);
    if (path.split(QLatin1Char('/')).contains(QLatin1StringView("..")))
        return Error{ErrorCategory::Usage,
                     QStringLiteral("%1 contains \"..\"; refused (name the file or folder without climbing out of it)")
                         .arg(location)};
    if (path == QLatin1StringView("/~") || path.startsWith(QLatin1StringView("/~/")))
        return Error{ErrorCategory::Usage,
                     QStringLiteral("%1: a home-relative path (/~) cannot name images; give the absolute path").arg(location)};
    auto url = StorageUrl::parse(location);
    if (!url)
        return url.error();
    // Decoded, so that a file named "a%20b.jpg" or "x#1.jpg" is read under its real name.
    url->path = path.isEmpty() ? QStringLiteral("/") : QDir::cleanPath(path);
    if (!url->path.startsWith(QLatin1Char('/')))
        url->path.prepend(QLatin1Char('/'));
    return url;
}

QString RemoteLocation::serverUrl(const StorageUrl &url)
{
    QUrl u;
    u.setScheme(QStringLiteral("sftp"));
    u.setUserName(url.user);
    u.setHost(url.host);
    u.setPort(url.port); // explicit even for 22: one spelling per server in a study
    return u.toString(QUrl::FullyEncoded);
}

QString RemoteLocation::location(const QString &storageUrl, const QString &absolutePath)
{
    if (!isRemote(storageUrl))
        return absolutePath; // "file://", "" or a local root: the path is the location
    QUrl u(storageUrl);
    u.setPath(absolutePath, QUrl::DecodedMode);
    return u.toString(QUrl::FullyEncoded);
}

QString RemoteLocation::location(const StorageUrl &server, const QString &absolutePath)
{
    if (server.isLocal())
        return absolutePath;
    return location(serverUrl(server), absolutePath);
}

} // namespace SegScale::Storage
