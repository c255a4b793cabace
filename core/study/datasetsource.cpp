#include "study/datasetsource.h"

#include "storage/localstorage.h"
#include "storage/remotelocation.h"

#include <QDir>
#include <QFileInfo>
#include <QUrl>

namespace SegScale::Study {

bool DatasetSource::isRemote(const QString &input)
{
    return Storage::RemoteLocation::isRemote(input.trimmed());
}

Result<DatasetSource::Opened> DatasetSource::openLocal(const QString &input)
{
    if (input.trimmed().isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("no folder given")};
    if (input.contains(QLatin1StringView("://")) && !input.startsWith(QLatin1StringView("file://")))
        return Error{ErrorCategory::Usage, QStringLiteral("%1: unsupported URL; use a local path, file:///path or "
                                                          "sftp://user@host:port/path")
                                               .arg(input)};
    const QString localPath = input.startsWith(QLatin1StringView("file://")) ? QUrl(input).toLocalFile() : input;
    const QFileInfo info(localPath);
    if (!info.exists())
        return Error{ErrorCategory::Usage, QStringLiteral("%1 does not exist").arg(input)};
    Opened d;
    d.dataset.storageName = QStringLiteral("local");
    d.dataset.storageUrl = QStringLiteral("file://");
    d.dataset.root = info.isDir() ? info.canonicalFilePath() : info.canonicalPath();
    if (!info.isDir())
        d.dataset.singleFile = info.fileName();
    else if (!info.isReadable() || !info.isExecutable())
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read the folder %1 (permission denied)").arg(d.dataset.root)};
    auto folder = Storage::LocalStorage::open(d.dataset.root);
    if (!folder)
        return folder.error();
    d.folder = *folder;
    d.where = d.dataset.root;
    return d;
}

Result<DatasetSource::Opened> DatasetSource::openRemote(const Storage::StorageUrl &url, const Storage::Credentials &credentials,
                                                        const Storage::StorageOptions &options,
                                                        std::shared_ptr<Storage::Storage> server)
{
    if (!server) {
        Storage::StorageUrl root = url;
        root.path = QStringLiteral("/");
        auto opened = Storage::openStorage(root, credentials, options);
        if (!opened)
            return opened.error();
        server = *opened;
    }
    auto entry = server->stat(url.path);
    if (!entry)
        return entry.error().category == ErrorCategory::Missing
                   ? Error{ErrorCategory::Usage, QStringLiteral("%1 does not exist").arg(url.toString())}
                   : entry.error();
    Opened d;
    d.dataset.storageUrl = Storage::RemoteLocation::serverUrl(url);
    d.dataset.storageName = d.dataset.storageUrl;
    d.dataset.root = url.path;
    auto folder = Storage::openStorage(url, credentials, options);
    if (!folder && folder.error().category == ErrorCategory::Unreadable) {
        // Not a folder: one file, recorded under its parent folder as a local file is.
        const qsizetype slash = url.path.lastIndexOf(QLatin1Char('/'));
        d.dataset.singleFile = url.path.mid(slash + 1);
        d.dataset.root = slash <= 0 ? QStringLiteral("/") : url.path.left(slash);
        Storage::StorageUrl parent = url;
        parent.path = d.dataset.root;
        folder = Storage::openStorage(parent, credentials, options);
    }
    if (!folder)
        return folder.error();
    d.folder = *folder;
    d.where = Storage::RemoteLocation::location(d.dataset.storageUrl, d.dataset.root);
    return d;
}

Result<DatasetSource::Opened> DatasetSource::open(const QString &input, const Storage::Credentials &credentials,
                                                  const Storage::StorageOptions &options)
{
    if (!isRemote(input))
        return openLocal(input);
    auto url = Storage::RemoteLocation::parse(input.trimmed());
    if (!url)
        return url.error();
    return openRemote(*url, credentials, options);
}

} // namespace SegScale::Study
