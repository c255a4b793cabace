#pragma once
// One file found in a Storage: its path relative to the storage root (always with '/'
// separators), its size and its modification time. A plain value type so the fetch
// stage and the job store never see how a storage is reached.

#include <QDateTime>
#include <QString>

namespace SegScale::Storage {

struct FileEntry {
    QString path; // relative to the storage root, '/'-separated, never starting with '/'
    qint64 size = 0;
    QDateTime modified; // UTC

    friend bool operator==(const FileEntry &, const FileEntry &) = default;
};

} // namespace SegScale::Storage
