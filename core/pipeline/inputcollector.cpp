#include "pipeline/inputcollector.h"

#include "pipeline/storagefetcher.h"
#include "storage/storagepath.h"

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

namespace {

// "a/b/c.jpg" -> "a/b/c": the stem keeps the folders so that equal names in different
// folders do not overwrite each other's outputs.
QString stemOf(const QString &relativePath)
{
    const QFileInfo relInfo(relativePath);
    return relInfo.path() == QLatin1StringView(".") ? relInfo.completeBaseName()
                                                    : relInfo.path() + QLatin1Char('/') + relInfo.completeBaseName();
}

} // namespace

Result<std::vector<InputImage>> InputCollector::collect(const QStringList &inputs, const QStringList &patterns,
                                                        StorageFetcher *remote)
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
    // A file or folder on an SFTP server: listed through a Storage rooted at the folder
    // (paths relative to it, as for local folders), read later through `remote`.
    auto addRemote = [&](const QString &input) -> Result<void> {
        if (!remote)
            return Error{ErrorCategory::Usage, QStringLiteral("input %1: remote inputs are not available here").arg(input)};
        auto url = StorageFetcher::parseRemote(input);
        if (!url)
            return Error{ErrorCategory::Usage, url.error().message};
        // The shared connection first: a refused host key or password is reported once,
        // as what it is, before anything else is tried.
        auto server = remote->storageFor(*url);
        if (!server)
            return server.error();
        if (auto entry = (*server)->stat(url->path); !entry) {
            if (entry.error().category == ErrorCategory::Missing)
                return Error{ErrorCategory::Usage, QStringLiteral("input %1 does not exist").arg(input)};
            return entry.error();
        }
        auto folder = remote->openFolder(*url);
        if (!folder) {
            // Unreadable here means "not a folder": the input names one file.
            if (folder.error().category != ErrorCategory::Unreadable)
                return folder.error();
            add(StorageFetcher::location(*url, url->path), input, QFileInfo(url->path).completeBaseName());
            return {};
        }
        auto files = (*folder)->list(QString(), patterns, {});
        if (!files)
            return files.error();
        const QString prefix = input.endsWith(QLatin1Char('/')) ? input.chopped(1) : input;
        for (const auto &f : *files)
            add(StorageFetcher::location(*url, Storage::StoragePath::join(url->path, f.path)), prefix + QLatin1Char('/') + f.path,
                stemOf(f.path));
        return {};
    };

    for (const QString &given : inputs) {
        if (StorageFetcher::isRemote(given)) {
            if (auto r = addRemote(given); !r)
                return r.error();
            continue;
        }
        QString input = given;
        if (input.startsWith(QLatin1StringView("file:"), Qt::CaseInsensitive)) {
            auto url = Storage::StorageUrl::parse(input);
            if (!url)
                return url.error();
            input = url->path;
        }
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
            add(path, prefix + QLatin1Char('/') + rel, stemOf(rel));
        }
    }
    return images;
}

} // namespace SegScale::Pipeline
