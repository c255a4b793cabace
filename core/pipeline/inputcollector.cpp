#include "pipeline/inputcollector.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace SegScale::Pipeline {

QStringList InputCollector::defaultPatterns()
{
    return {QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.png"), QStringLiteral("*.bmp"),
            QStringLiteral("*.tif"), QStringLiteral("*.tiff"), QStringLiteral("*.webp")};
}

Result<std::vector<InputImage>> InputCollector::collect(const QStringList &inputs, const QStringList &patterns)
{
    std::vector<QRegularExpression> matchers;
    for (const QString &p : patterns)
        matchers.emplace_back(QRegularExpression::fromWildcard(p, Qt::CaseInsensitive));
    auto matches = [&](const QString &fileName) {
        return std::any_of(matchers.begin(), matchers.end(), [&](const auto &m) { return m.match(fileName).hasMatch(); });
    };

    std::vector<InputImage> images;
    QSet<QString> stems;
    auto add = [&](const QString &path, const QString &name, QString stem) {
        // Two inputs may share a file name (a/x.jpg, b/x.jpg given as files): keep both.
        QString unique = stem;
        for (int n = 2; stems.contains(unique); ++n)
            unique = stem + QStringLiteral("-%1").arg(n);
        stems.insert(unique);
        images.push_back(InputImage{path, name, unique});
    };
    for (const QString &input : inputs) {
        const QFileInfo info(input);
        if (info.isSymLink() && !info.exists()) {
            add(info.absoluteFilePath(), input, info.completeBaseName());  // fails later as "missing"
            continue;
        }
        if (!info.exists())
            return Error{ErrorCategory::Usage, QStringLiteral("input %1 does not exist").arg(input)};
        if (!info.isDir()) {
            add(info.absoluteFilePath(), input, info.completeBaseName());
            continue;
        }
        const QDir root(info.absoluteFilePath());
        QStringList found;
        // QDir::System lists dangling symlinks too; QDirIterator follows symlinked folders.
        QDirIterator it(root.path(), QDir::Files | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot,
                        QDirIterator::Subdirectories | QDirIterator::FollowSymlinks);
        while (it.hasNext()) {
            const QString path = it.next();
            if (matches(it.fileName()))
                found << path;
        }
        found.sort();  // a stable order whatever the file system returns
        const QString prefix = input.endsWith(QLatin1Char('/')) ? input.chopped(1) : input;
        for (const QString &path : found) {
            const QString rel = root.relativeFilePath(path);
            const QFileInfo relInfo(rel);
            const QString stem = relInfo.path() == QLatin1StringView(".") ? relInfo.completeBaseName()
                                                                          : relInfo.path() + QLatin1Char('/') + relInfo.completeBaseName();
            add(path, prefix + QLatin1Char('/') + rel, stem);
        }
    }
    return images;
}

} // namespace SegScale::Pipeline
