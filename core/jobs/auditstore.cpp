#include "jobs/auditstore.h"

#include "jobs/jobstore.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>
#include <QVariant>
#include <QtEndian>

#include <cmath>

namespace SegScale::Jobs {

namespace {

constexpr int kIdsPerStatement = 500;

Error queryError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

QString placeholders(qsizetype n)
{
    return QStringList(n, QStringLiteral("?")).join(QLatin1Char(','));
}

AuditMark markFrom(const QSqlQuery &q, int first)
{
    AuditMark m;
    m.imageId = q.value(first).toLongLong();
    m.verdict = verdictFromName(q.value(first + 1).toString()).value_or(AuditVerdict::Flagged);
    m.note = q.value(first + 2).toString();
    m.markedAtMs = q.value(first + 3).toLongLong();
    m.markedBy = q.value(first + 4).toString();
    return m;
}

} // namespace

Result<qint64> AuditStore::feed(AuditSampler &sampler, qint64 afterImageId, int limit)
{
    auto run = m_store.currentRun();
    if (!run)
        return run.error();
    QSqlQuery q(m_store.database());
    q.setForwardOnly(true);
    // Only the 4 bytes of the chosen class: the composition is little-endian float32.
    const bool shares = sampler.needsShares();
    q.prepare(QStringLiteral("SELECT r.image_id, i.dataset_id%1 FROM results r JOIN images i ON i.id = r.image_id "
                             "WHERE r.run = ? AND r.image_id > ? AND i.state = 2 ORDER BY r.image_id LIMIT %2")
                  .arg(shares ? QStringLiteral(", substr(r.composition, %1, 4)").arg(4 * sampler.params().classIndex + 1) : QString())
                  .arg(std::max(1, limit)));
    q.addBindValue(*run);
    q.addBindValue(afterImageId);
    if (!q.exec())
        return queryError(q, QStringLiteral("reading results to sample"));
    qint64 last = afterImageId;
    int n = 0;
    while (q.next()) {
        last = q.value(0).toLongLong();
        double share = 0;
        if (shares) {
            const QByteArray bytes = q.value(2).toByteArray();
            share = bytes.size() == 4 ? static_cast<double>(qFromLittleEndian<float>(bytes.constData())) : std::nan("");
        }
        sampler.add(last, q.value(1).toLongLong(), share);
        ++n;
    }
    if (q.lastError().isValid())
        return queryError(q, QStringLiteral("reading results to sample"));
    return n < limit ? qint64(-1) : last;
}

Result<QList<AuditItem>> AuditStore::sample(const AuditSampleParams &params)
{
    if (params.mode == AuditMode::Extremes) {
        auto settings = m_store.settings();
        if (!settings)
            return settings.error();
        const qsizetype classes = *settings ? (*settings)->classNames().size() : 0;
        if (params.classIndex < 0 || params.classIndex >= classes)
            return Error{ErrorCategory::Usage,
                         QStringLiteral("class %1 is not one of the study's %2 classes").arg(params.classIndex).arg(classes)};
    }
    AuditSampler sampler(params);
    qint64 next = 0;
    while (next >= 0) {
        auto fed = feed(sampler, next);
        if (!fed)
            return fed.error();
        next = *fed;
    }
    return items(sampler.picks());
}

Result<QList<AuditItem>> AuditStore::items(const QList<AuditSampler::Pick> &picks)
{
    auto run = m_store.currentRun();
    if (!run)
        return run.error();
    QHash<qint64, AuditItem> found;
    QSqlDatabase db = m_store.database();
    for (qsizetype from = 0; from < picks.size(); from += kIdsPerStatement) {
        const qsizetype n = std::min<qsizetype>(kIdsPerStatement, picks.size() - from);
        QSqlQuery q(db);
        q.setForwardOnly(true);
        q.prepare(QStringLiteral("SELECT i.id, i.dataset_id, d.root, i.path, r.label_path, r.overlay_path, "
                                 "a.image_id, a.verdict, a.note, a.marked_at, a.marked_by, r.width, r.height, r.composition FROM images i "
                                 "JOIN datasets d ON d.id = i.dataset_id "
                                 "LEFT JOIN results r ON r.image_id = i.id AND r.run = ? "
                                 "LEFT JOIN audit_marks a ON a.image_id = i.id WHERE i.id IN (%1)")
                      .arg(placeholders(n)));
        q.addBindValue(*run);
        for (qsizetype i = from; i < from + n; ++i)
            q.addBindValue(picks[i].imageId);
        if (!q.exec())
            return queryError(q, QStringLiteral("reading sampled images"));
        while (q.next()) {
            AuditItem item;
            item.imageId = q.value(0).toLongLong();
            item.datasetId = q.value(1).toLongLong();
            item.location = imageLocation(q.value(2).toString(), q.value(3).toString());
            item.labelPath = q.value(4).toString();
            item.overlayPath = q.value(5).toString();
            item.width = q.value(11).toInt();
            item.height = q.value(12).toInt();
            const QByteArray blob = q.value(13).toByteArray();
            item.composition.resize(static_cast<size_t>(blob.size() / qsizetype(sizeof(float))));
            qFromLittleEndian<float>(blob.constData(), qsizetype(item.composition.size()), item.composition.data());
            if (!q.value(6).isNull())
                item.mark = markFrom(q, 6);
            found.insert(item.imageId, item);
        }
    }
    QList<AuditItem> out;
    out.reserve(picks.size());
    for (const AuditSampler::Pick &p : picks) {
        auto it = found.constFind(p.imageId);
        if (it == found.constEnd())
            continue;  // gone since it was drawn (cannot happen within one transaction)
        AuditItem item = *it;
        item.group = p.group;
        if (p.group != AuditItem::Group::None)
            item.share = p.share;
        out.append(item);
    }
    return out;
}

Result<void> AuditStore::setMark(qint64 imageId, AuditVerdict verdict, const QString &note, const QString &by)
{
    QSqlQuery q(m_store.database());
    q.prepare(QStringLiteral("SELECT 1 FROM images WHERE id = ?"));
    q.addBindValue(imageId);
    if (!q.exec())
        return queryError(q, QStringLiteral("looking up image %1").arg(imageId));
    if (!q.next())
        return Error{ErrorCategory::Missing, QStringLiteral("the study has no image %1").arg(imageId)};
    q.finish();
    // SQLite 3.24+ and PostgreSQL 9.5+ both speak this upsert.
    q.prepare(QStringLiteral("INSERT INTO audit_marks (image_id, verdict, note, marked_at, marked_by) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT (image_id) DO UPDATE SET verdict = excluded.verdict, note = excluded.note, "
                             "marked_at = excluded.marked_at, marked_by = excluded.marked_by"));
    q.addBindValue(imageId);
    q.addBindValue(verdictName(verdict));
    q.addBindValue(note.isNull() ? QStringLiteral("") : note);
    q.addBindValue(m_store.now());
    q.addBindValue(by.isNull() ? QStringLiteral("") : by);
    if (!q.exec())
        return queryError(q, QStringLiteral("marking image %1").arg(imageId));
    return {};
}

Result<bool> AuditStore::clearMark(qint64 imageId)
{
    QSqlQuery q(m_store.database());
    q.prepare(QStringLiteral("DELETE FROM audit_marks WHERE image_id = ?"));
    q.addBindValue(imageId);
    if (!q.exec())
        return queryError(q, QStringLiteral("clearing the mark of image %1").arg(imageId));
    return q.numRowsAffected() > 0;
}

Result<QHash<qint64, AuditMark>> AuditStore::marks(const QList<qint64> &imageIds)
{
    QHash<qint64, AuditMark> out;
    for (qsizetype from = 0; from < imageIds.size(); from += kIdsPerStatement) {
        const qsizetype n = std::min<qsizetype>(kIdsPerStatement, imageIds.size() - from);
        QSqlQuery q(m_store.database());
        q.prepare(QStringLiteral("SELECT image_id, verdict, note, marked_at, marked_by FROM audit_marks WHERE image_id IN (%1)")
                      .arg(placeholders(n)));
        for (qsizetype i = from; i < from + n; ++i)
            q.addBindValue(imageIds[i]);
        if (!q.exec())
            return queryError(q, QStringLiteral("reading audit marks"));
        while (q.next()) {
            AuditMark m = markFrom(q, 0);
            out.insert(m.imageId, m);
        }
    }
    return out;
}

Result<QList<AuditQuality>> AuditStore::quality(bool countFinished)
{
    QSqlDatabase db = m_store.database();
    QSqlQuery q(db);
    if (!q.exec(countFinished ? QStringLiteral("SELECT d.id, d.root, (SELECT COUNT(*) FROM images i WHERE i.dataset_id = d.id AND i.state = 2) "
                                               "FROM datasets d ORDER BY d.id")
                              : QStringLiteral("SELECT d.id, d.root, -1 FROM datasets d ORDER BY d.id")))
        return queryError(q, QStringLiteral("reading datasets"));
    QList<AuditQuality> out;
    QHash<qint64, qsizetype> index;
    while (q.next()) {
        AuditQuality a;
        a.datasetId = q.value(0).toLongLong();
        a.root = q.value(1).toString();
        a.finished = q.value(2).toLongLong();
        index.insert(a.datasetId, out.size());
        out.append(a);
    }
    if (!q.exec(QStringLiteral("SELECT i.dataset_id, a.verdict, COUNT(*) FROM audit_marks a JOIN images i ON i.id = a.image_id "
                               "GROUP BY i.dataset_id, a.verdict")))
        return queryError(q, QStringLiteral("counting audit marks"));
    while (q.next()) {
        const auto it = index.constFind(q.value(0).toLongLong());
        if (it == index.constEnd())
            continue;
        AuditQuality &a = out[*it];
        (q.value(1).toString() == QLatin1StringView("accepted") ? a.accepted : a.flagged) += q.value(2).toLongLong();
    }
    return out;
}

} // namespace SegScale::Jobs
