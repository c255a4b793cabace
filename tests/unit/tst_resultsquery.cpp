// ResultsQuery and result_shares on a real database, SQLite and PostgreSQL (a private
// cluster from tests/common/postgresfixture; skipped with a reason when the server is not
// installed): every sort order and filter, paged with a small limit through many ties,
// gives exactly the rows a brute-force pass over the same data gives; per-dataset means
// match a brute-force average; a v4 study is back-filled by the migration; a reset drops
// the shares with the results; bad conditions are refused with a readable message; and
// the paged CSV export concatenates to the bytes of the whole-file export.

#include "common/postgresfixture.h"
#include "jobs/jobstore.h"
#include "jobs/resultsquery.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QJsonArray>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <map>

using namespace SegScale;
using namespace SegScale::Jobs;

namespace {

const QStringList kClasses{QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree"), QStringLiteral("car")};
constexpr int kImages = 240;

// Shares in steps of 0.05 so that many images tie on a class: keyset paging must break
// ties by image id without losing or repeating a row.
std::vector<float> sharesOf(int i)
{
    const float sky = float((i * 7) % 11) * 0.05f;
    const float road = float((i * 3) % 7) * 0.05f;
    const float car = float(i % 3) * 0.05f;
    return {road, sky, 1.0f - road - sky - car, car};
}

struct Fixture {
    std::unique_ptr<JobStore> store;
    std::map<qint64, std::pair<qint64, std::vector<float>>> done;  // image -> dataset, shares
    qint64 datasets[2] = {0, 0};
};

bool fill(Fixture &f, const QString &location)
{
    auto store = JobStore::open(location, JobStore::OpenMode::CreateIfMissing);
    if (!store) {
        qWarning() << store.error().toString();
        return false;
    }
    f.store = std::move(*store);
    StudySettings s;
    s.modelCard[QStringLiteral("name")] = QStringLiteral("four");
    s.modelCard[QStringLiteral("classes")] = QJsonArray::fromStringList(kClasses);
    s.modelFingerprint = "abcd";
    if (!f.store->beginRun(s, false))
        return false;
    const qint64 storage = *f.store->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    for (int d = 0; d < 2; ++d) {
        f.datasets[d] = *f.store->addDataset(storage, QStringLiteral("/data/set%1").arg(d), {}, {});
        QList<ImageEntry> entries;
        for (int i = 0; i < kImages / 2; ++i)
            entries.append({QStringLiteral("img%1.jpg").arg(i, 4, 10, QLatin1Char('0')), 100});
        if (!f.store->addImages(f.datasets[d], entries))
            return false;
    }
    auto leased = f.store->lease(QStringLiteral("w"), kImages, 600);
    if (!leased || leased->size() != kImages)
        return false;
    QList<Completion> batch;
    int i = 0;
    for (const LeasedImage &img : *leased) {
        if (i % 10 == 9) {  // some images stay without a result
            ++i;
            continue;
        }
        Completion c{img.imageId, img.leaseId, {}};
        c.result.width = 640;
        c.result.height = 480;
        c.result.composition = sharesOf(i);
        c.result.labelPath = QStringLiteral("labels/%1.png").arg(img.imageId);
        f.done[img.imageId] = {img.datasetId, c.result.composition};
        batch.append(c);
        ++i;
    }
    auto outcomes = f.store->completeMany(batch);
    return outcomes.ok();
}

// What the query must answer, computed in memory.
QList<qint64> bruteForce(const Fixture &f, const ResultsQuery::Options &o)
{
    QList<std::pair<double, qint64>> rows;
    for (const auto &[image, entry] : f.done) {
        if (o.datasetId && entry.first != *o.datasetId)
            continue;
        bool keep = true;
        for (const auto &c : o.conditions) {
            const double v = entry.second[size_t(c.cls)];
            keep = keep && (c.greater ? v > c.fraction : v < c.fraction);
        }
        if (keep)
            rows.append({o.sortClass >= 0 ? double(entry.second[size_t(o.sortClass)]) : 0.0, image});
    }
    std::sort(rows.begin(), rows.end());
    if (o.descending)
        std::reverse(rows.begin(), rows.end());
    QList<qint64> ids;
    for (const auto &r : rows)
        ids.append(r.second);
    return ids;
}

QList<qint64> paged(JobStore &store, const ResultsQuery::Options &o, int limit)
{
    ResultsQuery query(store);
    QList<qint64> ids;
    qint64 after = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        auto page = query.page(o, after, limit);
        if (!page) {
            qWarning() << page.error().toString();
            return {-1};
        }
        for (const auto &r : *page)
            ids.append(r.record.imageId);
        if (page->size() < limit)
            break;
        after = page->last().record.imageId;
    }
    return ids;
}

void checkAll(Fixture &f)
{
    ResultsQuery query(*f.store);
    for (int sort = -1; sort < int(kClasses.size()); ++sort) {
        for (bool desc : {false, true}) {
            ResultsQuery::Options o;
            o.sortClass = sort;
            o.descending = desc;
            const auto expected = bruteForce(f, o);
            QCOMPARE(expected.size(), qsizetype(f.done.size()));
            QCOMPARE(paged(*f.store, o, 17), expected);
        }
    }
    // "sky > 30%" sorted by road, in dataset 2; and two conditions over all datasets.
    ResultsQuery::Options o;
    auto sky = ResultsQuery::parseCondition(QStringLiteral("sky > 30%"), kClasses);
    QVERIFY(sky.ok());
    QCOMPARE(sky->cls, 1);
    QVERIFY(sky->greater);
    QCOMPARE(sky->fraction, 0.3);
    o.conditions = {*sky};
    o.sortClass = 0;
    o.descending = true;
    o.datasetId = f.datasets[1];
    auto expected = bruteForce(f, o);
    QVERIFY(expected.size() > 10 && expected.size() < qsizetype(f.done.size()) / 2);
    QCOMPARE(paged(*f.store, o, 7), expected);
    o.datasetId.reset();
    o.conditions.append(*ResultsQuery::parseCondition(QStringLiteral("CAR<0.01"), kClasses));
    o.sortClass = -1;
    o.descending = false;
    expected = bruteForce(f, o);
    QVERIFY(!expected.isEmpty());
    QCOMPARE(paged(*f.store, o, 1000), expected);

    // A page carries what the table shows.
    auto first = query.page({}, 0, 1);
    QVERIFY(first.ok());
    QCOMPARE(first->size(), 1);
    const auto &row = first->first();
    QCOMPARE(row.record.width, 640);
    QCOMPARE(row.datasetRoot, QStringLiteral("/data/set0"));
    QCOMPARE(row.record.location, QStringLiteral("/data/set0/img0000.jpg"));
    QCOMPARE(row.record.composition, f.done.at(row.record.imageId).second);

    // Means per dataset against a brute-force average.
    auto means = query.datasetMeans();
    QVERIFY2(means.ok(), qPrintable(means ? QString() : means.error().toString()));
    QCOMPARE(means->size(), 2);
    for (const auto &m : *means) {
        std::vector<double> sum(kClasses.size(), 0.0);
        qint64 n = 0;
        for (const auto &[image, entry] : f.done) {
            if (entry.first != m.datasetId)
                continue;
            ++n;
            for (size_t c = 0; c < sum.size(); ++c)
                sum[c] += entry.second[c];
        }
        QCOMPARE(m.results, n);
        QCOMPARE(m.means.size(), sum.size());
        for (size_t c = 0; c < sum.size(); ++c)
            QVERIFY2(std::abs(m.means[c] - sum[c] / double(n)) < 1e-9, qPrintable(QStringLiteral("class %1").arg(c)));
    }

    // Where an image's files are.
    const qint64 someImage = f.done.begin()->first;
    auto files = query.imageFiles(someImage);
    QVERIFY(files.ok());
    QVERIFY(files->hasResult);
    QCOMPARE(files->labelPath, QStringLiteral("labels/%1.png").arg(someImage));
    QCOMPARE(files->storageUrl, QStringLiteral("file://"));
    QCOMPARE(query.imageFiles(999999).error().category, ErrorCategory::Missing);

    // The paged export is the whole-file export, byte for byte.
    for (auto format : {StudyExporter::Format::Wide, StudyExporter::Format::Long}) {
        QBuffer whole;
        whole.open(QIODevice::WriteOnly);
        StudyExporter exporter(*f.store);
        QVERIFY(exporter.exportComposition(whole, format).ok());
        QByteArray pages;
        qint64 after = 0, rows = 0;
        for (int guard = 0; guard < 1000; ++guard) {
            QBuffer page;
            page.open(QIODevice::WriteOnly);
            auto p = exporter.exportCompositionPage(page, format, after, 13, 1 << 20);
            QVERIFY(p.ok());
            if (after == 0)
                QCOMPARE(p->total, qint64(f.done.size()));
            pages += page.data();
            rows += p->rows;
            after = p->lastImageId;
            if (p->last)
                break;
        }
        QCOMPARE(rows, qint64(f.done.size()));
        QCOMPARE(pages, whole.data());
        // A byte budget smaller than one row still makes progress, one image a page.
        QBuffer tiny;
        tiny.open(QIODevice::WriteOnly);
        auto p = exporter.exportCompositionPage(tiny, format, 0, 100, 10);
        QVERIFY(p.ok());
        QCOMPARE(p->rows, 1);
        QVERIFY(!p->last);
    }
}

} // namespace

class TestResultsQuery : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    PostgresFixture m_pg;

private Q_SLOTS:
    void conditions()
    {
        auto bad = [](const QString &text) {
            auto c = ResultsQuery::parseCondition(text, kClasses);
            return c ? QString() : c.error().message;
        };
        QVERIFY(bad(QStringLiteral("grass > 0.3")).contains(QStringLiteral("unknown class \"grass\"")));
        QVERIFY(bad(QStringLiteral("grass > 0.3")).contains(QStringLiteral("road, sky, tree, car")));
        QVERIFY(bad(QStringLiteral("sky > 1.5")).contains(QStringLiteral("from 0 to 1")));
        QVERIFY(bad(QStringLiteral("sky > 150%")).contains(QStringLiteral("from 0 to 1")));
        QVERIFY(bad(QStringLiteral("sky > lots")).contains(QStringLiteral("threshold")));
        QVERIFY(bad(QStringLiteral("sky > -0.1")).contains(QStringLiteral("threshold")));
        QVERIFY(bad(QStringLiteral("sky")).contains(QStringLiteral("not a condition")));
        QVERIFY(bad(QStringLiteral("> 0.3")).contains(QStringLiteral("not a condition")));
        auto c = ResultsQuery::parseCondition(QStringLiteral(" road<5% "), kClasses);
        QVERIFY(c.ok());
        QCOMPARE(c->cls, 0);
        QVERIFY(!c->greater);
        QCOMPARE(c->fraction, 0.05);
    }

    void sqlite()
    {
        Fixture f;
        QVERIFY(fill(f, m_dir.filePath(QStringLiteral("q.db"))));
        checkAll(f);
    }

    // A study written before v5 (no result_shares) gets its table filled by the migration.
    void migrationBackfills()
    {
        const QString path = m_dir.filePath(QStringLiteral("old.db"));
        Fixture f;
        QVERIFY(fill(f, path));
        f.store.reset();
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("downgrade"));
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("DROP TABLE result_shares")));
            QVERIFY(q.exec(QStringLiteral("DROP TABLE result_share_sums")));
            QVERIFY(q.exec(QStringLiteral("DROP TABLE audit_marks")));  // v6 comes back with the migration
            QVERIFY(q.exec(QStringLiteral("UPDATE meta SET value = '4' WHERE key = 'schema_version'")));
            q.finish();
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("downgrade"));
        auto reopened = JobStore::open(path);
        QVERIFY2(reopened.ok(), qPrintable(reopened ? QString() : reopened.error().toString()));
        f.store = std::move(*reopened);
        QSqlDatabase db = f.store->database();
        QCOMPARE(*Schema::version(db), Schema::CurrentVersion);
        checkAll(f);
    }

    // Done images back to pending: their shares go with their results.
    void resetDropsShares()
    {
        Fixture f;
        QVERIFY(fill(f, m_dir.filePath(QStringLiteral("reset.db"))));
        QVERIFY(f.store->resetToPending(ImageState::Done).ok());
        ResultsQuery query(*f.store);
        auto page = query.page({}, 0, 10);
        QVERIFY(page.ok());
        QCOMPARE(page->size(), 0);
        QSqlQuery q(f.store->database());
        QVERIFY(q.exec(QStringLiteral("SELECT COUNT(*) FROM result_shares")) && q.next());
        QCOMPARE(q.value(0).toInt(), 0);
        q.finish();
        // New results after the reset are recorded (no clash on reused result ids).
        auto leased = f.store->lease(QStringLiteral("w2"), 5, 60);
        QVERIFY(leased.ok() && leased->size() == 5);
        QList<Completion> batch;
        for (const auto &img : *leased)
            batch.append({img.imageId, img.leaseId, ImageResult{10, 10, sharesOf(1), {}, {}, {}, {}}});
        QVERIFY(f.store->completeMany(batch).ok());
        QCOMPARE(query.page({}, 0, 10)->size(), 5);
        // The running sums forgot the reset results and count the new ones.
        auto means = query.datasetMeans();
        QVERIFY(means.ok());
        qint64 counted = 0;
        for (const auto &m : *means) {
            counted += m.results;
            QVERIFY(std::abs(m.means[1] - double(sharesOf(1)[1])) < 1e-9);
        }
        QCOMPARE(counted, 5);
    }

    void postgres()
    {
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
            QSKIP("the Qt PostgreSQL driver (libqt6sql6-psql) is not installed");
        if (const QString why = PostgresFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(why));
        QVERIFY2(m_pg.start(), qPrintable(m_pg.errorString()));
        const QString url = m_pg.createDatabase();
        QVERIFY2(!url.isEmpty(), qPrintable(m_pg.errorString()));
        Fixture f;
        QVERIFY(fill(f, url));
        checkAll(f);
        f.store.reset();
        m_pg.stop();
    }
};

QTEST_GUILESS_MAIN(TestResultsQuery)
#include "tst_resultsquery.moc"
