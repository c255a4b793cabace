#include "jobs/studystatistics.h"

#include "jobs/jobstore.h"
#include "jobs/jobtypes.h"

#include <QSqlError>
#include <QSqlQuery>

namespace SegScale::Jobs {
namespace {

Error queryError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

} // namespace

Result<QList<StudyStatistics::DatasetCounts>> StudyStatistics::datasetCounts()
{
    QSqlQuery q(m_store.database());
    QList<DatasetCounts> out;
    QHash<qint64, qsizetype> at;
    if (!q.exec(QStringLiteral("SELECT d.id, d.root, s.url FROM datasets d JOIN storages s ON s.id = d.storage_id ORDER BY d.id")))
        return queryError(q, QStringLiteral("listing datasets"));
    while (q.next()) {
        DatasetCounts c;
        c.datasetId = q.value(0).toLongLong();
        c.root = q.value(1).toString();
        c.storageUrl = q.value(2).toString();
        at.insert(c.datasetId, out.size());
        out.append(c);
    }
    q.finish();
    // One pass over the images: (dataset_id, state) pairs, counted.
    if (!q.exec(QStringLiteral("SELECT dataset_id, state, COUNT(*) FROM images GROUP BY dataset_id, state")))
        return queryError(q, QStringLiteral("counting images per dataset"));
    while (q.next()) {
        const auto it = at.constFind(q.value(0).toLongLong());
        if (it == at.constEnd())
            continue;
        DatasetCounts &c = out[*it];
        const qint64 n = q.value(2).toLongLong();
        switch (static_cast<ImageState>(q.value(1).toInt())) {
        case ImageState::Pending: c.pending = n; break;
        case ImageState::Leased: c.leased = n; break;
        case ImageState::Done: c.done = n; break;
        case ImageState::Failed: c.failed = n; break;
        }
    }
    return out;
}

Result<QList<StudyStatistics::Bucket>> StudyStatistics::finishedPerBucket(qint64 sinceMs, qint64 bucketMs)
{
    if (bucketMs <= 0)
        return Error{ErrorCategory::Usage, QStringLiteral("a throughput bucket must be longer than 0 ms")};
    QSqlQuery q(m_store.database());
    // Integer division on both engines (BIGINT / BIGINT truncates in PostgreSQL as well);
    // finished_at >= 0 so truncation is the floor.
    q.prepare(QStringLiteral("SELECT finished_at / %1 AS b, COUNT(*) FROM images WHERE finished_at >= ? GROUP BY b ORDER BY b").arg(bucketMs));
    q.addBindValue(sinceMs);
    if (!q.exec())
        return queryError(q, QStringLiteral("counting finished images per interval"));
    QList<Bucket> out;
    while (q.next())
        out.append(Bucket{q.value(0).toLongLong() * bucketMs, q.value(1).toLongLong()});
    return out;
}

Result<QHash<QString, qint64>> StudyStatistics::liveLeasesByWorker(qint64 nowMs)
{
    QSqlQuery q(m_store.database());
    q.prepare(QStringLiteral("SELECT lease_holder, COUNT(*) FROM images WHERE state = %1 AND lease_expiry > ? GROUP BY lease_holder")
                  .arg(static_cast<int>(ImageState::Leased)));
    q.addBindValue(nowMs);
    if (!q.exec())
        return queryError(q, QStringLiteral("counting leases per worker"));
    QHash<QString, qint64> out;
    while (q.next())
        out.insert(q.value(0).toString(), q.value(1).toLongLong());
    return out;
}

} // namespace SegScale::Jobs
