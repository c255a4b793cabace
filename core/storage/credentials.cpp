#include "storage/credentials.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>

#include <sys/stat.h>

namespace SegScale::Storage {

namespace {

QString expandHome(const QString &path)
{
    if (path == QLatin1StringView("~"))
        return QDir::homePath();
    if (path.startsWith(QLatin1StringView("~/")))
        return QDir::homePath() + path.mid(1);
    return path;
}

} // namespace

QString Credentials::defaultPath()
{
    // Fixed to ~/.config rather than the Qt writable location so the path in the
    // documentation is the path on every machine, whatever the organisation name.
    const QString config = qEnvironmentVariableIsSet("XDG_CONFIG_HOME") ? qEnvironmentVariable("XDG_CONFIG_HOME")
                                                                         : QDir::homePath() + QStringLiteral("/.config");
    return config + QStringLiteral("/segscale/credentials.json");
}

Result<Credentials> Credentials::load(const QString &path)
{
    struct stat st {};
    const QByteArray native = QFile::encodeName(path);
    if (::stat(native.constData(), &st) != 0)
        return Error{ErrorCategory::Missing, QStringLiteral("credentials file %1 does not exist").arg(path)};
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return Error{ErrorCategory::Unreadable,
                     QStringLiteral("credentials file %1 is accessible to group or others (mode %2); it holds secrets, "
                                    "so it is refused: run `chmod 600 %1`")
                         .arg(path)
                         .arg(st.st_mode & 0777, 3, 8, QLatin1Char('0'))};

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read credentials file %1: %2").arg(path, file.errorString())};
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (doc.isNull() || !doc.isObject())
        return Error{ErrorCategory::Corrupt, QStringLiteral("credentials file %1 is not a JSON object: %2")
                                                 .arg(path, parseError.errorString())};

    Credentials credentials;
    const QJsonValue hostsValue = doc.object().value(QStringLiteral("hosts"));
    if (!hostsValue.isObject())
        return Error{ErrorCategory::Corrupt, QStringLiteral("credentials file %1 has no \"hosts\" object").arg(path)};
    const QJsonObject hosts = hostsValue.toObject();
    for (auto it = hosts.begin(); it != hosts.end(); ++it) {
        if (!it.value().isObject())
            return Error{ErrorCategory::Corrupt,
                         QStringLiteral("credentials file %1: entry \"%2\" is not an object").arg(path, it.key())};
        const QJsonObject o = it.value().toObject();
        HostCredentials h;
        h.keyFile = expandHome(o.value(QStringLiteral("key_file")).toString());
        h.passphrase = o.value(QStringLiteral("passphrase")).toString();
        h.password = o.value(QStringLiteral("password")).toString();
        h.agent = o.value(QStringLiteral("agent")).toBool(false);
        if (!h.keyFile.isEmpty() && QFileInfo(h.keyFile).isRelative())
            h.keyFile = QFileInfo(path).absoluteDir().absoluteFilePath(h.keyFile);
        credentials.m_hosts.insert(it.key(), h);
    }
    return credentials;
}

Result<Credentials> Credentials::loadDefault()
{
    const QString path = defaultPath();
    if (!QFileInfo::exists(path))
        return Credentials{};
    return load(path);
}

HostCredentials Credentials::forHost(const QString &host, int port) const
{
    for (const QString &key : {QStringLiteral("[%1]:%2").arg(host).arg(port), host, QStringLiteral("*")}) {
        if (const auto it = m_hosts.constFind(key); it != m_hosts.constEnd())
            return *it;
    }
    return {};
}

} // namespace SegScale::Storage
