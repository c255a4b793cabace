#pragma once
// AuditStore: the study's audit — samples of finished images of the current run for a
// researcher to review (AuditSampler's modes), the marks they give (accepted or flagged,
// with a note; one per image, kept in audit_marks across runs and reopenings) and the
// quality rate per dataset. A companion of JobStore: it uses the store's connection, so
// call it on the store's thread. Sampling reads the results a page at a time (feed()), so
// a caller with an event loop can spread a million-image draw over many short steps.

#include "base/result.h"
#include "jobs/auditsampler.h"
#include "jobs/audittypes.h"

#include <QHash>
#include <QList>

namespace SegScale::Jobs {

class JobStore;

class AuditStore {
public:
    static constexpr int kFeedRows = 20000;

    explicit AuditStore(JobStore &store) : m_store(store) {}

    // Feeds the finished images of the current run with id > afterImageId, at most limit,
    // into the sampler. Returns the key of the next page, or -1 after the last one.
    Result<qint64> feed(AuditSampler &sampler, qint64 afterImageId, int limit = kFeedRows);
    // The whole draw in one call (feed() until done, then items()). A share-based sample
    // needs a class index the study has (Usage error otherwise).
    Result<QList<AuditItem>> sample(const AuditSampleParams &params);
    // The images of a sample with their location, outputs, mark and share.
    Result<QList<AuditItem>> items(const QList<AuditSampler::Pick> &picks);

    // Marks an image (replacing its mark). Missing: no such image.
    Result<void> setMark(qint64 imageId, AuditVerdict verdict, const QString &note, const QString &by);
    // Removes an image's mark; whether it had one.
    Result<bool> clearMark(qint64 imageId);
    // The marks of the given images (those that have one).
    Result<QHash<qint64, AuditMark>> marks(const QList<qint64> &imageIds);
    // Every dataset with its marks and, when countFinished, its finished images (a count
    // over the images table: ~0.3 s for a million; the marks alone take milliseconds).
    Result<QList<AuditQuality>> quality(bool countFinished = true);

private:
    JobStore &m_store;
};

} // namespace SegScale::Jobs
