#pragma once
// ResultShares: the study's wide table of class shares, result_shares(result_id, image_id,
// dataset_id, run, c0, c1, ..., c{N-1}) — one row per result, one REAL column per class,
// so that SQL can sort and filter results by a class share ("sky > 30%") and average
// them per dataset. The composition BLOB in `results` stays the record (exports read it);
// this table is its queryable copy, written in the same transaction as the result.
//
// N comes from the study's model card, so the table cannot be a fixed schema step: it is
// made (and back-filled from the BLOBs) by the v5 migration when the study has settings,
// otherwise when the settings are first written (JobStore::beginRun); a later model
// with more classes, or a result wider than the card, adds columns.
// Classes beyond kMaxColumns are not queryable (SQLite allows 2000 columns, PostgreSQL
// 1600); their shares are still in the BLOB. Indexes per class are made on first use.
// Static helpers on a connection: call them on the thread that owns it.

#include "base/result.h"
#include "jobs/schema.h"

#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <vector>

class QSqlQuery;

namespace SegScale::Jobs {

class ResultShares {
public:
    static constexpr int kMaxColumns = 1000;

    static QString column(int cls) { return QStringLiteral("c%1").arg(cls); }
    // Share columns the table has now; 0 when there is no table.
    static int columns(const QSqlDatabase &db);
    // Makes sure the table exists with at least min(classes, kMaxColumns) share columns;
    // a table made here is filled from the results already recorded. Returns the number
    // of share columns. Call inside a write transaction.
    static Result<int> ensure(QSqlDatabase &db, Dialect dialect, int classes);
    // The class count of the study's model card; 0 when the study has no settings yet.
    static Result<int> studyClasses(QSqlDatabase &db);

    // Prepares `q` to copy one result into the table: bind with bind(), then exec().
    static bool prepareInsert(QSqlQuery &q, Dialect dialect, int columns);
    // Binds the shares (missing ones as NULL), then the run and the image of the result.
    static void bind(QSqlQuery &q, int columns, const std::vector<float> &shares, int run, qint64 imageId);

    // result_share_sums(run, dataset_id, n, c0, ...): the shares summed per run and
    // dataset, kept with every batch of results, so that the mean composition of a
    // million results is one small read instead of a scan of them all.
    static Result<void> createSums(QSqlDatabase &db, Dialect dialect, int columns);
    // Adds the results of these images (already in result_shares) to the sums.
    static Result<void> addToSums(QSqlDatabase &db, int columns, int run, const QList<qint64> &imageIds);
    // Sums everything again (after results were removed: a reset, a migration).
    static Result<void> recomputeSums(QSqlDatabase &db, int columns);

    // CREATE INDEX IF NOT EXISTS on (run, c<cls>, image_id): keyset pages sorted by a
    // class share, and range filters on it, read the index instead of every row.
    static Result<void> ensureIndex(QSqlDatabase &db, int cls);
};

} // namespace SegScale::Jobs
