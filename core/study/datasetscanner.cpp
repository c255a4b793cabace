#include "study/datasetscanner.h"

#include "storage/pathfilter.h"

#include <algorithm>

namespace SegScale::Study {

namespace {

bool cancelled(const std::atomic<bool> *flag)
{
    return flag && flag->load(std::memory_order_relaxed);
}

} // namespace

DatasetScanner::DatasetScanner(Jobs::JobStore &store, Storage::Storage &folder) : m_store(store), m_folder(folder) {}

QStringList DatasetScanner::defaultIncludes()
{
    return {QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.png")};
}

namespace {

struct Listing {
    QList<Jobs::ImageEntry> entries;  // sorted by path
    qint64 excluded = 0;
};

Result<Listing> listDataset(Storage::Storage &folder, const DatasetScanner::Dataset &dataset, const QStringList &include,
                            const DatasetScanner::ProgressCallback &progress)
{
    QList<Storage::FileEntry> files;
    if (dataset.singleFile.isEmpty()) {
        // Hidden files and folders (".thumbnails/", macOS's "._IMG_1.jpg") are never images
        // of the study: the local walker always left them out, and now the SFTP one does
        // too (list() does not even enter hidden folders). The user's exclusions are
        // applied below instead, so that they can be counted.
        auto listed = folder.list(QString(), include, {QStringLiteral(".*")}, [&](qint64 found) {
            if (progress)
                progress({DatasetScanner::Progress::Phase::Scanning, found, 0});
        });
        if (!listed)
            return listed.error();
        files = std::move(*listed);
    } else {
        auto one = folder.stat(dataset.singleFile);
        if (!one)
            return one.error();
        files.append(*one);
    }

    Listing listing;
    const Storage::PathFilter excludes({}, dataset.exclude);
    listing.entries.reserve(files.size());
    for (const auto &f : files) {
        if (!excludes.acceptsFile(f.path, f.path.section(QLatin1Char('/'), -1))) {
            ++listing.excluded;
            continue;
        }
        listing.entries.append({f.path, f.size});
    }
    // Sorted, so that images are leased in a stable, human-predictable order.
    std::sort(listing.entries.begin(), listing.entries.end(), [](const auto &a, const auto &b) { return a.path < b.path; });
    return listing;
}

} // namespace

Result<DatasetScanner::Stats> DatasetScanner::count(Storage::Storage &folder, const Dataset &dataset,
                                                    const ProgressCallback &progress, const std::atomic<bool> *cancel)
{
    auto listing = listDataset(folder, dataset, dataset.include.isEmpty() ? defaultIncludes() : dataset.include, progress);
    if (!listing)
        return listing.error();
    Stats stats;
    stats.listed = listing->entries.size();
    stats.excluded = listing->excluded;
    stats.cancelled = cancelled(cancel);
    return stats;
}

Result<DatasetScanner::Stats> DatasetScanner::scan(const Dataset &dataset, const ProgressCallback &progress,
                                                   const std::atomic<bool> *cancel)
{
    const QStringList include = dataset.include.isEmpty() ? defaultIncludes() : dataset.include;
    auto listing = listDataset(m_folder, dataset, include, progress);
    if (!listing)
        return listing.error();
    Stats stats;
    const QList<Jobs::ImageEntry> &entries = listing->entries;
    stats.excluded = listing->excluded;
    stats.listed = entries.size();
    if (cancelled(cancel)) {
        stats.cancelled = true;
        return stats;
    }

    auto storage = m_store.addStorage(dataset.storageName, dataset.storageUrl);
    if (!storage)
        return storage.error();
    auto datasetId = m_store.addDataset(*storage, dataset.root, include, dataset.exclude);
    if (!datasetId)
        return datasetId.error();
    stats.datasetId = *datasetId;
    for (qsizetype start = 0; start < entries.size(); start += m_batch) {
        if (cancelled(cancel)) {
            stats.cancelled = true;
            return stats;
        }
        auto added = m_store.addImages(*datasetId, entries.mid(start, m_batch));
        if (!added)
            return added.error();
        stats.added += added->added;
        stats.skipped += added->skipped;
        if (progress)
            progress({Progress::Phase::Adding, start + std::min(m_batch, entries.size() - start), entries.size()});
    }
    return stats;
}

} // namespace SegScale::Study
