#pragma once
// Storage on a local (or locally mounted) folder. Stateless apart from the canonical
// root, so it is thread-safe without locks.

#include "storage/storage.h"

namespace SegScale::Storage {

class LocalStorage final : public Storage {
public:
    // The root folder must exist; symlinks in the root path itself are resolved once here.
    static Result<std::shared_ptr<LocalStorage>> open(const QString &rootPath);

    StorageUrl url() const override;
    Result<QList<FileEntry>> list(const QString &root, const QStringList &include, const QStringList &exclude,
                                  std::function<void(qint64 found)> progress = {}) override;
    Result<FileEntry> stat(const QString &path) override;
    Result<QByteArray> read(const QString &path, qint64 maxBytes) override;
    Result<void> write(const QString &path, const QByteArray &data) override;

private:
    explicit LocalStorage(QString root) : m_root(std::move(root)) {}
    // The caller's path, checked and resolved to an absolute path inside the root.
    Result<QString> resolveExisting(const QString &path) const;

    QString m_root; // canonical
};

} // namespace SegScale::Storage
