#include "jobs/errorlog.h"

#include "jobs/jobstore.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

namespace SegScale::Jobs {

namespace {

constexpr int kIdsPerStatement = 500;  // well under SQLite's bound-parameter limit

Error queryError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

} // namespace

Result<QList<ErrorRecord>> ErrorLog::page(const Filter &filter, qint64 afterImageId, int limit)
{
    QSqlQuery q(m_store.database());
    q.setForwardOnly(true);
    // The last error of each image is the one shown; worker and time filters apply to it.
    QString sql = QStringLiteral("SELECT i.id, i.dataset_id, d.root, i.path, i.error_category, e.message, e.at, e.worker, i.attempts "
                                 "FROM images i JOIN datasets d ON d.id = i.dataset_id "
                                 "LEFT JOIN errors e ON e.id = (SELECT MAX(x.id) FROM errors x WHERE x.image_id = i.id) "
                                 "WHERE i.state = 3 AND i.id > ?");
    QVariantList binds{afterImageId};
    if (filter.category) {
        sql += QStringLiteral(" AND i.error_category = ?");
        binds << categoryName(*filter.category);
    }
    if (filter.datasetId) {
        sql += QStringLiteral(" AND i.dataset_id = ?");
        binds << *filter.datasetId;
    }
    if (!filter.worker.isEmpty()) {
        sql += QStringLiteral(" AND e.worker = ?");
        binds << filter.worker;
    }
    if (filter.sinceMs) {
        sql += QStringLiteral(" AND e.at >= ?");
        binds << *filter.sinceMs;
    }
    if (filter.untilMs) {
        sql += QStringLiteral(" AND e.at < ?");
        binds << *filter.untilMs;
    }
    sql += QStringLiteral(" ORDER BY i.id");
    if (limit >= 0)
        sql += QStringLiteral(" LIMIT %1").arg(limit);
    q.prepare(sql);
    for (const QVariant &b : binds)
        q.addBindValue(b);
    if (!q.exec())
        return queryError(q, QStringLiteral("reading errors"));
    QList<ErrorRecord> rows;
    while (q.next()) {
        ErrorRecord r;
        r.imageId = q.value(0).toLongLong();
        r.datasetId = q.value(1).toLongLong();
        r.location = imageLocation(q.value(2).toString(), q.value(3).toString());
        r.category = q.value(4).toString();
        r.message = q.value(5).toString();
        r.atMs = q.value(6).toLongLong();
        r.worker = q.value(7).toString();
        r.attempts = q.value(8).toInt();
        rows.append(std::move(r));
    }
    if (q.lastError().isValid())
        return queryError(q, QStringLiteral("reading errors"));
    return rows;
}

Result<qint64> ErrorLog::retry(const QList<qint64> &imageIds)
{
    if (imageIds.isEmpty())
        return qint64(0);
    QSqlDatabase db = m_store.database();
    QSqlQuery q(db);
    // One transaction: a list of a thousand images is retried whole or not at all.
    const bool sqlite = m_store.dialect() == Dialect::Sqlite;
    if (!(sqlite ? q.exec(QStringLiteral("BEGIN IMMEDIATE")) : db.transaction()))
        return queryError(q, QStringLiteral("cannot begin a transaction"));
    auto rollback = [&] {
        if (sqlite)
            q.exec(QStringLiteral("ROLLBACK"));
        else
            db.rollback();
    };
    qint64 moved = 0;
    const qint64 now = m_store.now();
    for (qsizetype from = 0; from < imageIds.size(); from += kIdsPerStatement) {
        const qsizetype n = std::min<qsizetype>(kIdsPerStatement, imageIds.size() - from);
        QStringList marks(n, QStringLiteral("?"));
        q.prepare(QStringLiteral("UPDATE images SET state = 0, attempts = 0, next_attempt = 0, finished_at = NULL, "
                                 "error_category = NULL, updated_at = ? WHERE state = 3 AND id IN (%1)")
                      .arg(marks.join(QLatin1Char(','))));
        q.addBindValue(now);
        for (qsizetype i = from; i < from + n; ++i)
            q.addBindValue(imageIds[i]);
        if (!q.exec()) {
            Error e = queryError(q, QStringLiteral("retrying failed images"));
            rollback();
            return e;
        }
        moved += q.numRowsAffected();
    }
    if (!(sqlite ? q.exec(QStringLiteral("COMMIT")) : db.commit())) {
        Error e = queryError(q, QStringLiteral("cannot commit the retry"));
        rollback();
        return e;
    }
    return moved;
}

Result<QList<ErrorLog::Dataset>> ErrorLog::datasets()
{
    QSqlQuery q(m_store.database());
    if (!q.exec(QStringLiteral("SELECT d.id, d.root, s.name FROM datasets d JOIN storages s ON s.id = d.storage_id ORDER BY d.id")))
        return queryError(q, QStringLiteral("reading datasets"));
    QList<Dataset> out;
    while (q.next())
        out.append(Dataset{q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString()});
    return out;
}

Result<QStringList> ErrorLog::workers()
{
    QSqlQuery q(m_store.database());
    if (!q.exec(QStringLiteral("SELECT DISTINCT worker FROM errors WHERE worker IS NOT NULL AND worker <> '' ORDER BY worker")))
        return queryError(q, QStringLiteral("reading the workers that reported errors"));
    QStringList out;
    while (q.next())
        out << q.value(0).toString();
    return out;
}

} // namespace SegScale::Jobs
