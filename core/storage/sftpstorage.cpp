#include "storage/sftpstorage.h"

#include "storage/pathfilter.h"
#include "storage/sftpconnection.h"
#include "storage/sftpsessionpool.h"
#include "storage/storagepath.h"

#include <algorithm>

namespace SegScale::Storage {

using Type = SftpConnection::RemoteEntry::Type;

SftpStorage::SftpStorage(StorageUrl url, std::unique_ptr<SftpSessionPool> pool) : m_url(std::move(url)), m_pool(std::move(pool)) {}

SftpStorage::~SftpStorage() = default;

Result<std::shared_ptr<SftpStorage>> SftpStorage::open(const StorageUrl &url, const Credentials &credentials,
                                                       const StorageOptions &options)
{
    if (url.isLocal())
        return Error{ErrorCategory::Usage, QStringLiteral("%1 is not an SFTP URL").arg(url.toString())};
    std::shared_ptr<SftpStorage> storage(new SftpStorage(url, std::make_unique<SftpSessionPool>(url, credentials, options)));
    if (auto connected = storage->m_pool->connect(); !connected)
        return connected.error();

    const auto resolved = storage->m_pool->run([&](SftpConnection &c) -> Result<void> {
        QString root = url.path;
        if (root == QLatin1StringView("/~") || root.startsWith(QLatin1StringView("/~/"))) {
            const auto home = c.realpath(QStringLiteral("."));
            if (!home)
                return home.error();
            root = *home + root.mid(2);
        }
        const auto canonical = c.realpath(root);
        if (!canonical)
            return canonical.error();
        const auto entry = c.stat(*canonical, true);
        if (!entry)
            return entry.error();
        if (entry->type != Type::Directory)
            return Error{ErrorCategory::Unreadable, QStringLiteral("storage root %1 on %2 is not a folder").arg(root, url.hostKeyName())};
        storage->m_root = *canonical;
        return {};
    });
    if (!resolved)
        return resolved.error();
    return storage;
}

int SftpStorage::reconnects() const { return m_pool->reconnects(); }

Result<QString> SftpStorage::relativePath(const QString &path) const
{
    // Absolute paths may use either the URL's spelling of the root or the resolved one.
    if (path.startsWith(QLatin1Char('/')) && !StoragePath::isInside(m_root, path) && StoragePath::isInside(m_url.path, path))
        return StoragePath::relative(m_url.path, path);
    return StoragePath::relative(m_root, path);
}

Result<QString> SftpStorage::resolve(SftpConnection &connection, const QString &relative) const
{
    const QString full = StoragePath::join(m_root, relative);
    const auto canonical = connection.realpath(full);
    if (!canonical)
        return canonical.error();
    if (!StoragePath::isInside(m_root, *canonical))
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1 on %2 resolves to %3, outside the storage root %4; refused")
                                                    .arg(full, m_url.hostKeyName(), *canonical, m_root)};
    return *canonical;
}

Result<QList<FileEntry>> SftpStorage::list(const QString &root, const QStringList &include, const QStringList &exclude,
                                           std::function<void(qint64 found)> progress)
{
    const auto startRel = relativePath(root);
    if (!startRel)
        return startRel.error();
    const PathFilter filter(include, exclude);
    QList<FileEntry> found;

    // Check the starting folder, then one pooled operation per folder: a big tree does not
    // run into the per-operation timeout, and a reconnect repeats one folder only.
    QString startResolved;
    auto checked = m_pool->run([&](SftpConnection &c) -> Result<void> {
        const auto resolved = resolve(c, *startRel);
        if (!resolved)
            return resolved.error();
        const auto entry = c.stat(*resolved, true);
        if (!entry)
            return entry.error();
        if (entry->type != Type::Directory)
            return Error{ErrorCategory::Unreadable, QStringLiteral("%1 on %2 is not a folder").arg(*resolved, m_url.hostKeyName())};
        startResolved = *resolved;
        return {};
    });
    if (!checked)
        return checked.error();
    const auto startCanonicalRel = StoragePath::relative(m_root, startResolved);
    if (!startCanonicalRel)
        return startCanonicalRel.error();

    QStringList pending{*startCanonicalRel};
    while (!pending.isEmpty()) {
        const QString dirRel = pending.takeLast();
        QList<FileEntry> files;
        QStringList folders;
        auto listed = m_pool->run([&](SftpConnection &c) -> Result<void> {
            files.clear();
            folders.clear();
            const auto entries = c.readDir(StoragePath::join(m_root, dirRel));
            if (!entries)
                return entries.error();
            for (const auto &e : *entries) {
                const QString rel = dirRel.isEmpty() ? e.name : dirRel + QLatin1Char('/') + e.name;
                if (e.type == Type::Directory) {
                    if (filter.entersDirectory(rel, e.name))
                        folders.append(rel);
                } else if (e.type == Type::File) {
                    if (filter.acceptsFile(rel, e.name))
                        files.append(FileEntry{rel, e.size, e.modified});
                } else if (e.type == Type::Symlink && filter.acceptsFile(rel, e.name)) {
                    // Followed only to a file inside the root (see LocalStorage::list).
                    const auto target = resolve(c, rel);
                    if (!target) {
                        if (c.broken())
                            return target.error();
                        continue;
                    }
                    const auto t = c.stat(*target, true);
                    if (t && t->type == Type::File)
                        files.append(FileEntry{rel, t->size, t->modified});
                    else if (c.broken())
                        return t.error();
                }
            }
            return {};
        });
        if (!listed)
            return listed.error();
        found.append(files);
        pending.append(folders);
        if (progress)
            progress(found.size());
    }
    std::sort(found.begin(), found.end(), [](const FileEntry &a, const FileEntry &b) { return a.path < b.path; });
    return found;
}

Result<FileEntry> SftpStorage::stat(const QString &path)
{
    const auto rel = relativePath(path);
    if (!rel)
        return rel.error();
    FileEntry entry;
    auto done = m_pool->run([&](SftpConnection &c) -> Result<void> {
        const auto resolved = resolve(c, *rel);
        if (!resolved)
            return resolved.error();
        const auto e = c.stat(*resolved, true);
        if (!e)
            return e.error();
        entry = FileEntry{*rel, e->size, e->modified};
        return {};
    });
    if (!done)
        return done.error();
    return entry;
}

Result<QByteArray> SftpStorage::read(const QString &path, qint64 maxBytes)
{
    const auto rel = relativePath(path);
    if (!rel)
        return rel.error();
    QByteArray data;
    auto done = m_pool->run([&](SftpConnection &c) -> Result<void> {
        const auto resolved = resolve(c, *rel);
        if (!resolved)
            return resolved.error();
        auto bytes = c.read(*resolved, maxBytes);
        if (!bytes)
            return bytes.error();
        data = std::move(*bytes);
        return {};
    });
    if (!done)
        return done.error();
    return data;
}

Result<void> SftpStorage::ensureFolder(SftpConnection &connection, const QString &relativeFolder)
{
    if (relativeFolder.isEmpty())
        return {};
    {
        std::lock_guard lock(m_foldersMutex);
        if (m_knownFolders.contains(relativeFolder))
            return {};
    }
    if (auto parent = ensureFolder(connection, relativeFolder.section(QLatin1Char('/'), 0, -2)); !parent)
        return parent;
    const QString full = StoragePath::join(m_root, relativeFolder);
    const auto entry = connection.stat(full, false);
    if (!entry) {
        if (entry.error().category != ErrorCategory::Missing)
            return entry.error();
        if (auto made = connection.mkdir(full); !made)
            return made;
    } else if (entry->type == Type::Symlink) {
        // A symlinked folder is fine as long as it stays inside the root.
        const auto resolved = resolve(connection, relativeFolder);
        if (!resolved)
            return resolved.error();
        const auto target = connection.stat(*resolved, true);
        if (!target)
            return target.error();
        if (target->type != Type::Directory)
            return Error{ErrorCategory::Unreadable, QStringLiteral("%1 on %2 is not a folder").arg(full, m_url.hostKeyName())};
    } else if (entry->type != Type::Directory) {
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1 on %2 is not a folder").arg(full, m_url.hostKeyName())};
    }
    std::lock_guard lock(m_foldersMutex);
    m_knownFolders.insert(relativeFolder);
    return {};
}

Result<void> SftpStorage::write(const QString &path, const QByteArray &data)
{
    const auto rel = relativePath(path);
    if (!rel)
        return rel.error();
    if (rel->isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("cannot write to the storage root itself")};
    return m_pool->run([&](SftpConnection &c) -> Result<void> {
        if (auto folder = ensureFolder(c, rel->section(QLatin1Char('/'), 0, -2)); !folder)
            return folder;
        // The final name is replaced by rename, which never follows a symlink there.
        return c.writeAtomic(StoragePath::join(m_root, *rel), data);
    });
}

} // namespace SegScale::Storage
