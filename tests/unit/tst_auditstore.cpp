// The audit and error-log companions of JobStore on a real SQLite study
// (tests/common/auditstudy.h): AuditSampler's modes (seeded reservoir draws, extremes of
// a class share), AuditStore's marks and quality rates, ErrorLog's SQL filters against a
// brute-force filter, retry by id, the shared errors CSV, `--audit` columns in the
// composition export, and a v4 study migrating to the audit schema.

#include "common/auditstudy.h"
#include "jobs/auditsampler.h"
#include "jobs/auditstore.h"
#include "jobs/errorlog.h"
#include "jobs/errorscsv.h"
#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <map>

using namespace SegScale;
using namespace SegScale::Jobs;
using SegScale::Testing::AuditStudy;

namespace {

QList<qint64> ids(const QList<AuditItem> &items)
{
    QList<qint64> out;
    for (const auto &i : items)
        out << i.imageId;
    return out;
}

QList<qint64> ids(const QList<AuditSampler::Pick> &picks)
{
    QList<qint64> out;
    for (const auto &p : picks)
        out << p.imageId;
    return out;
}

// The k highest (or lowest) road shares among the finished images, ties by id.
QList<qint64> bruteExtremes(const std::vector<qint64> &done, int k, bool highest)
{
    std::vector<qint64> sorted = done;
    std::sort(sorted.begin(), sorted.end(), [highest](qint64 a, qint64 b) {
        const float sa = AuditStudy::composition(a)[0], sb = AuditStudy::composition(b)[0];
        if (sa != sb)
            return highest ? sa > sb : sa < sb;
        return a < b;
    });
    sorted.resize(static_cast<size_t>(k));
    return QList<qint64>(sorted.begin(), sorted.end());
}

} // namespace

class TestAuditStore : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_db;
    AuditStudy m_study;
    std::unique_ptr<JobStore> m_store;
    int m_counter = 0;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(QStringLiteral("study.db"));
        const QString written = m_study.write(m_db);
        QVERIFY2(written.isEmpty(), qPrintable(written));
        QCOMPARE(m_study.failed.size(), size_t(40));
        QCOMPARE(m_study.done.size(), size_t(160));
        auto opened = JobStore::open(m_db);
        QVERIFY(opened.ok());
        m_store = std::move(*opened);
    }

    void samplerRandomIsReproducibleWhateverThePaging()
    {
        AuditSampleParams p;
        p.k = 15;
        p.seed = 42;
        auto draw = [&](quint64 seed, int pageRows) {
            AuditSampleParams q = p;
            q.seed = seed;
            AuditSampler s(q);
            AuditStore store(*m_store);
            qint64 next = 0;
            while (next >= 0)
                next = *store.feed(s, next, pageRows);
            return ids(s.picks());
        };
        const QList<qint64> a = draw(42, 20000);
        QCOMPARE(a.size(), 15);
        QCOMPARE(draw(42, 7), a);  // pages of 7 rows: the same draw
        QCOMPARE(QSet<qint64>(a.begin(), a.end()).size(), 15);
        QVERIFY(std::is_sorted(a.begin(), a.end()));
        for (qint64 id : a)
            QVERIFY2(!AuditStudy::fails(id), "only finished images are drawn");
        QVERIFY(draw(43, 20000) != a);
        // More than there are: all of them.
        p.k = 1000;
        QCOMPARE(draw(1, 50).size(), 160);
    }

    void samplerRandomIsUniform()
    {
        // k = 1 of 10 items over 3000 seeds: each item about 300 times.
        std::map<qint64, int> hits;
        for (quint64 seed = 0; seed < 3000; ++seed) {
            AuditSampler s(AuditSampleParams{AuditMode::Random, 1, seed, 0});
            for (qint64 id = 1; id <= 10; ++id)
                s.add(id, 1);
            ++hits[s.picks().first().imageId];
        }
        QCOMPARE(hits.size(), size_t(10));
        for (const auto &[id, n] : hits)
            QVERIFY2(n > 220 && n < 380, qPrintable(QStringLiteral("image %1 drawn %2 times of 3000").arg(id).arg(n)));
    }

    void perDatasetDrawsKOfEach()
    {
        auto sample = AuditStore(*m_store).sample(AuditSampleParams{AuditMode::PerDataset, 6, 9, 0});
        QVERIFY2(sample.ok(), sample.ok() ? "" : qPrintable(sample.error().toString()));
        QCOMPARE(sample->size(), 12);
        for (int i = 0; i < 12; ++i) {
            const AuditItem &item = sample->at(i);
            QCOMPARE(item.datasetId, i < 6 ? m_study.datasetA : m_study.datasetB);
            QCOMPARE(item.location, AuditStudy::locationOf(item.imageId));
            QCOMPARE(item.overlayPath, QStringLiteral("/nonexistent/overlays/%1.jpg").arg(item.imageId));
            QVERIFY(!item.mark);
        }
        // A dataset's draw does not depend on the others: dataset A's picks equal a
        // per-dataset draw fed only A's images.
        AuditSampler onlyA(AuditSampleParams{AuditMode::PerDataset, 6, 9, 0});
        for (qint64 id : m_study.done)
            if (id < AuditStudy::kFirstB)
                onlyA.add(id, m_study.datasetA);
        QCOMPARE(ids(onlyA.picks()), ids(*sample).mid(0, 6));
        // k larger than a dataset: all of that dataset.
        auto all = AuditStore(*m_store).sample(AuditSampleParams{AuditMode::PerDataset, 500, 9, 0});
        QCOMPARE(all->size(), 160);
    }

    void extremesAreTheTopAndBottomShares()
    {
        auto sample = AuditStore(*m_store).sample(AuditSampleParams{AuditMode::Extremes, 5, 0, 0});
        QVERIFY(sample.ok());
        QCOMPARE(sample->size(), 10);
        QCOMPARE(ids(*sample).mid(0, 5), bruteExtremes(m_study.done, 5, true));
        QCOMPARE(ids(*sample).mid(5, 5), bruteExtremes(m_study.done, 5, false));
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(sample->at(i).group, i < 5 ? AuditItem::Group::Highest : AuditItem::Group::Lowest);
            QCOMPARE(sample->at(i).share, static_cast<double>(AuditStudy::composition(sample->at(i).imageId)[0]));
        }
        // The two ends meet when k is over half: every image once.
        auto wide = AuditStore(*m_store).sample(AuditSampleParams{AuditMode::Extremes, 100, 0, 2});
        QCOMPARE(wide->size(), 160);
        const QList<qint64> wideIds = ids(*wide);
        QCOMPARE(QSet<qint64>(wideIds.begin(), wideIds.end()).size(), 160);
        // A class the study does not have is a readable refusal.
        auto bad = AuditStore(*m_store).sample(AuditSampleParams{AuditMode::Extremes, 5, 0, 3});
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().category, ErrorCategory::Usage);
        QVERIFY(bad.error().message.contains(QStringLiteral("3 classes")));
    }

    void marksAndQuality()
    {
        AuditStore audit(*m_store);
        QVERIFY(audit.setMark(1, AuditVerdict::Accepted, QStringLiteral("fine"), QStringLiteral("ana")).ok());
        QVERIFY(audit.setMark(2, AuditVerdict::Flagged, QStringLiteral("sky, \"clouds\"\nmissed"), QStringLiteral("ana")).ok());
        QVERIFY(audit.setMark(3, AuditVerdict::Flagged, {}, {}).ok());
        QVERIFY(audit.setMark(3, AuditVerdict::Accepted, QStringLiteral("on a second look"), QStringLiteral("bo")).ok());  // replaces
        QVERIFY(audit.setMark(121, AuditVerdict::Flagged, {}, QStringLiteral("bo")).ok());
        QVERIFY(audit.setMark(122, AuditVerdict::Accepted, {}, QStringLiteral("bo")).ok());
        QVERIFY(audit.setMark(123, AuditVerdict::Accepted, {}, QStringLiteral("bo")).ok());
        QVERIFY(audit.setMark(124, AuditVerdict::Accepted, {}, QStringLiteral("bo")).ok());
        QVERIFY(*audit.clearMark(124));
        QVERIFY(!*audit.clearMark(124));
        auto missing = audit.setMark(9999, AuditVerdict::Accepted, {}, {});
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);

        auto marks = audit.marks({1, 2, 3, 4, 124});
        QVERIFY(marks.ok());
        QCOMPARE(marks->size(), 3);
        QCOMPARE(marks->value(2).verdict, AuditVerdict::Flagged);
        QCOMPARE(marks->value(2).note, QStringLiteral("sky, \"clouds\"\nmissed"));
        QCOMPARE(marks->value(3).verdict, AuditVerdict::Accepted);
        QCOMPARE(marks->value(3).markedBy, QStringLiteral("bo"));
        QVERIFY(marks->value(1).markedAtMs > 0);

        auto q = audit.quality();
        QVERIFY(q.ok());
        QCOMPARE(q->size(), 2);
        QCOMPARE(q->at(0).root, QStringLiteral("/data/a"));
        QCOMPARE(q->at(0).finished, 120 - 24);
        QCOMPARE(q->at(0).accepted, 2);
        QCOMPARE(q->at(0).flagged, 1);
        QCOMPARE(*q->at(0).rate(), 2.0 / 3.0);
        QCOMPARE(q->at(1).finished, 80 - 16);
        QCOMPARE(q->at(1).marked(), 3);
        QCOMPARE(*q->at(1).rate(), 2.0 / 3.0);

        // Marks only (what the Audit tab asks after each mark): no count of finished images.
        auto fast = audit.quality(false);
        QCOMPARE(fast->at(0).finished, -1);
        QCOMPARE(fast->at(0).accepted, 2);
        QCOMPARE(fast->at(1).flagged, 1);

        // A sample shows the marks of its images.
        auto items = audit.items({{2, m_study.datasetA, 0, AuditItem::Group::None}});
        QCOMPARE(items->size(), 1);
        QVERIFY(items->first().mark);
        QCOMPARE(items->first().mark->verdict, AuditVerdict::Flagged);

        // The database refuses any other verdict word.
        QSqlQuery raw(m_store->database());
        QVERIFY(!raw.exec(QStringLiteral("INSERT INTO audit_marks (image_id, verdict, marked_at) VALUES (4, 'maybe', 0)")));
    }

    void compositionExportWithAuditColumns()
    {
        QBuffer plain, audited;
        plain.open(QIODevice::WriteOnly);
        audited.open(QIODevice::WriteOnly);
        QCOMPARE(*StudyExporter(*m_store).exportComposition(plain, StudyExporter::Format::Wide), 160);
        StudyExporter withAudit(*m_store);
        withAudit.setAuditColumns(true);
        QCOMPARE(*withAudit.exportComposition(audited, StudyExporter::Format::Wide), 160);
        const QList<QByteArray> p = plain.data().split('\n'), a = audited.data().split('\n');
        QCOMPARE(p.first(), QByteArray("image,width,height,road,sky,tree\r"));
        QCOMPARE(a.first(), QByteArray("image,width,height,road,sky,tree,audit,audit_note\r"));
        // Every row is the plain row plus two fields.
        const QByteArray a1 = a.at(1), p1 = p.at(1);  // image 1: accepted, "fine"
        QCOMPARE(a1, p1.chopped(1) + ",accepted,fine\r");
        QVERIFY(audited.data().contains("/data/a/img0002.jpg,640,480,"));
        QVERIFY(audited.data().contains(",flagged,\"sky, \"\"clouds\"\"\nmissed\"\r\n"));
        const auto row4 = std::find_if(a.begin(), a.end(), [](const QByteArray &l) { return l.startsWith("/data/a/img0004.jpg,"); });
        QVERIFY(row4 != a.end());
        QVERIFY(row4->endsWith(",,\r"));  // image 4 unmarked: two empty fields
        // Long format: the two columns on every row.
        QBuffer longAudited;
        longAudited.open(QIODevice::WriteOnly);
        QCOMPARE(*withAudit.exportComposition(longAudited, StudyExporter::Format::Long), 160);
        QVERIFY(longAudited.data().startsWith("image,class,fraction,audit,audit_note\r\n/data/a/img0001.jpg,road,0.370000,accepted,fine\r\n"));
    }

    void errorLogFiltersMatchBruteForce()
    {
        ErrorLog log(*m_store);
        const qint64 t0 = AuditStudy::kT0, h = AuditStudy::kHour;
        const std::optional<QString> categories[] = {std::nullopt, QStringLiteral("corrupt"), QStringLiteral("missing")};
        const std::optional<QString> workers[] = {std::nullopt, QStringLiteral("w2"), QStringLiteral("nobody")};
        const std::optional<qint64> datasets[] = {std::nullopt, m_study.datasetB};
        const std::pair<std::optional<qint64>, std::optional<qint64>> times[] = {
            {std::nullopt, std::nullopt}, {t0 + h, std::nullopt}, {std::nullopt, t0 + h}, {t0 + h, t0 + 2 * h}, {t0 + 1, t0 + h + 1}};
        int combos = 0, nonEmpty = 0;
        for (const auto &c : categories)
            for (const auto &w : workers)
                for (const auto &d : datasets)
                    for (const auto &[since, until] : times) {
                        ErrorLog::Filter f;
                        if (c)
                            f.category = categoryFromName(*c);
                        f.worker = w.value_or(QString());
                        f.datasetId = d;
                        f.sinceMs = since;
                        f.untilMs = until;
                        const std::vector<qint64> expected = m_study.matching(c, w, d, since, until);
                        // Read in pages of 3 to cover the keyset too.
                        QList<qint64> got;
                        qint64 after = 0;
                        for (;;) {
                            auto page = log.page(f, after, 3);
                            QVERIFY(page.ok());
                            for (const auto &r : *page)
                                got << r.imageId;
                            if (page->size() < 3)
                                break;
                            after = page->last().imageId;
                        }
                        QCOMPARE(got, QList<qint64>(expected.begin(), expected.end()));
                        ++combos;
                        nonEmpty += expected.empty() ? 0 : 1;
                    }
        QCOMPARE(combos, 90);
        QVERIFY(nonEmpty > 30);  // the filters select, they do not just come back empty

        auto all = log.page({});
        QCOMPARE(all->size(), 40);
        const ErrorRecord &r = all->at(5);
        const AuditStudy::Failed &f = m_study.failed[5];
        QCOMPARE(r.imageId, f.id);
        QCOMPARE(r.location, f.location);
        QCOMPARE(r.category, f.category);
        QCOMPARE(r.message, f.message);
        QCOMPARE(r.worker, f.worker);
        QCOMPARE(r.atMs, f.at);
        QCOMPARE(r.datasetId, f.dataset);
        QCOMPARE(r.attempts, 1);
        QCOMPARE(*log.workers(), (QStringList{QStringLiteral("w1"), QStringLiteral("w2"), QStringLiteral("w3")}));
        auto ds = log.datasets();
        QCOMPARE(ds->size(), 2);
        QCOMPARE(ds->at(1).root, QStringLiteral("/data/b"));
        QCOMPARE(ds->at(1).storage, QStringLiteral("local"));
    }

    void errorsCsvIsTheExportersBytes()
    {
        QBuffer exported, paged;
        exported.open(QIODevice::WriteOnly);
        paged.open(QIODevice::WriteOnly);
        QCOMPARE(*StudyExporter(*m_store).exportErrors(exported), 40);
        {
            ErrorsCsv csv(&paged);
            auto rows = ErrorLog(*m_store).page({});
            QVERIFY(rows.ok());
            for (const auto &r : *rows)
                csv.add(r.location, r.category, r.message);
            QVERIFY(csv.flush());
        }
        QCOMPARE(paged.data(), exported.data());
        QVERIFY(exported.data().startsWith("image,category,message\r\n/data/a/img0005.jpg,unsupported,"));
    }

    void retryByIdMovesOnlyFailedOnes()
    {
        // A copy of the study: the others keep theirs.
        const QString copy = m_dir.filePath(QStringLiteral("retry.db"));
        AuditStudy study;
        QVERIFY(study.write(copy).isEmpty());
        auto store = JobStore::open(copy);
        QVERIFY(store.ok());
        ErrorLog log(**store);
        // 5 and 10 failed; 1 is done; 9999 does not exist: two move.
        QCOMPARE(*log.retry({5, 10, 1, 9999}), 2);
        QCOMPARE(*(*store)->imageCount(ImageState::Pending), 2);
        QCOMPARE(*(*store)->imageCount(ImageState::Failed), 38);
        QCOMPARE(*(*store)->imageCount(ImageState::Done), 160);
        auto leased = (*store)->lease(QStringLiteral("again"), 10, 60);
        QCOMPARE(leased->size(), 2);
        QCOMPARE(leased->at(0).imageId, 5);
        QCOMPARE(leased->at(0).attempts, 0);
        QCOMPARE(leased->at(1).imageId, 10);
        QCOMPARE(*log.retry({}), 0);
        // More ids than one statement binds.
        QList<qint64> many;
        for (qint64 id = 1; id <= 2000; ++id)
            many << id;
        QCOMPARE(*log.retry(many), 38);
        QCOMPARE(*(*store)->imageCount(ImageState::Failed), 0);
    }

    void version4StudyMigrates()
    {
        const QString path = m_dir.filePath(QStringLiteral("v4.db"));
        {
            // v4 as v1..v4 wrote it (schema.cpp's steps, never edited), with a finished image.
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("v4"));
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            const QStringList v4{
                QStringLiteral("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
                QStringLiteral("CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), model_card TEXT NOT NULL, "
                               "model_fingerprint TEXT NOT NULL, settings_fingerprint TEXT NOT NULL, scales TEXT NOT NULL, "
                               "base_size INTEGER NOT NULL, crop INTEGER NOT NULL, flip INTEGER NOT NULL, stride_rate REAL NOT NULL, "
                               "batch INTEGER NOT NULL, run INTEGER NOT NULL, precision TEXT NOT NULL DEFAULT 'fp32')"),
                QStringLiteral("CREATE TABLE storages (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL)"),
                QStringLiteral("CREATE TABLE datasets (id INTEGER PRIMARY KEY, storage_id INTEGER NOT NULL REFERENCES storages(id), "
                               "root TEXT NOT NULL, include_patterns TEXT NOT NULL, exclude_patterns TEXT NOT NULL, "
                               "created_at INTEGER NOT NULL, UNIQUE (storage_id, root))"),
                QStringLiteral("CREATE TABLE images (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES datasets(id), "
                               "path TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0, "
                               "attempts INTEGER NOT NULL DEFAULT 0, lease_holder TEXT, lease_id INTEGER, lease_expiry INTEGER, "
                               "next_attempt INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, "
                               "finished_at INTEGER, error_category TEXT, UNIQUE (dataset_id, path))"),
                QStringLiteral("CREATE TABLE results (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id), "
                               "run INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, composition BLOB NOT NULL, "
                               "label_path TEXT, overlay_path TEXT, timings TEXT, model_fingerprint TEXT, created_at INTEGER NOT NULL)"),
                QStringLiteral("CREATE UNIQUE INDEX results_run_image ON results (run, image_id)"),
                QStringLiteral("CREATE TABLE errors (id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(id), "
                               "run INTEGER NOT NULL, category TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL, worker TEXT)"),
                QStringLiteral("CREATE TABLE workers (name TEXT PRIMARY KEY, host TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '', "
                               "first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, done_count INTEGER NOT NULL DEFAULT 0, "
                               "failed_count INTEGER NOT NULL DEFAULT 0)"),
                QStringLiteral("CREATE TABLE check_images (id INTEGER PRIMARY KEY, location TEXT NOT NULL, image BLOB NOT NULL, "
                               "labels BLOB NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, min_agreement REAL NOT NULL, "
                               "settings_fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL)"),
                QStringLiteral("INSERT INTO meta VALUES ('schema_version', '4'), ('created_at', '2025-01-01T00:00:00Z')"),
                QStringLiteral("INSERT INTO settings VALUES (1, '{\"name\":\"old\",\"classes\":[\"road\",\"sky\"]}', 'aaaa', 'ffff', "
                               "'[1]', 512, 473, 1, 0.6666666666666666, 1, 1, 'fp32')"),
                QStringLiteral("INSERT INTO storages VALUES (1, 'local', 'file://')"),
                QStringLiteral("INSERT INTO datasets VALUES (1, 1, '/old', '*.jpg', '', 0)"),
                QStringLiteral("INSERT INTO images (id, dataset_id, path, state, created_at, updated_at, finished_at) VALUES "
                               "(1, 1, 'a.jpg', 2, 0, 100, 100), (2, 1, 'b.jpg', 2, 0, 100, 100)"),
                QStringLiteral("INSERT INTO results (image_id, run, width, height, composition, created_at) VALUES "
                               "(1, 1, 4, 3, X'0000803E0000403F', 150), (2, 1, 4, 3, X'0000403F0000803E', 150)"),
            };
            for (const auto &s : v4)
                QVERIFY2(q.exec(s), qPrintable(s + QStringLiteral(": ") + q.lastError().text()));
            q.finish();
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("v4"));
        auto opened = JobStore::open(path);
        QVERIFY2(opened.ok(), opened.ok() ? "" : qPrintable(opened.error().toString()));
        QSqlDatabase db = (*opened)->database();
        QCOMPARE(*Schema::version(db), Schema::CurrentVersion);
        QVERIFY(db.tables().contains(QStringLiteral("audit_marks")));
        AuditStore audit(**opened);
        QVERIFY(audit.setMark(2, AuditVerdict::Flagged, QStringLiteral("old result"), {}).ok());
        auto high = audit.sample(AuditSampleParams{AuditMode::Extremes, 1, 0, 0});
        QVERIFY(high.ok());
        QCOMPARE(ids(*high), (QList<qint64>{2, 1}));  // road 0.75 highest, 0.25 lowest
        QCOMPARE(high->first().mark->note, QStringLiteral("old result"));
    }
};

QTEST_GUILESS_MAIN(TestAuditStore)
#include "tst_auditstore.moc"
