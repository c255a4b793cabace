#pragma once
// ErrorLog: the study's failed images with their last error, read page by page (keyset on
// the image id) and filtered in SQL — by category, the worker that reported the last
// error, dataset and the time of that error — and failed images put back to pending by
// id. JobStore::failedImages is this with only a category. A companion of JobStore: it
// uses the store's connection, so call it on the store's thread.

#include "base/result.h"
#include "jobs/jobtypes.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace SegScale::Jobs {

class JobStore;

class ErrorLog {
public:
    struct Filter {
        std::optional<ErrorCategory> category;
        QString worker;                   // empty: any worker
        std::optional<qint64> datasetId;
        std::optional<qint64> sinceMs;    // last error at >= since (ms since the epoch)
        std::optional<qint64> untilMs;    // last error at < until
        bool isEmpty() const { return !category && worker.isEmpty() && !datasetId && !sinceMs && !untilMs; }
    };
    // A dataset a filter may name.
    struct Dataset {
        qint64 id = 0;
        QString root;
        QString storage;  // the storage's name
    };

    explicit ErrorLog(JobStore &store) : m_store(store) {}

    // Failed images matching the filter with id > afterImageId, by id, at most limit (-1: all).
    Result<QList<ErrorRecord>> page(const Filter &filter, qint64 afterImageId = 0, int limit = -1);
    // Of the given images, those that are failed go back to pending with attempts 0
    // (as JobStore::retryFailed); the others are left alone. Returns how many moved.
    Result<qint64> retry(const QList<qint64> &imageIds);
    // What the filters can choose from: the datasets, and the workers that reported errors.
    Result<QList<Dataset>> datasets();
    Result<QStringList> workers();

private:
    JobStore &m_store;
};

} // namespace SegScale::Jobs
