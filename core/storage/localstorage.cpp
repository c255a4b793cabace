#include "storage/localstorage.h"

#include "storage/pathfilter.h"
#include "storage/storagepath.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>

namespace SegScale::Storage {

namespace {

FileEntry entryFor(const QString &relative, const QFileInfo &info)
{
    return FileEntry{relative, info.size(), info.lastModified().toUTC()};
}

} // namespace

Result<std::shared_ptr<LocalStorage>> LocalStorage::open(const QString &rootPath)
{
    const QFileInfo info(rootPath);
    if (!info.exists())
        return Error{ErrorCategory::Missing, QStringLiteral("storage folder %1 does not exist").arg(rootPath)};
    if (!info.isDir())
        return Error{ErrorCategory::Unreadable, QStringLiteral("storage root %1 is not a folder").arg(rootPath)};
    return std::shared_ptr<LocalStorage>(new LocalStorage(info.canonicalFilePath()));
}

StorageUrl LocalStorage::url() const
{
    StorageUrl u;
    u.path = m_root;
    return u;
}

Result<QString> LocalStorage::resolveExisting(const QString &path) const
{
    const auto rel = StoragePath::relative(m_root, path);
    if (!rel)
        return rel.error();
    const QString full = StoragePath::join(m_root, *rel);
    const QFileInfo info(full);
    if (!info.exists()) {
        if (info.isSymLink())
            return Error{ErrorCategory::Missing, QStringLiteral("%1 is a dangling symlink").arg(full)};
        return Error{ErrorCategory::Missing, QStringLiteral("%1 does not exist").arg(full)};
    }
    const QString canonical = info.canonicalFilePath();
    if (!StoragePath::isInside(m_root, canonical))
        return Error{ErrorCategory::Unreadable,
                     QStringLiteral("%1 resolves to %2, outside the storage root %3; refused").arg(full, canonical, m_root)};
    return canonical;
}

Result<QList<FileEntry>> LocalStorage::list(const QString &root, const QStringList &include, const QStringList &exclude,
                                            std::function<void(qint64 found)> progress)
{
    const auto start = resolveExisting(root);
    if (!start)
        return start.error();
    if (!QFileInfo(*start).isDir())
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1 is not a folder").arg(*start)};
    const auto startRel = StoragePath::relative(m_root, *start);
    if (!startRel)
        return startRel.error();

    const PathFilter filter(include, exclude);
    QList<FileEntry> found;
    QStringList pending{*startRel};
    while (!pending.isEmpty()) {
        const QString dirRel = pending.takeLast();
        const QDir dir(StoragePath::join(m_root, dirRel));
        if (!dir.isReadable())
            return Error{ErrorCategory::Unreadable, QStringLiteral("cannot list folder %1").arg(dir.path())};
        const QFileInfoList children =
            dir.entryInfoList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::NoSort);
        for (const QFileInfo &child : children) {
            const QString rel = dirRel.isEmpty() ? child.fileName() : dirRel + QLatin1Char('/') + child.fileName();
            if (child.isSymLink()) {
                // Followed only when it stays inside the root and names a file: a link to
                // a folder could make a cycle, a link outside could leak other data.
                if (!child.exists() || !child.isFile() || !StoragePath::isInside(m_root, child.canonicalFilePath()))
                    continue;
            }
            if (child.isDir()) {
                if (filter.entersDirectory(rel, child.fileName()))
                    pending.append(rel);
            } else if (child.isFile() && filter.acceptsFile(rel, child.fileName())) {
                found.append(entryFor(rel, child));
            }
        }
        if (progress)
            progress(found.size());
    }
    std::sort(found.begin(), found.end(), [](const FileEntry &a, const FileEntry &b) { return a.path < b.path; });
    return found;
}

Result<FileEntry> LocalStorage::stat(const QString &path)
{
    const auto full = resolveExisting(path);
    if (!full)
        return full.error();
    const QFileInfo info(*full);
    // The caller's spelling (a symlink's own name), already checked by resolveExisting.
    return entryFor(StoragePath::relative(m_root, path).value(), info);
}

Result<QByteArray> LocalStorage::read(const QString &path, qint64 maxBytes)
{
    const auto full = resolveExisting(path);
    if (!full)
        return full.error();
    QFile file(*full);
    if (!QFileInfo(*full).isFile())
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1 is not a regular file").arg(*full)};
    if (!file.open(QIODevice::ReadOnly)) {
        if (!file.exists())
            return Error{ErrorCategory::Missing, QStringLiteral("%1 disappeared").arg(*full)};
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read %1: %2").arg(*full, file.errorString())};
    }
    if (maxBytes > 0 && file.size() > maxBytes)
        return Error{ErrorCategory::TooLarge,
                     QStringLiteral("%1 is %2 bytes, over the limit of %3").arg(*full).arg(file.size()).arg(maxBytes)};
    // Read one byte past the limit so a file that grew since the size check is caught.
    QByteArray data = maxBytes > 0 ? file.read(maxBytes + 1) : file.readAll();
    if (file.error() != QFileDevice::NoError)
        return Error{ErrorCategory::Unreadable, QStringLiteral("error reading %1: %2").arg(*full, file.errorString())};
    if (maxBytes > 0 && data.size() > maxBytes)
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1 is over the limit of %2 bytes").arg(*full).arg(maxBytes)};
    return data;
}

Result<void> LocalStorage::write(const QString &path, const QByteArray &data)
{
    const auto rel = StoragePath::relative(m_root, path);
    if (!rel)
        return rel.error();
    if (rel->isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("cannot write to the storage root itself")};
    const QString full = StoragePath::join(m_root, *rel);

    // The deepest existing ancestor must resolve inside the root, or a symlinked folder
    // would let the write land elsewhere.
    QString existing = QFileInfo(full).absolutePath();
    while (!QFileInfo::exists(existing) && existing.size() > m_root.size())
        existing = QFileInfo(existing).absolutePath();
    if (!StoragePath::isInside(m_root, QFileInfo(existing).canonicalFilePath()))
        return Error{ErrorCategory::Unreadable, QStringLiteral("folder %1 resolves outside the storage root %2; refused").arg(existing, m_root)};
    const QFileInfo target(full);
    if (target.isSymLink() && !StoragePath::isInside(m_root, target.canonicalFilePath()))
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1 is a symlink leading outside the storage root; refused").arg(full)};

    if (!QDir().mkpath(target.absolutePath()))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot create folder %1").arg(target.absolutePath())};
    // QSaveFile writes a temporary file next to the target and renames it on commit:
    // readers see the old content or the new one, never half of it.
    QSaveFile file(full);
    if (!file.open(QIODevice::WriteOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot write %1: %2").arg(full, file.errorString())};
    if (file.write(data) != data.size() || !file.commit())
        return Error{ErrorCategory::Unreadable, QStringLiteral("writing %1 failed: %2").arg(full, file.errorString())};
    return {};
}

} // namespace SegScale::Storage
