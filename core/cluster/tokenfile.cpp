#include "cluster/tokenfile.h"

#include <QFile>

namespace SegScale::Cluster {

Result<QByteArray> readTokenFile(const QString &path)
{
    QFile f(path);
    if (!f.exists())
        return Error{ErrorCategory::Usage, QStringLiteral("token file %1 does not exist").arg(path)};
    if (!f.open(QIODevice::ReadOnly))
        return Error{ErrorCategory::Usage, QStringLiteral("cannot read token file %1: %2").arg(path, f.errorString())};
    const QByteArray data = f.read(8192);
    const QList<QByteArray> lines = data.trimmed().split('\n');
    const QByteArray token = lines.value(0).trimmed();
    if (lines.size() > 1)
        return Error{ErrorCategory::Usage, QStringLiteral("token file %1 must hold one token on one line").arg(path)};
    if (token.size() < 16)
        return Error{ErrorCategory::Usage, QStringLiteral("the token in %1 is shorter than 16 characters; make one with "
                                                          "`head -c 24 /dev/urandom | base64 > %1`").arg(path)};
    return token;
}

} // namespace SegScale::Cluster
