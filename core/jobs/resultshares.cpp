#include "jobs/resultshares.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QStringList>
#include <QtEndian>

#include <algorithm>

namespace SegScale::Jobs {

namespace {

constexpr int kFixedColumns = 4;  // result_id, image_id, dataset_id, run
constexpr int kBackfillBatch = 5000;

Error sqlError(const QSqlQuery &q, const QString &what)
{
    return Error{ErrorCategory::Internal, QStringLiteral("study database: %1: %2").arg(what, q.lastError().text())};
}

QString realType(Dialect dialect)
{
    return dialect == Dialect::Postgres ? QStringLiteral("DOUBLE PRECISION") : QStringLiteral("REAL");
}

QString intType(Dialect dialect)
{
    return dialect == Dialect::Postgres ? QStringLiteral("BIGINT") : QStringLiteral("INTEGER");
}

// Results that have no row in result_shares yet, copied over in batches (the BLOB is
// little-endian float32, which only C++ can read).
Result<void> backfill(QSqlDatabase &db, Dialect dialect, int columns)
{
    QSqlQuery insert(db);
    if (!ResultShares::prepareInsert(insert, dialect, columns))
        return sqlError(insert, QStringLiteral("preparing the class shares"));
    qint64 after = 0;
    std::vector<std::pair<std::pair<qint64, int>, std::vector<float>>> batch;
    for (;;) {
        batch.clear();
        {
            QSqlQuery q(db);
            q.setForwardOnly(true);
            q.prepare(QStringLiteral("SELECT r.id, r.run, r.image_id, r.composition FROM results r WHERE r.id > ? AND NOT EXISTS "
                                     "(SELECT 1 FROM result_shares s WHERE s.result_id = r.id) ORDER BY r.id LIMIT %1")
                          .arg(kBackfillBatch));
            q.addBindValue(after);
            if (!q.exec())
                return sqlError(q, QStringLiteral("reading results to copy their class shares"));
            while (q.next()) {
                after = q.value(0).toLongLong();
                const QByteArray blob = q.value(3).toByteArray();
                std::vector<float> shares(static_cast<size_t>(blob.size() / qsizetype(sizeof(float))));
                qFromLittleEndian<float>(blob.constData(), qsizetype(shares.size()), shares.data());
                batch.push_back({{q.value(2).toLongLong(), q.value(1).toInt()}, std::move(shares)});
            }
        }
        if (batch.empty())
            return {};
        for (const auto &[key, shares] : batch) {
            ResultShares::bind(insert, columns, shares, key.second, key.first);
            if (!insert.exec())
                return sqlError(insert, QStringLiteral("copying the class shares of image %1").arg(key.first));
        }
    }
}

} // namespace

int ResultShares::columns(const QSqlDatabase &db)
{
    const QSqlRecord record = db.record(QStringLiteral("result_shares"));
    return std::max(0, int(record.count()) - kFixedColumns);
}

Result<int> ResultShares::studyClasses(QSqlDatabase &db)
{
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("SELECT model_card FROM settings WHERE id = 1")))
        return sqlError(q, QStringLiteral("reading the model card"));
    if (!q.next())
        return 0;
    const QJsonObject card = QJsonDocument::fromJson(q.value(0).toString().toUtf8()).object();
    const int n = int(card.value(QStringLiteral("classes")).toArray().size());
    return std::max(n, card.value(QStringLiteral("num_classes")).toInt());
}

Result<int> ResultShares::ensure(QSqlDatabase &db, Dialect dialect, int classes)
{
    const int wanted = std::clamp(classes, 0, kMaxColumns);
    QSqlQuery q(db);
    if (dialect == Dialect::Postgres) {
        // Several coordinators may get here at once: one makes or widens the table, the
        // others wait for its commit and then find it done.
        if (!q.exec(QStringLiteral("SELECT pg_advisory_xact_lock(5736298)")))
            return sqlError(q, QStringLiteral("locking the class shares table"));
    }
    const bool exists = db.tables().contains(QStringLiteral("result_shares"));
    int have = exists ? columns(db) : 0;
    if (exists && have >= wanted)
        return have;
    if (!exists) {
        QStringList cols;
        for (int c = 0; c < wanted; ++c)
            cols.append(column(c) + QLatin1Char(' ') + realType(dialect));
        const QString sql = QStringLiteral("CREATE TABLE result_shares (result_id %1 PRIMARY KEY, image_id %1 NOT NULL, "
                                           "dataset_id %1 NOT NULL, run %1 NOT NULL%2%3)")
                                .arg(intType(dialect), cols.isEmpty() ? QString() : QStringLiteral(", "), cols.join(QStringLiteral(", ")));
        if (!q.exec(sql))
            return sqlError(q, QStringLiteral("creating the class shares table"));
        // Default order (by image) and the "after this image" lookups of sorted pages.
        if (!q.exec(QStringLiteral("CREATE UNIQUE INDEX result_shares_run_image ON result_shares (run, image_id)")))
            return sqlError(q, QStringLiteral("indexing the class shares"));
        if (auto r = backfill(db, dialect, wanted); !r)
            return r.error();
        // Sums are derived from the shares: any left from before are made again.
        if (!q.exec(QStringLiteral("DROP TABLE IF EXISTS result_share_sums")))
            return sqlError(q, QStringLiteral("replacing the class share sums"));
        if (auto r = createSums(db, dialect, wanted); !r)
            return r.error();
        if (auto r = recomputeSums(db, wanted); !r)
            return r.error();
        return wanted;
    }
    for (int c = have; c < wanted; ++c) {
        if (!q.exec(QStringLiteral("ALTER TABLE result_shares ADD COLUMN %1 %2").arg(column(c), realType(dialect))))
            return sqlError(q, QStringLiteral("adding a class share column"));
        if (!q.exec(QStringLiteral("ALTER TABLE result_share_sums ADD COLUMN %1 %2").arg(column(c), realType(dialect))))
            return sqlError(q, QStringLiteral("adding a class share sum column"));
    }
    return wanted;
}

Result<void> ResultShares::createSums(QSqlDatabase &db, Dialect dialect, int columns)
{
    QStringList cols;
    for (int c = 0; c < columns; ++c)
        cols.append(QStringLiteral(", ") + column(c) + QLatin1Char(' ') + realType(dialect));
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("CREATE TABLE result_share_sums (run %1 NOT NULL, dataset_id %1 NOT NULL, n %1 NOT NULL%2, "
                               "PRIMARY KEY (run, dataset_id))")
                    .arg(intType(dialect), cols.join(QString()))))
        return sqlError(q, QStringLiteral("creating the class share sums"));
    return {};
}

namespace {

QString sumsSelect(int columns, const QString &where)
{
    QString sums;
    for (int c = 0; c < columns; ++c)
        sums += QStringLiteral(", SUM(%1)").arg(ResultShares::column(c));
    return QStringLiteral("SELECT run, dataset_id, COUNT(*)%1 FROM result_shares WHERE %2 GROUP BY run, dataset_id").arg(sums, where);
}

QString sumsColumns(int columns)
{
    QString names;
    for (int c = 0; c < columns; ++c)
        names += QStringLiteral(", ") + ResultShares::column(c);
    return names;
}

} // namespace

Result<void> ResultShares::recomputeSums(QSqlDatabase &db, int columns)
{
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("DELETE FROM result_share_sums")))
        return sqlError(q, QStringLiteral("clearing the class share sums"));
    if (!q.exec(QStringLiteral("INSERT INTO result_share_sums (run, dataset_id, n%1) ").arg(sumsColumns(columns)) +
                sumsSelect(columns, QStringLiteral("1 = 1"))))
        return sqlError(q, QStringLiteral("summing the class shares"));
    return {};
}

Result<void> ResultShares::addToSums(QSqlDatabase &db, int columns, int run, const QList<qint64> &imageIds)
{
    if (imageIds.isEmpty())
        return {};
    QStringList ids;
    ids.reserve(imageIds.size());
    for (qint64 id : imageIds)
        ids.append(QString::number(id));
    // One upsert per batch: the batch's shares summed per dataset, added to the totals.
    QString update = QStringLiteral("n = result_share_sums.n + excluded.n");
    for (int c = 0; c < columns; ++c)
        update += QStringLiteral(", %1 = COALESCE(result_share_sums.%1, 0) + COALESCE(excluded.%1, 0)").arg(column(c));
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("INSERT INTO result_share_sums (run, dataset_id, n%1) ").arg(sumsColumns(columns)) +
                sumsSelect(columns, QStringLiteral("run = %1 AND image_id IN (%2)").arg(run).arg(ids.join(QLatin1Char(',')))) +
                QStringLiteral(" ON CONFLICT (run, dataset_id) DO UPDATE SET ") + update))
        return sqlError(q, QStringLiteral("adding to the class share sums"));
    return {};
}

bool ResultShares::prepareInsert(QSqlQuery &q, Dialect dialect, int columns)
{
    // One statement per result: the ids come from the row just written (and the image's
    // dataset), so the caller needs no lastInsertId, which QPSQL does not give reliably.
    QStringList names, values;
    const QString cast = QStringLiteral("CAST(? AS %1)").arg(realType(dialect));
    for (int c = 0; c < columns; ++c) {
        names.append(QStringLiteral(", ") + column(c));
        values.append(QStringLiteral(", ") + cast);
    }
    return q.prepare(QStringLiteral("INSERT INTO result_shares (result_id, image_id, dataset_id, run%1) "
                                    "SELECT r.id, r.image_id, i.dataset_id, r.run%2 FROM results r JOIN images i ON i.id = r.image_id "
                                    "WHERE r.run = ? AND r.image_id = ?")
                         .arg(names.join(QString()), values.join(QString())));
}

void ResultShares::bind(QSqlQuery &q, int columns, const std::vector<float> &shares, int run, qint64 imageId)
{
    for (int c = 0; c < columns; ++c) {
        if (size_t(c) < shares.size())
            q.addBindValue(double(shares[size_t(c)]));
        else
            q.addBindValue(QVariant(QMetaType(QMetaType::Double)));  // unknown, not 0
    }
    q.addBindValue(run);
    q.addBindValue(imageId);
}

Result<void> ResultShares::ensureIndex(QSqlDatabase &db, int cls)
{
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("CREATE INDEX IF NOT EXISTS result_shares_%1 ON result_shares (run, %1, image_id)").arg(column(cls))))
        return sqlError(q, QStringLiteral("indexing the share of class %1").arg(cls));
    return {};
}

} // namespace SegScale::Jobs
