#pragma once
// JobStore: one study's database — settings, datasets, images and their state machine
// (pending -> leased -> done | failed), results, errors and workers. SQLite in WAL mode
// by default (a file path); PostgreSQL with "postgresql://user@host:port/db" (password
// from PGPASSWORD or ~/.pgpass, never stored).
//
// Threading: a JobStore owns one database connection and must be used only on the thread
// that opened it. Open one JobStore per thread; several stores (threads, processes) may
// work on one study at once: leasing is atomic (SQLite BEGIN IMMEDIATE, PostgreSQL
// FOR UPDATE SKIP LOCKED), and a result is accepted only under the image's current lease.

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "jobs/schema.h"
#include "jobs/studysettings.h"

#include <QHash>
#include <QSqlDatabase>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

class QSqlQuery;

namespace SegScale::Jobs {

class JobStore {
public:
    enum class OpenMode { OpenExisting, CreateIfMissing };

    struct Options {
        int maxAttempts = 3;            // failed attempts (retryable errors, lost workers) before "failed"
        qint64 backoffBaseMs = 30'000;  // retry delay after the 1st failure; doubles each time
        qint64 backoffMaxMs = 3'600'000;
    };
    using Clock = std::function<qint64()>;  // milliseconds since the epoch

    static Result<std::unique_ptr<JobStore>> open(const QString &location, OpenMode mode = OpenMode::OpenExisting);
    ~JobStore();
    JobStore(const JobStore &) = delete;
    JobStore &operator=(const JobStore &) = delete;

    Dialect dialect() const { return m_dialect; }
    QString location() const { return m_location; }
    void setOptions(const Options &options) { m_options = options; }
    const Options &options() const { return m_options; }
    // Tests inject a clock to exercise expiry and back-off without sleeping.
    void setClock(Clock clock) { m_clock = std::move(clock); }
    qint64 now() const;

    // --- settings and runs -------------------------------------------------------------
    // First call records the settings (run 1). Same fingerprint: keeps the run (the batch
    // size may change). Different fingerprint: refused (Usage error) unless newRun, which
    // starts run N+1: every image goes back to pending (outstanding leases become stale),
    // older results stay, tagged with their run. Returns the current run number.
    Result<int> beginRun(const StudySettings &settings, bool newRun);
    Result<std::optional<StudySettings>> settings();
    Result<int> currentRun();

    // --- storages, datasets, images ----------------------------------------------------
    // Upsert by name. The URL must carry no secret (a password in it is refused).
    Result<qint64> addStorage(const QString &name, const QString &url);
    // Upsert by (storage, root); patterns are kept for later rescans.
    Result<qint64> addDataset(qint64 storageId, const QString &root, const QStringList &include,
                              const QStringList &exclude);
    // One transaction, batched multi-row inserts; paths already in the dataset are skipped.
    Result<AddStats> addImages(qint64 datasetId, const QList<ImageEntry> &images);

    // --- workers -----------------------------------------------------------------------
    Result<void> registerWorker(const QString &name, const QString &host, const QString &device);

    // --- the state machine (what a runner calls) ---------------------------------------
    // Atomically leases up to n pending images whose back-off has passed, oldest first.
    // All images of one call share one fresh lease id.
    Result<QList<LeasedImage>> lease(const QString &worker, int n, int leaseSeconds);
    // Extends the worker's leases (only those in leaseIds when not empty); returns how many.
    Result<qint64> heartbeat(const QString &worker, const QList<qint64> &leaseIds, int leaseSeconds);
    // Expired leases go back to pending with attempts + 1, or to failed (internal,
    // "worker lost N times") once attempts reach maxAttempts. With a holder: every lease
    // that worker holds, expired or not — call it when a worker of that name starts again.
    Result<ExpireStats> expireLeases(const QString &holder = {});
    // Hands back leased images that were never started (a clean stop): no attempt counted.
    Result<qint64> releaseLeases(const QString &holder, const QList<qint64> &imageIds);
    // Accepted only while the image is leased under leaseId; otherwise Stale, nothing written.
    Result<WriteOutcome> complete(qint64 imageId, qint64 leaseId, const ImageResult &result);
    // Permanent categories fail at once; retryable ones (storage, internal) go back to
    // pending with exponential back-off until maxAttempts. Stale leases write nothing.
    Result<WriteOutcome> fail(qint64 imageId, qint64 leaseId, const Error &error);
    // The same, many in one transaction (a result writer calls these every ~0.5 s).
    // Outcomes are in input order. On a database error nothing of the batch is written.
    Result<QList<WriteOutcome>> completeMany(const QList<Completion> &completions);
    Result<QList<WriteOutcome>> failMany(const QList<Failure> &failures);

    // --- operator actions --------------------------------------------------------------
    // Failed images (of one category, when given) back to pending with attempts 0.
    Result<qint64> retryFailed(std::optional<ErrorCategory> category = std::nullopt);
    // Images in the given state (all non-pending states when none) back to pending;
    // done images lose their result of the current run so nothing is counted twice.
    Result<qint64> resetToPending(std::optional<ImageState> state = std::nullopt);

    // --- reading -----------------------------------------------------------------------
    Result<StudyProgress> progress(int windowMinutes = 5);
    // Failed images with their last error, ordered by image; optionally one category.
    // Paged by keyset: images with id > afterImageId, at most limit of them (-1: all).
    Result<QList<ErrorRecord>> failedImages(std::optional<ErrorCategory> category = std::nullopt, qint64 afterImageId = 0,
                                            int limit = -1);
    Result<qint64> imageCount(std::optional<ImageState> state = std::nullopt);
    // Images leased to any worker but this one: what may still come back to pending.
    Result<qint64> leasedToOthers(const QString &worker);
    // URLs of the storages that still hold pending or leased images ("" or file:// for
    // local datasets), so a run can check each server once before it starts.
    Result<QStringList> storagesWithWork();

    // --- check images --------------------------------------------------------------------
    // Replaces the study's check images (for the current settings).
    Result<void> setCheckImages(const QList<CheckImage> &images);
    // The first n images of the study (by id, any state), where they are: candidates
    // for check images. leaseId is 0: nothing is leased.
    Result<QList<LeasedImage>> firstImages(int n);
    // The check images recorded under the current settings (older ones do not apply).
    Result<QList<CheckImage>> checkImages();

    // The connection, for companions on the same thread (StudyExporter).
    QSqlDatabase database() const { return m_db; }

private:
    JobStore() = default;
    template <typename F>
    auto transact(bool write, F &&body) -> decltype(body());
    Result<void> begin(bool write);
    Result<void> commit();
    void rollback();
    Error sqlError(const QSqlQuery &q, const QString &what) const;
    // Root and storage URL of a dataset, cached: roots never change.
    Result<std::pair<QString, QString>> dataset(qint64 datasetId);
    qint64 backoffMs(int attempts) const;
    struct WriteContext;
    Result<WriteOutcome> completeOne(WriteContext &ctx, const Completion &c);
    Result<WriteOutcome> failOne(WriteContext &ctx, const Failure &f);

    QSqlDatabase m_db;
    QString m_connectionName;
    QString m_location;
    Dialect m_dialect = Dialect::Sqlite;
    Options m_options;
    Clock m_clock;
    QHash<qint64, std::pair<QString, QString>> m_datasets;
};

} // namespace SegScale::Jobs
