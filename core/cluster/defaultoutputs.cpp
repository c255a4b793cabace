#include "cluster/defaultoutputs.h"

#include <QFileInfo>

namespace SegScale::Cluster {

QString defaultOutputs(const QString &database)
{
    if (database.contains(QLatin1StringView("://")))
        return {};
    const QFileInfo info(database);
    return info.absolutePath() + QLatin1Char('/') + info.completeBaseName() + QStringLiteral("-outputs");
}

} // namespace SegScale::Cluster
