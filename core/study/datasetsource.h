#pragma once
// DatasetSource: where `segscale study add` and the desktop app's data sources dialog
// find a dataset — a local folder or file (a path or file:///path) or one on an SFTP
// server (sftp://user@host:port/path) — opened as a Storage rooted at the dataset's
// folder, with the record the study keeps of it (the server URL, never a secret). Walking,
// filtering, counting and adding are DatasetScanner's; this is only the opening, so both
// front ends open a location the same way.
//
// Blocking (an SFTP login takes a while): call it off the GUI thread. Thread-safe.

#include "base/result.h"
#include "storage/credentials.h"
#include "storage/storage.h"
#include "storage/storageoptions.h"
#include "storage/storageurl.h"
#include "study/datasetscanner.h"

#include <QString>

#include <memory>

namespace SegScale::Study {

class DatasetSource {
public:
    struct Opened {
        std::shared_ptr<Storage::Storage> folder;  // rooted at dataset.root
        DatasetScanner::Dataset dataset;           // include/exclude left empty for the caller
        QString where;                             // how messages name it
    };

    static bool isRemote(const QString &input);
    // A local path or file:///path. Usage error when it does not exist or is another URL;
    // Unreadable when it cannot be listed.
    static Result<Opened> openLocal(const QString &input);
    // The folder (or the single file, recorded under its parent) that `url` names on its
    // server. `server` is a Storage rooted at the server's "/" already connected (the CLI
    // connects first to explain an unknown host key); null: connected here. Usage error
    // when the path does not exist; Storage errors (unreachable, host key, login) as
    // Storage::openStorage gives them.
    static Result<Opened> openRemote(const Storage::StorageUrl &url, const Storage::Credentials &credentials,
                                     const Storage::StorageOptions &options,
                                     std::shared_ptr<Storage::Storage> server = nullptr);
    // Either of the above by the look of `input` (sftp:// or not).
    static Result<Opened> open(const QString &input, const Storage::Credentials &credentials,
                               const Storage::StorageOptions &options);
};

} // namespace SegScale::Study
