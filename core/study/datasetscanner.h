#pragma once
// DatasetScanner: the one folder walker behind `study add`, for local and SFTP datasets
// alike. It lists the dataset through a Storage rooted at the dataset's folder
// (Storage::list does the include patterns), leaves out what the exclude patterns name
// (PathFilter, counted) and hidden entries (a single file named on purpose is kept), records the storage and the dataset in the
// study and adds the images in batches, each its own transaction. Images the study
// already holds are skipped, so scanning a folder again adds only new files.
//
// Cancellation: the flag is read between listing and adding and between batches; what
// was added before stays (a later scan skips it). Not thread-safe: one scanner, one
// thread, the thread of its JobStore.

#include "base/result.h"
#include "jobs/jobstore.h"
#include "storage/storage.h"

#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>

namespace SegScale::Study {

class DatasetScanner {
public:
    struct Dataset {
        QString storageName;  // the study's name for the storage: "local" or the server URL
        QString storageUrl;   // "file://" or "sftp://user@host:port" (never a secret)
        QString root;         // the dataset folder on that storage, as recorded
        // Not empty: the dataset is this one file (relative to root); include patterns do
        // not apply to it, exclude patterns do.
        QString singleFile;
        QStringList include;  // empty: defaultIncludes()
        QStringList exclude;
    };
    struct Stats {
        qint64 datasetId = 0;
        qint64 listed = 0;    // files matching include and not excluded
        qint64 excluded = 0;  // files matching include that an exclude pattern left out
        qint64 added = 0;
        qint64 skipped = 0;   // already in the study
        bool cancelled = false;
    };
    struct Progress {
        enum class Phase { Scanning, Adding };
        Phase phase = Phase::Scanning;
        qint64 done = 0;   // files found so far / images added or skipped so far
        qint64 total = 0;  // 0 while scanning (unknown)
    };
    using ProgressCallback = std::function<void(const Progress &)>;

    // `folder` is rooted at dataset.root: its paths are what the study records.
    DatasetScanner(Jobs::JobStore &store, Storage::Storage &folder);

    static QStringList defaultIncludes();  // *.jpg *.jpeg *.png (any case)
    void setBatchSize(qsizetype images) { m_batch = images > 0 ? images : 1; }

    Result<Stats> scan(const Dataset &dataset, const ProgressCallback &progress = {},
                       const std::atomic<bool> *cancel = nullptr);
    // What scan() would list, without a study: `listed` and `excluded` only (the data
    // sources dialog's "Count"). Listing itself cannot be interrupted; cancel is reported.
    static Result<Stats> count(Storage::Storage &folder, const Dataset &dataset, const ProgressCallback &progress = {},
                               const std::atomic<bool> *cancel = nullptr);

private:
    Jobs::JobStore &m_store;
    Storage::Storage &m_folder;
    qsizetype m_batch = 50'000;
};

} // namespace SegScale::Study
