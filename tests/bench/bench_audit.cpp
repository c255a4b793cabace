// bench_audit: the audit and the error log at study scale. Writes N synthetic images in
// four datasets (2% failed, with errors from eight workers over a day; the rest with a
// 19-class composition), then times what the Audit and Errors tabs ask the coordinator:
// the three sample modes (whole draw, and the longest single feed() page, which is how
// long one draw holds the coordinator's thread at a time), the first page of the errors
// listing under each filter, the quality summary, and 100 marks.
//
//   bench_audit [--rows N] [--dir DIR]
//
// Without --rows it runs 100,000 rows (the CTest entry). It fails only on a wrong answer
// (a sample of the wrong size, an errors page that does not match its filter).

#include "jobs/auditstore.h"
#include "jobs/errorlog.h"
#include "jobs/jobstore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTextStream>
#include <QtEndian>

#include <random>

using namespace SegScale;
using namespace SegScale::Jobs;

namespace {

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

int fail(const QString &what)
{
    QTextStream(stderr) << "bench_audit: FAILED: " << what << '\n';
    return 1;
}

constexpr qint64 kT0 = 1'700'000'000'000;
constexpr int kClasses = 19;

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    const QCommandLineOption rowsOpt(QStringLiteral("rows"), QStringLiteral("Images to write."), QStringLiteral("N"), QStringLiteral("100000"));
    const QCommandLineOption dirOpt(QStringLiteral("dir"), QStringLiteral("Folder for the database (default: a temp dir)."), QStringLiteral("DIR"));
    p.addOptions({rowsOpt, dirOpt});
    p.addHelpOption();
    p.process(app);
    const qint64 rows = p.value(rowsOpt).toLongLong();
    if (rows < 1000)
        return fail(QStringLiteral("--rows must be at least 1000"));
    QTemporaryDir tmp(p.isSet(dirOpt) ? p.value(dirOpt) + QStringLiteral("/bench-XXXXXX") : QString());
    if (!tmp.isValid())
        return fail(QStringLiteral("no temp dir"));
    auto opened = JobStore::open(tmp.filePath(QStringLiteral("study.db")), JobStore::OpenMode::CreateIfMissing);
    if (!opened)
        return fail(opened.error().toString());
    JobStore &store = **opened;
    StudySettings settings;
    QJsonArray classes;
    for (int c = 0; c < kClasses; ++c)
        classes.append(QStringLiteral("class%1").arg(c));
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("bench")}, {QStringLiteral("classes"), classes}};
    settings.modelFingerprint = QByteArray(64, 'b');
    if (auto r = store.beginRun(settings, false); !r)
        return fail(r.error().toString());
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    QList<qint64> datasets;
    for (int d = 0; d < 4; ++d)
        datasets << *store.addDataset(*storage, QStringLiteral("/data/city%1").arg(d), {}, {});

    // Written with raw SQL in one transaction: the point is reading, not the state machine.
    QElapsedTimer t;
    t.start();
    QSqlDatabase db = store.database();
    QSqlQuery q(db);
    q.exec(QStringLiteral("BEGIN"));
    QSqlQuery image(db), result(db), error(db);
    image.prepare(QStringLiteral("INSERT INTO images (id, dataset_id, path, state, attempts, created_at, updated_at, finished_at, error_category) "
                                 "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)"));
    result.prepare(QStringLiteral("INSERT INTO results (image_id, run, width, height, composition, created_at) VALUES (?, 1, 640, 480, ?, ?)"));
    error.prepare(QStringLiteral("INSERT INTO errors (image_id, run, category, message, at, worker) VALUES (?, 1, ?, ?, ?, ?)"));
    std::mt19937_64 rng(1);
    std::vector<float> comp(kClasses);
    QByteArray blob(kClasses * 4, Qt::Uninitialized);
    const QString categories[] = {QStringLiteral("corrupt"), QStringLiteral("unsupported"), QStringLiteral("storage"), QStringLiteral("missing")};
    qint64 failed = 0;
    for (qint64 id = 1; id <= rows; ++id) {
        const qint64 at = kT0 + (id * 86'400'000) / rows;  // a day of work
        const bool bad = id % 50 == 0;
        image.addBindValue(id);
        image.addBindValue(datasets[static_cast<int>((id * 4) / (rows + 1))]);
        image.addBindValue(QStringLiteral("street/%1.jpg").arg(id));
        image.addBindValue(bad ? 3 : 2);
        image.addBindValue(bad ? 1 : 0);
        image.addBindValue(at);
        image.addBindValue(at);
        image.addBindValue(bad ? QVariant(categories[(id / 50) % 4]) : QVariant(QMetaType(QMetaType::QString)));
        if (!image.exec())
            return fail(image.lastError().text());
        if (bad) {
            ++failed;
            error.addBindValue(id);
            error.addBindValue(categories[(id / 50) % 4]);
            error.addBindValue(QStringLiteral("/data/street/%1.jpg: damaged").arg(id));
            error.addBindValue(at);
            error.addBindValue(QStringLiteral("node%1-gpu").arg((id / 50) % 8));
            if (!error.exec())
                return fail(error.lastError().text());
            continue;
        }
        float sum = 0;
        for (auto &v : comp)
            sum += (v = static_cast<float>(rng() % 1000) + 1.0f);
        for (auto &v : comp)
            v /= sum;
        qToLittleEndian<float>(comp.data(), kClasses, blob.data());
        result.addBindValue(id);
        result.addBindValue(blob);
        result.addBindValue(at);
        if (!result.exec())
            return fail(result.lastError().text());
    }
    if (!q.exec(QStringLiteral("COMMIT")))
        return fail(q.lastError().text());
    out() << "study: " << rows << " images (" << failed << " failed) written in " << t.elapsed() << " ms\n";

    AuditStore audit(store);
    const struct {
        const char *name;
        AuditSampleParams params;
        qint64 expected;
    } draws[] = {
        {"random k=50", {AuditMode::Random, 50, 7, 0}, 50},
        {"per-dataset k=25", {AuditMode::PerDataset, 25, 7, 0}, 100},
        {"extremes class 10 k=25", {AuditMode::Extremes, 25, 0, 10}, 50},
    };
    for (const auto &d : draws) {
        t.restart();
        AuditSampler sampler(d.params);
        qint64 next = 0, longest = 0, pages = 0;
        QElapsedTimer page;
        while (next >= 0) {
            page.start();
            auto fed = audit.feed(sampler, next);
            if (!fed)
                return fail(fed.error().toString());
            longest = std::max(longest, page.elapsed());
            next = *fed;
            ++pages;
        }
        auto items = audit.items(sampler.picks());
        if (!items)
            return fail(items.error().toString());
        if (items->size() != d.expected)
            return fail(QStringLiteral("%1 drew %2 images, not %3").arg(QLatin1StringView(d.name)).arg(items->size()).arg(d.expected));
        out() << "audit-sample " << d.name << ": " << t.elapsed() << " ms over " << pages << " pages of " << AuditStore::kFeedRows
              << " (longest page " << longest << " ms)\n";
    }

    ErrorLog log(store);
    const struct {
        const char *name;
        ErrorLog::Filter filter;
    } filters[] = {
        {"none", {}},
        {"category", {ErrorCategory::Storage, {}, {}, {}, {}}},
        {"worker", {{}, QStringLiteral("node3-gpu"), {}, {}, {}}},
        {"dataset", {{}, {}, datasets[3], {}, {}}},
        {"last hour", {{}, {}, {}, kT0 + 23 * 3'600'000, {}}},
        {"category+worker+dataset", {ErrorCategory::Corrupt, QStringLiteral("node0-gpu"), datasets[2], {}, {}}},
    };
    for (const auto &f : filters) {
        t.restart();
        auto page = log.page(f.filter, 0, 200);
        if (!page)
            return fail(page.error().toString());
        for (const auto &r : *page)
            if ((f.filter.category && r.category != categoryName(*f.filter.category)) ||
                (!f.filter.worker.isEmpty() && r.worker != f.filter.worker) || (f.filter.datasetId && r.datasetId != *f.filter.datasetId))
                return fail(QStringLiteral("errors filtered by %1 returned image %2").arg(QLatin1StringView(f.name)).arg(r.imageId));
        out() << "errors first page, filter " << f.name << ": " << page->size() << " rows in " << t.elapsed() << " ms\n";
    }

    t.restart();
    for (qint64 id = 1; id <= 100; ++id)
        if (auto r = audit.setMark(id, id % 3 ? AuditVerdict::Accepted : AuditVerdict::Flagged, QStringLiteral("note"), {}); !r)
            return fail(r.error().toString());
    out() << "100 marks: " << t.elapsed() << " ms\n";
    t.restart();
    auto quality = audit.quality();
    if (!quality)
        return fail(quality.error().toString());
    out() << "audit-summary (quality per dataset): " << t.elapsed() << " ms\n";
    t.restart();
    auto marksOnly = audit.quality(false);
    if (!marksOnly || marksOnly->first().marked() != 100)
        return fail(QStringLiteral("the marks-only summary does not count the 100 marks"));
    out() << "audit-summary, marks only (after a mark): " << t.elapsed() << " ms\n";
    out().flush();
    return 0;
}
