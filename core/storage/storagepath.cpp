#include "storage/storagepath.h"

#include <QStringList>

namespace SegScale::Storage::StoragePath {

Result<QString> relative(const QString &root, const QString &path)
{
    QString p = path;
    if (p.startsWith(QLatin1Char('/'))) {
        if (!isInside(root, p))
            return Error{ErrorCategory::Usage, QStringLiteral("path %1 is outside the storage root %2").arg(path, root)};
        p = p.mid(root == QLatin1StringView("/") ? 1 : root.size() + 1);
    }
    QStringList clean;
    for (const QString &segment : p.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
        if (segment == QLatin1StringView("."))
            continue;
        // Refused rather than resolved: a ".." in a dataset path is either a mistake or
        // an attempt to read something else, and both deserve an error.
        if (segment == QLatin1StringView(".."))
            return Error{ErrorCategory::Usage,
                         QStringLiteral("path %1 contains \"..\"; paths must stay inside the storage root").arg(path)};
        clean.append(segment);
    }
    return clean.join(QLatin1Char('/'));
}

QString join(const QString &root, const QString &relative)
{
    if (relative.isEmpty())
        return root;
    if (root.endsWith(QLatin1Char('/')))
        return root + relative;
    return root + QLatin1Char('/') + relative;
}

bool isInside(const QString &root, const QString &resolved)
{
    if (root == QLatin1StringView("/"))
        return resolved.startsWith(QLatin1Char('/'));
    return resolved == root || (resolved.startsWith(root) && resolved.at(root.size()) == QLatin1Char('/'));
}

} // namespace SegScale::Storage::StoragePath
