// JobStore on a real SQLite file: every state transition, leases and their expiry,
// stale results, back-off, runs, export round trips, migration from v1, concurrency and
// durability across kill -9.

#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <csignal>
#include <sys/stat.h>

using namespace SegScale;
using namespace SegScale::Jobs;

namespace {

constexpr qint64 kStart = 1'700'000'000'000;

StudySettings makeSettings(const QByteArray &modelFingerprint, const QStringList &classes = {QStringLiteral("road"), QStringLiteral("sky")})
{
    StudySettings s;
    s.modelCard[QStringLiteral("name")] = QStringLiteral("test-model");
    s.modelCard[QStringLiteral("classes")] = QJsonArray::fromStringList(classes);
    s.modelFingerprint = modelFingerprint;
    s.scales = {0.5, 1.0};
    s.baseSize = 512;
    s.crop = 473;
    return s;
}

ImageResult makeResult(std::vector<float> composition, int w = 640, int h = 480)
{
    ImageResult r;
    r.width = w;
    r.height = h;
    r.composition = std::move(composition);
    r.timings[QStringLiteral("infer")] = 12.5;
    return r;
}

// A small RFC 4180 reader: quoted fields may hold commas, quotes ("") and line breaks.
QList<QStringList> parseCsv(const QByteArray &bytes)
{
    const QString text = QString::fromUtf8(bytes);
    QList<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false, fieldStarted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (quoted) {
            if (c == QLatin1Char('"')) {
                if (i + 1 < text.size() && text[i + 1] == QLatin1Char('"')) {
                    field += QLatin1Char('"');
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"') && !fieldStarted) {
            quoted = true;
            fieldStarted = true;
        } else if (c == QLatin1Char(',')) {
            row.append(field);
            field.clear();
            fieldStarted = false;
        } else if (c == QLatin1Char('\r') && i + 1 < text.size() && text[i + 1] == QLatin1Char('\n')) {
            row.append(field);
            rows.append(row);
            row.clear();
            field.clear();
            fieldStarted = false;
            ++i;
        } else {
            field += c;
            fieldStarted = true;
        }
    }
    if (fieldStarted || !row.isEmpty()) {
        row.append(field);
        rows.append(row);
    }
    return rows;
}

qint64 scalar(JobStore &store, const QString &sql)
{
    QSqlQuery q(store.database());
    if (!q.exec(sql) || !q.next()) {
        qWarning() << "query failed:" << sql << q.lastError().text();
        return -1;
    }
    return q.value(0).toLongLong();
}

QString text(JobStore &store, const QString &sql)
{
    QSqlQuery q(store.database());
    if (!q.exec(sql) || !q.next())
        return QStringLiteral("<query failed: %1>").arg(q.lastError().text());
    return q.value(0).toString();
}

} // namespace

class TestJobStore : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    qint64 m_clock = kStart;
    int m_counter = 0;

    QString newPath() { return m_dir.filePath(QStringLiteral("study%1.db").arg(++m_counter)); }

    // A study with settings, one local dataset and `n` images img0000.jpg, ...
    std::unique_ptr<JobStore> makeStore(int n, qint64 *datasetId = nullptr, QString path = {})
    {
        if (path.isEmpty())
            path = newPath();
        auto store = JobStore::open(path, JobStore::OpenMode::CreateIfMissing);
        if (!store) {
            qWarning() << store.error().toString();
            return nullptr;
        }
        (*store)->setClock([this] { return m_clock; });
        auto run = (*store)->beginRun(makeSettings("aaaa"), false);
        if (!run || *run != 1) {
            qWarning() << "beginRun:" << (run ? QString::number(*run) : run.error().toString());
            return nullptr;
        }
        auto storage = (*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        if (!storage) {
            qWarning() << storage.error().toString();
            return nullptr;
        }
        auto ds = (*store)->addDataset(*storage, QStringLiteral("/data/photos"), {QStringLiteral("*.jpg")}, {});
        if (!ds) {
            qWarning() << ds.error().toString();
            return nullptr;
        }
        if (datasetId)
            *datasetId = *ds;
        QList<ImageEntry> entries;
        for (int i = 0; i < n; ++i)
            entries.append({QStringLiteral("img%1.jpg").arg(i, 4, 10, QLatin1Char('0')), 1000 + i});
        auto added = (*store)->addImages(*ds, entries);
        if (!added || added->added != n) {
            qWarning() << "addImages:" << (added ? QString::number(added->added) : added.error().toString());
            return nullptr;
        }
        return std::move(*store);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
    }
    void init() { m_clock = kStart; }

    void createsPrivateWalDatabase()
    {
        const QString path = newPath();
        auto store = JobStore::open(path, JobStore::OpenMode::CreateIfMissing);
        QVERIFY2(store.ok(), store.ok() ? "" : qPrintable(store.error().toString()));
        struct stat st {};
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        QCOMPARE(text(**store, QStringLiteral("PRAGMA journal_mode")), QStringLiteral("wal"));
        QCOMPARE(text(**store, QStringLiteral("SELECT value FROM meta WHERE key = 'schema_version'")),
                 QString::number(Schema::CurrentVersion));
        // The WAL and shared-memory files take the database's mode: no other user reads them.
        QVERIFY((*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://")).ok());
        QCOMPARE(::stat(QFile::encodeName(path + QStringLiteral("-wal")).constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
    }

    void openMissingIsAnError()
    {
        auto store = JobStore::open(m_dir.filePath(QStringLiteral("nope.db")));
        QVERIFY(!store.ok());
        QCOMPARE(store.error().category, ErrorCategory::Missing);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("nope.db"))));
    }

    void refusesPasswordsInStorageUrls()
    {
        auto store = makeStore(0);
        QVERIFY(store);
        auto r = store->addStorage(QStringLiteral("nas"), QStringLiteral("sftp://alice:secret@nas:22/data"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, ErrorCategory::Usage);
        QVERIFY(!r.error().message.contains(QStringLiteral("secret")));
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM storages WHERE url LIKE '%secret%'")), 0);
    }

    void addSkipsDuplicates()
    {
        qint64 ds = 0;
        auto store = makeStore(600, &ds);
        QVERIFY(store);
        QList<ImageEntry> again;
        for (int i = 590; i < 610; ++i)  // 10 known, 10 new
            again.append({QStringLiteral("img%1.jpg").arg(i, 4, 10, QLatin1Char('0')), 1});
        again.append({QStringLiteral("img0005.jpg"), 1});
        auto added = store->addImages(ds, again);
        QVERIFY(added.ok());
        QCOMPARE(added->added, 10);
        QCOMPARE(added->skipped, 11);
        QCOMPARE(*store->imageCount(), 610);
        QCOMPARE(*store->imageCount(ImageState::Pending), 610);
        // The size of a known image is not overwritten by a re-scan.
        QCOMPARE(scalar(*store, QStringLiteral("SELECT size FROM images WHERE path = 'img0595.jpg'")), 1595);
    }

    void leaseCompleteHappyPath()
    {
        auto store = makeStore(5);
        QVERIFY(store);
        QVERIFY(store->registerWorker(QStringLiteral("w1"), QStringLiteral("host1"), QStringLiteral("cpu")).ok());
        auto leased = store->lease(QStringLiteral("w1"), 3, 60);
        QVERIFY(leased.ok());
        QCOMPARE(leased->size(), 3);
        const LeasedImage first = leased->first();
        QCOMPARE(first.path, QStringLiteral("img0000.jpg"));
        QCOMPARE(first.root, QStringLiteral("/data/photos"));
        QCOMPARE(first.location(), QStringLiteral("/data/photos/img0000.jpg"));
        QCOMPARE(first.storageUrl, QStringLiteral("file://"));
        QCOMPARE(first.size, 1000);
        QCOMPARE(first.attempts, 0);
        QVERIFY(first.leaseId != 0);
        QCOMPARE(*store->imageCount(ImageState::Leased), 3);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT lease_expiry FROM images WHERE id = %1").arg(first.imageId)),
                 kStart + 60'000);
        QCOMPARE(text(*store, QStringLiteral("SELECT lease_holder FROM images WHERE id = %1").arg(first.imageId)),
                 QStringLiteral("w1"));

        auto o = store->complete(first.imageId, first.leaseId, makeResult({0.25f, 0.75f}));
        QVERIFY(o.ok());
        QCOMPARE(*o, WriteOutcome::Done);
        QCOMPARE(*store->imageCount(ImageState::Done), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results WHERE image_id = %1 AND run = 1").arg(first.imageId)), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT length(composition) FROM results")), 8);
        QCOMPARE(text(*store, QStringLiteral("SELECT model_fingerprint FROM results")), QStringLiteral("aaaa"));
        QCOMPARE(scalar(*store, QStringLiteral("SELECT done_count FROM workers WHERE name = 'w1'")), 1);
        QCOMPARE(text(*store, QStringLiteral("SELECT host FROM workers WHERE name = 'w1'")), QStringLiteral("host1"));
        // Completing twice never counts twice.
        QCOMPARE(*store->complete(first.imageId, first.leaseId, makeResult({0.25f, 0.75f})), WriteOutcome::Stale);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 1);

        auto rest = store->lease(QStringLiteral("w2"), 10, 60);
        QVERIFY(rest.ok());
        QCOMPARE(rest->size(), 2);  // the other 3 are leased or done
        QVERIFY(rest->first().leaseId != first.leaseId);
        QCOMPARE(store->lease(QStringLiteral("w2"), 10, 60)->size(), 0);
    }

    void leaseExpiryMakesOldResultsStale()
    {
        auto store = makeStore(1);
        QVERIFY(store);
        auto a = store->lease(QStringLiteral("A"), 1, 10);
        QCOMPARE(a->size(), 1);
        const LeasedImage old = a->first();
        m_clock += 9'000;
        QCOMPARE(store->expireLeases()->returnedToPending, 0);  // not yet
        m_clock += 2'000;
        auto ex = store->expireLeases();
        QVERIFY(ex.ok());
        QCOMPARE(ex->returnedToPending, 1);
        QCOMPARE(ex->failed, 0);
        QCOMPARE(*store->imageCount(ImageState::Pending), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT attempts FROM images")), 1);

        auto b = store->lease(QStringLiteral("B"), 1, 10);
        QCOMPARE(b->size(), 1);
        QCOMPARE(b->first().imageId, old.imageId);
        QCOMPARE(b->first().attempts, 1);
        QVERIFY(b->first().leaseId != old.leaseId);

        // A's late result and late failure write nothing.
        QCOMPARE(*store->complete(old.imageId, old.leaseId, makeResult({1.0f, 0.0f})), WriteOutcome::Stale);
        QCOMPARE(*store->fail(old.imageId, old.leaseId, Error{ErrorCategory::Corrupt, QStringLiteral("x")}), WriteOutcome::Stale);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 0);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM errors WHERE category = 'corrupt'")), 0);
        QCOMPARE(text(*store, QStringLiteral("SELECT lease_holder FROM images")), QStringLiteral("B"));
        QCOMPARE(*store->imageCount(ImageState::Leased), 1);

        QCOMPARE(*store->complete(b->first().imageId, b->first().leaseId, makeResult({0.5f, 0.5f})), WriteOutcome::Done);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 1);
    }

    void lostWorkersUpToMaxAttempts()
    {
        auto store = makeStore(1);
        QVERIFY(store);
        store->setOptions({.maxAttempts = 2});
        QCOMPARE(store->lease(QStringLiteral("A"), 1, 5)->size(), 1);
        m_clock += 6'000;
        QCOMPARE(store->expireLeases()->returnedToPending, 1);
        QCOMPARE(store->lease(QStringLiteral("B"), 1, 5)->size(), 1);
        m_clock += 6'000;
        auto ex = store->expireLeases();
        QCOMPARE(ex->failed, 1);
        QCOMPARE(ex->returnedToPending, 0);
        QCOMPARE(*store->imageCount(ImageState::Failed), 1);
        auto failed = store->failedImages();
        QVERIFY(failed.ok());
        QCOMPARE(failed->size(), 1);
        QCOMPARE(failed->first().category, QStringLiteral("internal"));
        QVERIFY2(failed->first().message.contains(QStringLiteral("worker lost 2 times")), qPrintable(failed->first().message));
        QCOMPARE(failed->first().location, QStringLiteral("/data/photos/img0000.jpg"));
        QCOMPARE(failed->first().worker, QStringLiteral("B"));
        QCOMPARE(store->lease(QStringLiteral("C"), 1, 5)->size(), 0);
    }

    void heartbeatExtendsLeases()
    {
        auto store = makeStore(2);
        QVERIFY(store);
        auto a = store->lease(QStringLiteral("A"), 1, 10);
        auto b = store->lease(QStringLiteral("B"), 1, 10);
        m_clock += 8'000;
        QCOMPARE(*store->heartbeat(QStringLiteral("A"), {}, 10), 1);
        QCOMPARE(*store->heartbeat(QStringLiteral("A"), {b->first().leaseId}, 10), 0);  // not A's lease
        QCOMPARE(*store->heartbeat(QStringLiteral("B"), {a->first().leaseId}, 10), 0);
        m_clock += 8'000;  // B's lease is 16 s old, A's was renewed 8 s ago
        auto ex = store->expireLeases();
        QCOMPARE(ex->returnedToPending, 1);
        QCOMPARE(*store->complete(a->first().imageId, a->first().leaseId, makeResult({1, 0})), WriteOutcome::Done);
        QCOMPARE(*store->complete(b->first().imageId, b->first().leaseId, makeResult({1, 0})), WriteOutcome::Stale);
    }

    void permanentFailureFailsAtOnce_data()
    {
        QTest::addColumn<ErrorCategory>("category");
        for (auto c : {ErrorCategory::Corrupt, ErrorCategory::Unsupported, ErrorCategory::TooLarge, ErrorCategory::Missing,
                       ErrorCategory::Unreadable, ErrorCategory::Model})
            QTest::newRow(qPrintable(categoryName(c))) << c;
    }
    void permanentFailureFailsAtOnce()
    {
        QFETCH(ErrorCategory, category);
        auto store = makeStore(1);
        QVERIFY(store);
        auto l = store->lease(QStringLiteral("A"), 1, 60);
        auto o = store->fail(l->first().imageId, l->first().leaseId, Error{category, QStringLiteral("bad bytes in img0000.jpg")});
        QVERIFY(o.ok());
        QCOMPARE(*o, WriteOutcome::Failed);
        QCOMPARE(*store->imageCount(ImageState::Failed), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT attempts FROM images")), 1);
        QCOMPARE(text(*store, QStringLiteral("SELECT error_category FROM images")), categoryName(category));
        auto errors = store->failedImages(category);
        QCOMPARE(errors->size(), 1);
        QCOMPARE(errors->first().message, QStringLiteral("bad bytes in img0000.jpg"));
        QCOMPARE(errors->first().worker, QStringLiteral("A"));
        QCOMPARE(scalar(*store, QStringLiteral("SELECT failed_count FROM workers WHERE name = 'A'")), 1);
    }

    void retryableFailureBacksOff_data()
    {
        QTest::addColumn<ErrorCategory>("category");
        QTest::newRow("storage") << ErrorCategory::Storage;
        QTest::newRow("internal") << ErrorCategory::Internal;
    }
    void retryableFailureBacksOff()
    {
        QFETCH(ErrorCategory, category);
        auto store = makeStore(1);
        QVERIFY(store);
        store->setOptions({.maxAttempts = 3, .backoffBaseMs = 30'000, .backoffMaxMs = 3'600'000});
        auto l = store->lease(QStringLiteral("A"), 1, 60);
        QCOMPARE(*store->fail(l->first().imageId, l->first().leaseId, Error{category, QStringLiteral("timeout")}), WriteOutcome::Retry);
        QCOMPARE(*store->imageCount(ImageState::Pending), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT next_attempt FROM images")), kStart + 30'000);
        QCOMPARE(store->lease(QStringLiteral("A"), 1, 60)->size(), 0);  // backing off
        m_clock += 29'999;
        QCOMPARE(store->lease(QStringLiteral("A"), 1, 60)->size(), 0);
        m_clock += 1;
        l = store->lease(QStringLiteral("A"), 1, 60);
        QCOMPARE(l->size(), 1);
        QCOMPARE(l->first().attempts, 1);
        QCOMPARE(*store->fail(l->first().imageId, l->first().leaseId, Error{category, QStringLiteral("timeout")}), WriteOutcome::Retry);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT next_attempt FROM images")), m_clock + 60'000);  // doubled
        m_clock += 60'000;
        l = store->lease(QStringLiteral("A"), 1, 60);
        QCOMPARE(l->size(), 1);
        QCOMPARE(*store->fail(l->first().imageId, l->first().leaseId, Error{category, QStringLiteral("timeout")}), WriteOutcome::Failed);
        QCOMPARE(*store->imageCount(ImageState::Failed), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT attempts FROM images")), 3);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM errors")), 3);  // the history stays
        QCOMPARE(store->failedImages()->size(), 1);
    }

    void backoffIsCapped()
    {
        auto store = makeStore(1);
        QVERIFY(store);
        store->setOptions({.maxAttempts = 100, .backoffBaseMs = 1000, .backoffMaxMs = 5000});
        for (int i = 0; i < 6; ++i) {
            auto l = store->lease(QStringLiteral("A"), 1, 60);
            QCOMPARE(l->size(), 1);
            QCOMPARE(*store->fail(l->first().imageId, l->first().leaseId, Error{ErrorCategory::Storage, QStringLiteral("down")}),
                     WriteOutcome::Retry);
            const qint64 delay = scalar(*store, QStringLiteral("SELECT next_attempt FROM images")) - m_clock;
            QCOMPARE(delay, std::min<qint64>(1000LL << i, 5000));
            m_clock += delay;
        }
    }

    void retryFailedByCategory()
    {
        auto store = makeStore(3);
        QVERIFY(store);
        auto l = store->lease(QStringLiteral("A"), 3, 60);
        QCOMPARE(l->size(), 3);
        auto outcomes = store->failMany({{l->at(0).imageId, l->at(0).leaseId, {ErrorCategory::Corrupt, QStringLiteral("c")}},
                                         {l->at(1).imageId, l->at(1).leaseId, {ErrorCategory::Missing, QStringLiteral("m")}},
                                         {l->at(2).imageId, l->at(2).leaseId, {ErrorCategory::Corrupt, QStringLiteral("c2")}}});
        QVERIFY(outcomes.ok());
        QCOMPARE(*outcomes, (QList<WriteOutcome>{WriteOutcome::Failed, WriteOutcome::Failed, WriteOutcome::Failed}));
        auto p = store->progress();
        QCOMPARE(p->topErrors.size(), 2);
        QCOMPARE(p->topErrors[0], (QPair<QString, qint64>{QStringLiteral("corrupt"), 2}));
        QCOMPARE(p->topErrors[1], (QPair<QString, qint64>{QStringLiteral("missing"), 1}));
        QCOMPARE(*store->retryFailed(ErrorCategory::Unsupported), 0);
        QCOMPARE(*store->retryFailed(ErrorCategory::Corrupt), 2);
        QCOMPARE(*store->imageCount(ImageState::Pending), 2);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT MAX(attempts) FROM images WHERE state = 0")), 0);
        QCOMPARE(*store->retryFailed(), 1);
        QCOMPARE(*store->imageCount(ImageState::Pending), 3);
        QCOMPARE(store->lease(QStringLiteral("A"), 5, 60)->size(), 3);
    }

    void resetToPendingEveryState()
    {
        auto store = makeStore(4);
        QVERIFY(store);
        auto l = store->lease(QStringLiteral("A"), 3, 60);
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, makeResult({1, 0})), WriteOutcome::Done);
        QCOMPARE(*store->fail(l->at(1).imageId, l->at(1).leaseId, {ErrorCategory::Corrupt, QStringLiteral("c")}), WriteOutcome::Failed);
        // now: 1 done, 1 failed, 1 leased, 1 pending
        QCOMPARE(*store->resetToPending(ImageState::Pending), 0);
        QCOMPARE(*store->resetToPending(ImageState::Leased), 1);
        QCOMPARE(*store->complete(l->at(2).imageId, l->at(2).leaseId, makeResult({1, 0})), WriteOutcome::Stale);
        QCOMPARE(*store->resetToPending(ImageState::Done), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 0);
        QCOMPARE(*store->imageCount(ImageState::Failed), 1);
        QCOMPARE(*store->resetToPending(), 1);
        QCOMPARE(*store->imageCount(ImageState::Pending), 4);
        // The image that was done can be done again in the same run: one result per run.
        auto again = store->lease(QStringLiteral("A"), 4, 60);
        QCOMPARE(again->size(), 4);
        QList<Completion> all;
        for (const auto &img : *again)
            all.append({img.imageId, img.leaseId, makeResult({0.5f, 0.5f})});
        auto o = store->completeMany(all);
        QVERIFY2(o.ok(), o.ok() ? "" : qPrintable(o.error().toString()));
        QCOMPARE(*store->imageCount(ImageState::Done), 4);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 4);
    }

    void completeManyMixesOutcomes()
    {
        auto store = makeStore(3);
        QVERIFY(store);
        auto l = store->lease(QStringLiteral("A"), 3, 60);
        QList<Completion> batch{
            {l->at(0).imageId, l->at(0).leaseId, makeResult({0.1f, 0.9f})},
            {l->at(1).imageId, l->at(1).leaseId + 1, makeResult({0.1f, 0.9f})},  // wrong lease
            {l->at(0).imageId, l->at(0).leaseId, makeResult({0.1f, 0.9f})},      // duplicate in the batch
            {l->at(2).imageId, l->at(2).leaseId, makeResult({0.1f, 0.9f})},
        };
        ImageResult other = makeResult({0.1f, 0.9f});
        other.modelFingerprint = "bbbb";
        batch.append({l->at(1).imageId, l->at(1).leaseId, other});  // another model
        auto o = store->completeMany(batch);
        QVERIFY(o.ok());
        QCOMPARE(*o, (QList<WriteOutcome>{WriteOutcome::Done, WriteOutcome::Stale, WriteOutcome::Stale, WriteOutcome::Done,
                                          WriteOutcome::Rejected}));
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 2);
        QCOMPARE(*store->imageCount(ImageState::Leased), 1);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT done_count FROM workers WHERE name = 'A'")), 2);
    }

    void refusesToMixModelsUnlessNewRun()
    {
        auto store = makeStore(3);
        QVERIFY(store);
        auto l = store->lease(QStringLiteral("A"), 2, 60);
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, makeResult({0.25f, 0.75f})), WriteOutcome::Done);
        // Same settings (only the batch differs): same run.
        StudySettings same = makeSettings("aaaa");
        same.batch = 8;
        QCOMPARE(*store->beginRun(same, false), 1);
        QCOMPARE((*store->settings())->batch, 8);
        // Another model, or other scales: refused.
        auto refused = store->beginRun(makeSettings("bbbb"), false);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Usage);
        QVERIFY(refused.error().message.contains(QStringLiteral("new run")));
        StudySettings otherScales = makeSettings("aaaa");
        otherScales.scales = {1.0};
        QVERIFY(!store->beginRun(otherScales, false).ok());
        QCOMPARE((*store->settings())->modelFingerprint, QByteArray("aaaa"));
        QCOMPARE(*store->imageCount(ImageState::Done), 1);

        auto run2 = store->beginRun(makeSettings("bbbb"), true);
        QVERIFY(run2.ok());
        QCOMPARE(*run2, 2);
        QCOMPARE(*store->currentRun(), 2);
        QCOMPARE((*store->settings())->modelFingerprint, QByteArray("bbbb"));
        QCOMPARE(*store->imageCount(ImageState::Pending), 3);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results WHERE run = 1")), 1);  // kept
        // The lease from run 1 is stale now; a result of the old model is rejected outright.
        QCOMPARE(*store->complete(l->at(1).imageId, l->at(1).leaseId, makeResult({1, 0})), WriteOutcome::Stale);
        auto l2 = store->lease(QStringLiteral("A"), 3, 60);
        QCOMPARE(l2->size(), 3);
        ImageResult old = makeResult({1, 0});
        old.modelFingerprint = "aaaa";
        QCOMPARE(*store->complete(l2->at(0).imageId, l2->at(0).leaseId, old), WriteOutcome::Rejected);
        QCOMPARE(*store->complete(l2->at(1).imageId, l2->at(1).leaseId, makeResult({0.5f, 0.5f})), WriteOutcome::Done);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT run FROM results WHERE image_id = %1 AND model_fingerprint = 'bbbb'")
                                    .arg(l2->at(1).imageId)),
                 2);
        // The export holds only the current run.
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        auto n = StudyExporter(*store).exportComposition(buf, StudyExporter::Format::Wide);
        QVERIFY(n.ok());
        QCOMPARE(*n, 1);
    }

    void exportRoundTrip()
    {
        const QStringList classes{QStringLiteral("road"), QStringLiteral("car, truck"), QStringLiteral("the \"sky\""),
                                  QStringLiteral("Straße ☀"), QStringLiteral("multi\nline")};
        auto opened = JobStore::open(newPath(), JobStore::OpenMode::CreateIfMissing);
        QVERIFY(opened.ok());
        auto &store = *opened;
        QCOMPARE(*store->beginRun(makeSettings("ffff", classes), false), 1);
        const qint64 storage = *store->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        const qint64 ds = *store->addDataset(storage, QStringLiteral("/data/Ünïcode, \"quoted\""), {}, {});
        const QStringList paths{QStringLiteral("a.jpg"), QStringLiteral("with,comma.jpg"), QStringLiteral("with\"quote\".jpg"),
                                QStringLiteral("日本/東京.png"), QStringLiteral("new\nline.jpg"), QStringLiteral("bad.jpg")};
        QList<ImageEntry> entries;
        for (const auto &p : paths)
            entries.append({p, 1});
        QCOMPARE(store->addImages(ds, entries)->added, paths.size());
        auto l = store->lease(QStringLiteral("A"), 10, 60);
        QCOMPARE(l->size(), paths.size());
        QHash<QString, std::vector<float>> expected;
        QList<Completion> completions;
        for (int i = 0; i < 5; ++i) {
            std::vector<float> comp{0.1f * float(i), 0.123456789f, 1.0f / 3.0f, 0.0f, 1e-7f};
            expected.insert(l->at(i).location(), comp);
            completions.append({l->at(i).imageId, l->at(i).leaseId, makeResult(comp, 100 + i, 50 + i)});
        }
        QVERIFY(store->completeMany(completions).ok());
        QCOMPARE(*store->fail(l->at(5).imageId, l->at(5).leaseId,
                              {ErrorCategory::Corrupt, QStringLiteral("premature end, \"bad.jpg\"\nat byte 7")}),
                 WriteOutcome::Failed);

        auto fmt = [](float f) { return QString::number(double(f), 'f', 6); };
        StudyExporter exporter(*store);
        {
            QBuffer buf;
            buf.open(QIODevice::WriteOnly);
            QCOMPARE(*exporter.exportComposition(buf, StudyExporter::Format::Wide), 5);
            const auto rows = parseCsv(buf.data());
            QCOMPARE(rows.size(), 6);
            QCOMPARE(rows[0], QStringList({QStringLiteral("image"), QStringLiteral("width"), QStringLiteral("height")}) + classes);
            for (int i = 1; i < rows.size(); ++i) {
                const QStringList &r = rows[i];
                QCOMPARE(r.size(), 3 + classes.size());
                QVERIFY2(expected.contains(r[0]), qPrintable(r[0]));
                QCOMPARE(r[1], QString::number(100 + i - 1));
                QCOMPARE(r[2], QString::number(50 + i - 1));
                const auto &comp = expected[r[0]];
                for (int c = 0; c < classes.size(); ++c)
                    QCOMPARE(r[3 + c], fmt(comp[size_t(c)]));
            }
            QCOMPARE(rows[1][0], QStringLiteral("/data/Ünïcode, \"quoted\"/a.jpg"));
            QCOMPARE(rows[1][4], QStringLiteral("0.123457"));
        }
        {
            QBuffer buf;
            buf.open(QIODevice::WriteOnly);
            QCOMPARE(*exporter.exportComposition(buf, StudyExporter::Format::Long), 5);
            const auto rows = parseCsv(buf.data());
            QCOMPARE(rows.size(), 1 + 5 * classes.size());
            QCOMPARE(rows[0], (QStringList{QStringLiteral("image"), QStringLiteral("class"), QStringLiteral("fraction")}));
            for (int i = 1; i < rows.size(); ++i) {
                QCOMPARE(rows[i].size(), 3);
                const int c = int(classes.indexOf(rows[i][1]));
                QVERIFY2(c >= 0, qPrintable(rows[i][1]));
                QCOMPARE(rows[i][2], fmt(expected.value(rows[i][0])[size_t(c)]));
            }
        }
        {
            QBuffer buf;
            buf.open(QIODevice::WriteOnly);
            QCOMPARE(*exporter.exportErrors(buf), 1);
            const auto rows = parseCsv(buf.data());
            QCOMPARE(rows.size(), 2);
            QCOMPARE(rows[0], (QStringList{QStringLiteral("image"), QStringLiteral("category"), QStringLiteral("message")}));
            QCOMPARE(rows[1], (QStringList{QStringLiteral("/data/Ünïcode, \"quoted\"/bad.jpg"), QStringLiteral("corrupt"),
                                           QStringLiteral("premature end, \"bad.jpg\"\nat byte 7")}));
        }
    }

    void migratesVersion1WithDataKept()
    {
        const QString path = newPath();
        {
            // The v1 schema exactly as v1 wrote it, filled by hand.
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("v1"));
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            const QStringList v1{
                QStringLiteral("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
                QStringLiteral("CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), model_card TEXT NOT NULL, "
                               "model_fingerprint TEXT NOT NULL, settings_fingerprint TEXT NOT NULL, scales TEXT NOT NULL, "
                               "base_size INTEGER NOT NULL, crop INTEGER NOT NULL, flip INTEGER NOT NULL, stride_rate REAL NOT NULL, "
                               "batch INTEGER NOT NULL, run INTEGER NOT NULL)"),
                QStringLiteral("CREATE TABLE storages (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL)"),
                QStringLiteral("CREATE TABLE datasets (id INTEGER PRIMARY KEY, storage_id INTEGER NOT NULL REFERENCES storages(id), "
                               "root TEXT NOT NULL, include_patterns TEXT NOT NULL, exclude_patterns TEXT NOT NULL, "
                               "created_at INTEGER NOT NULL, UNIQUE (storage_id, root))"),
                QStringLiteral("CREATE TABLE images (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES datasets(id), "
                               "path TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0, "
                               "attempts INTEGER NOT NULL DEFAULT 0, lease_holder TEXT, lease_id INTEGER, lease_expiry INTEGER, "
                               "next_attempt INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, "
                               "UNIQUE (dataset_id, path))"),
                QStringLiteral("CREATE INDEX images_pending ON images (next_attempt, id) WHERE state = 0"),
                QStringLiteral("CREATE INDEX images_leased ON images (lease_expiry) WHERE state = 1"),
                QStringLiteral("CREATE TABLE results (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id), "
                               "run INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, composition BLOB NOT NULL, "
                               "label_path TEXT, overlay_path TEXT, timings TEXT, model_fingerprint TEXT, created_at INTEGER NOT NULL)"),
                QStringLiteral("CREATE UNIQUE INDEX results_run_image ON results (run, image_id)"),
                QStringLiteral("CREATE TABLE errors (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id), "
                               "run INTEGER NOT NULL, category TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL, worker TEXT)"),
                QStringLiteral("CREATE INDEX errors_image ON errors (image_id)"),
                QStringLiteral("INSERT INTO meta VALUES ('schema_version', '1'), ('created_at', '2024-01-01T00:00:00Z')"),
                QStringLiteral("INSERT INTO settings VALUES (1, '{\"name\":\"old\",\"classes\":[\"road\",\"sky\"]}', 'aaaa', "
                               "'%1', '[0.5,1]', 512, 473, 1, 0.6666666666666666, 1, 1)")
                    .arg(QString::fromLatin1(makeSettings("aaaa").fingerprint())),
                QStringLiteral("INSERT INTO storages VALUES (1, 'local', 'file://')"),
                QStringLiteral("INSERT INTO datasets VALUES (1, 1, '/old', '*.jpg', '', 0)"),
                QStringLiteral("INSERT INTO images (id, dataset_id, path, size, state, attempts, created_at, updated_at) VALUES "
                               "(1, 1, 'done.jpg', 10, 2, 0, 0, 100), (2, 1, 'failed.jpg', 20, 3, 1, 0, 200), "
                               "(3, 1, 'pending.jpg', 30, 0, 0, 0, 0)"),
                QStringLiteral("INSERT INTO results (image_id, run, width, height, composition, created_at) "
                               "VALUES (1, 1, 4, 3, X'0000803E0000403F', 150)"),
                QStringLiteral("INSERT INTO errors (image_id, run, category, message, at, worker) VALUES "
                               "(2, 1, 'storage', 'first try', 190, 'w'), (2, 1, 'corrupt', 'truncated', 200, 'w')"),
            };
            for (const auto &s : v1)
                QVERIFY2(q.exec(s), qPrintable(s + QStringLiteral(": ") + q.lastError().text()));
            q.finish();
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("v1"));

        auto opened = JobStore::open(path);
        QVERIFY2(opened.ok(), opened.ok() ? "" : qPrintable(opened.error().toString()));
        auto &store = *opened;
        QSqlDatabase db = store->database();
        QCOMPARE(*Schema::version(db), Schema::CurrentVersion);
        QVERIFY(db.tables().contains(QStringLiteral("workers")));
        // v3: old studies were fp32, and their fingerprint stays what it was.
        QCOMPARE((*store->settings())->precision, QStringLiteral("fp32"));
        // Data kept, and the new columns filled from the old tables.
        QCOMPARE(*store->imageCount(), 3);
        QCOMPARE(*store->currentRun(), 1);
        QCOMPARE((*store->settings())->classNames(), (QStringList{QStringLiteral("road"), QStringLiteral("sky")}));
        QCOMPARE(scalar(*store, QStringLiteral("SELECT finished_at FROM images WHERE id = 1")), 150);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT finished_at FROM images WHERE id = 2")), 200);
        QCOMPARE(text(*store, QStringLiteral("SELECT error_category FROM images WHERE id = 2")), QStringLiteral("corrupt"));
        QCOMPARE(store->failedImages(ErrorCategory::Corrupt)->first().message, QStringLiteral("truncated"));
        // The same settings continue the same run; the old result exports.
        QCOMPARE(*store->beginRun(makeSettings("aaaa"), false), 1);
        QBuffer buf;
        buf.open(QIODevice::WriteOnly);
        QCOMPARE(*StudyExporter(*store).exportComposition(buf, StudyExporter::Format::Wide), 1);
        QCOMPARE(parseCsv(buf.data()).value(1),
                 (QStringList{QStringLiteral("/old/done.jpg"), QStringLiteral("4"), QStringLiteral("3"), QStringLiteral("0.250000"),
                              QStringLiteral("0.750000")}));
        // And the state machine works on the migrated rows.
        QCOMPARE(*store->retryFailed(ErrorCategory::Corrupt), 1);
        store->setClock([this] { return m_clock; });
        auto l = store->lease(QStringLiteral("w"), 5, 60);
        QCOMPARE(l->size(), 2);
        QCOMPARE(*store->complete(l->at(0).imageId, l->at(0).leaseId, makeResult({1, 0})), WriteOutcome::Done);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT done_count FROM workers WHERE name = 'w'")), 1);

        // Another precision is other settings: refused without a new run, kept with one.
        StudySettings half = makeSettings("aaaa");
        half.precision = QStringLiteral("fp16");
        QVERIFY(half.fingerprint() != makeSettings("aaaa").fingerprint());
        QVERIFY(!store->beginRun(half, false).ok());
        QCOMPARE(*store->beginRun(half, true), 2);
        QCOMPARE((*store->settings())->precision, QStringLiteral("fp16"));
    }

    void refusesNewerSchema()
    {
        const QString path = newPath();
        {
            auto store = JobStore::open(path, JobStore::OpenMode::CreateIfMissing);
            QVERIFY(store.ok());
            QSqlQuery q((*store)->database());
            QVERIFY(q.exec(QStringLiteral("UPDATE meta SET value = '99' WHERE key = 'schema_version'")));
        }
        auto store = JobStore::open(path);
        QVERIFY(!store.ok());
        QCOMPARE(store.error().category, ErrorCategory::Unsupported);
        QVERIFY(store.error().message.contains(QStringLiteral("v99")));
    }

    void progressThroughputAndEta()
    {
        auto store = makeStore(100);
        QVERIFY(store);
        auto p0 = store->progress(5);
        QCOMPARE(p0->pending, 100);
        QCOMPARE(p0->etaSeconds, -1);
        QCOMPARE(p0->run, 1);
        // 30 images a minute for two minutes.
        for (int minute = 0; minute < 2; ++minute) {
            for (int i = 0; i < 30; ++i) {
                auto l = store->lease(QStringLiteral("A"), 1, 60);
                QCOMPARE(*store->complete(l->first().imageId, l->first().leaseId, makeResult({1, 0})), WriteOutcome::Done);
                m_clock += 2'000;
            }
        }
        auto p = store->progress(5);
        QVERIFY(p.ok());
        QCOMPARE(p->done, 60);
        QCOMPARE(p->pending, 40);
        QCOMPARE(p->total(), 100);
        QCOMPARE(p->finishedInWindow, 60);
        QVERIFY2(qAbs(p->imagesPerMinute - 30.0) < 0.6, qPrintable(QString::number(p->imagesPerMinute)));
        QVERIFY2(qAbs(p->etaSeconds - 80) <= 2, qPrintable(QString::number(p->etaSeconds)));
        m_clock += 10 * 60'000;  // nothing finished in the last 5 minutes
        p = store->progress(5);
        QCOMPARE(p->finishedInWindow, 0);
        QCOMPARE(p->etaSeconds, -1);
    }

    void concurrentLeasersNeverShareAnImage()
    {
        const QString path = newPath();
        auto store = makeStore(3000, nullptr, path);
        QVERIFY(store);
        struct Leaser : QThread {
            QString path, name;
            QList<qint64> ids;
            QString error;
            void run() override
            {
                auto s = JobStore::open(path);  // its own connection, on its own thread
                if (!s) {
                    error = s.error().toString();
                    return;
                }
                for (;;) {
                    auto l = (*s)->lease(name, 7, 600);
                    if (!l) {
                        error = l.error().toString();
                        return;
                    }
                    if (l->isEmpty())
                        return;
                    QList<Completion> done;
                    for (const auto &img : *l) {
                        ids.append(img.imageId);
                        done.append({img.imageId, img.leaseId, makeResult({1, 0})});
                    }
                    auto o = (*s)->completeMany(done);
                    if (!o || o->count(WriteOutcome::Done) != l->size()) {
                        error = o ? QStringLiteral("a completion was refused") : o.error().toString();
                        return;
                    }
                    // SQLite's busy handler is not fair; a short pause lets the other
                    // thread in, so that the two really interleave.
                    QThread::usleep(300);
                }
            }
        };
        Leaser a, b;
        a.path = b.path = path;
        a.name = QStringLiteral("A");
        b.name = QStringLiteral("B");
        a.start();
        b.start();
        QVERIFY(a.wait(120'000));
        QVERIFY(b.wait(120'000));
        QVERIFY2(a.error.isEmpty(), qPrintable(a.error));
        QVERIFY2(b.error.isEmpty(), qPrintable(b.error));
        QVERIFY2(a.ids.size() > 0 && b.ids.size() > 0,
                 qPrintable(QStringLiteral("both threads should get work: %1 / %2").arg(a.ids.size()).arg(b.ids.size())));
        const QSet<qint64> sa(a.ids.cbegin(), a.ids.cend()), sb(b.ids.cbegin(), b.ids.cend());
        QCOMPARE(sa.size(), a.ids.size());
        QCOMPARE(sb.size(), b.ids.size());
        QVERIFY(!sa.intersects(sb));
        QCOMPARE(sa.size() + sb.size(), 3000);
        QCOMPARE(*store->imageCount(ImageState::Done), 3000);
        QCOMPARE(scalar(*store, QStringLiteral("SELECT COUNT(*) FROM results")), 3000);
    }

    void committedResultSurvivesKill9()
    {
        const QString path = newPath();
        {
            auto store = makeStore(2, nullptr, path);
            QVERIFY(store);
        }
        // The child completes one image, then dies by SIGKILL without closing anything.
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("SEGSCALE_JOBSTORE_CRASH_CHILD"), path);
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForFinished(60'000));
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);
        QVERIFY2(child.readAllStandardError().contains("committed"), "the child did not reach its commit");
        auto store = JobStore::open(path);
        QVERIFY(store.ok());
        QCOMPARE(*(*store)->imageCount(ImageState::Done), 1);
        QCOMPARE(*(*store)->imageCount(ImageState::Leased), 1);  // leased before the crash, expires later
        QCOMPARE(scalar(**store, QStringLiteral("SELECT COUNT(*) FROM results")), 1);
    }
};

// The child half of committedResultSurvivesKill9.
static int crashChild(const QString &path)
{
    auto store = JobStore::open(path);
    if (!store)
        return 1;
    auto l = (*store)->lease(QStringLiteral("doomed"), 2, 600);
    if (!l || l->size() != 2)
        return 1;
    auto o = (*store)->complete(l->first().imageId, l->first().leaseId, makeResult({0.5f, 0.5f}));
    if (!o || *o != WriteOutcome::Done)
        return 1;
    fputs("committed\n", stderr);
    fflush(stderr);
    ::raise(SIGKILL);
    return 0;
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (const QString child = qEnvironmentVariable("SEGSCALE_JOBSTORE_CRASH_CHILD"); !child.isEmpty())
        return crashChild(child);
    TestJobStore test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_jobstore.moc"
