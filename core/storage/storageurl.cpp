#include "storage/storageurl.h"

#include <QDir>
#include <QUrl>

#include <pwd.h>
#include <unistd.h>

namespace SegScale::Storage {

namespace {

QString currentUserName()
{
    // getpwuid and not $USER: the environment of an agent started by Slurm or systemd
    // often has no USER at all.
    if (const passwd *pw = ::getpwuid(::geteuid()); pw && pw->pw_name)
        return QString::fromLocal8Bit(pw->pw_name);
    return qEnvironmentVariable("USER");
}

} // namespace

QString StorageUrl::toString() const
{
    if (isLocal())
        return path;
    QUrl url;
    url.setScheme(QStringLiteral("sftp"));
    url.setUserName(user);
    url.setHost(host);
    if (port != 22)
        url.setPort(port);
    url.setPath(path);
    return url.toString();
}

QString StorageUrl::hostKeyName() const
{
    return port == 22 ? host : QStringLiteral("[%1]:%2").arg(host).arg(port);
}

Result<StorageUrl> StorageUrl::parse(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("empty storage location")};

    const qsizetype schemeEnd = trimmed.indexOf(QStringLiteral("://"));
    if (schemeEnd < 0) {
        // A plain path. Relative paths are taken from the current directory, like any
        // command-line tool does.
        StorageUrl url;
        url.path = QDir::cleanPath(QDir::current().absoluteFilePath(trimmed));
        return url;
    }

    const QString scheme = trimmed.left(schemeEnd).toLower();
    if (scheme == QLatin1StringView("file")) {
        const QUrl qurl(trimmed, QUrl::StrictMode);
        if (!qurl.isValid() || !qurl.isLocalFile() || (!qurl.host().isEmpty() && qurl.host() != QLatin1StringView("localhost")))
            return Error{ErrorCategory::Usage,
                         QStringLiteral("\"%1\" is not a local file URL (expected file:///absolute/path)").arg(trimmed)};
        StorageUrl url;
        url.path = QDir::cleanPath(qurl.toLocalFile());
        return url;
    }
    if (scheme != QLatin1StringView("sftp"))
        return Error{ErrorCategory::Usage,
                     QStringLiteral("unsupported storage location \"%1\": use a local path, file:///path or "
                                    "sftp://user@host:port/path")
                         .arg(trimmed)};

    const QUrl qurl(trimmed, QUrl::StrictMode);
    if (!qurl.isValid())
        return Error{ErrorCategory::Usage, QStringLiteral("malformed SFTP URL \"%1\": %2").arg(trimmed, qurl.errorString())};
    if (!qurl.password().isEmpty() || qurl.authority().section(QLatin1Char('@'), 0, -2).contains(QLatin1Char(':'))) {
        // Do not echo the URL back: it holds the password.
        return Error{ErrorCategory::Usage,
                     QStringLiteral("a password in a storage URL is refused (it would end up in logs and "
                                    "process lists); put it in the credentials file "
                                    "(~/.config/segscale/credentials.json, mode 0600) or use ssh-agent")};
    }
    if (qurl.host().isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("SFTP URL \"%1\" names no host").arg(trimmed)};
    if (!qurl.query().isEmpty() || !qurl.fragment().isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("SFTP URL \"%1\" must not have a query or fragment").arg(trimmed)};

    StorageUrl url;
    url.scheme = Scheme::Sftp;
    url.host = qurl.host();
    url.port = qurl.port(22);
    if (url.port < 1 || url.port > 65535)
        return Error{ErrorCategory::Usage, QStringLiteral("SFTP URL \"%1\" has an invalid port").arg(trimmed)};
    url.user = qurl.userName().isEmpty() ? currentUserName() : qurl.userName();
    url.path = qurl.path().isEmpty() ? QStringLiteral("/") : QDir::cleanPath(qurl.path());
    if (!url.path.startsWith(QLatin1Char('/')))
        url.path.prepend(QLatin1Char('/'));
    return url;
}

} // namespace SegScale::Storage
