// bench_resultsquery: the Results view's queries on a large study. Writes N synthetic
// results of 19 classes (Cityscapes-sized) through JobStore::completeMany — so the
// class-share copy is paid for as in a real run — then times what opening and using the
// view costs: the first page by image, the first page sorted by a class (once with the
// index made on demand, once with it there), a deeper keyset page, a "sky > 30%" filter
// sorted by another class, a dataset filter, the per-dataset means and a page of the
// CSV export.
//
//   bench_resultsquery [--rows N] [--dir DIR] [--strict]
//
// Without --rows it runs 20,000 (the CTest entry); run the million by hand. --strict
// fails when an indexed page takes 2 s or more (the view's target for a million results).

#include "jobs/jobstore.h"
#include "jobs/resultsquery.h"
#include "jobs/studyexporter.h"

#include <QBuffer>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QTextStream>

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
    QTextStream(stderr) << "bench_resultsquery: FAILED: " << what << '\n';
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    const QCommandLineOption rowsOpt(QStringLiteral("rows"), QStringLiteral("Results to write."), QStringLiteral("N"), QStringLiteral("20000"));
    const QCommandLineOption dirOpt(QStringLiteral("dir"), QStringLiteral("Folder for the database (default: a temp dir)."), QStringLiteral("DIR"));
    const QCommandLineOption strictOpt(QStringLiteral("strict"), QStringLiteral("Fail when an indexed page takes 2 s or more."));
    p.addOptions({rowsOpt, dirOpt, strictOpt});
    p.addHelpOption();
    p.process(app);
    const qint64 rows = p.value(rowsOpt).toLongLong();
    QTemporaryDir temp;
    const QString dir = p.isSet(dirOpt) ? p.value(dirOpt) : temp.path();
    const QString db = dir + QStringLiteral("/bench-results.db");
    QFile::remove(db);

    auto opened = JobStore::open(db, JobStore::OpenMode::CreateIfMissing);
    if (!opened)
        return fail(opened.error().toString());
    JobStore &store = **opened;
    QStringList classes;
    for (int c = 0; c < 19; ++c)
        classes << (c == 10 ? QStringLiteral("sky") : c == 0 ? QStringLiteral("road") : QStringLiteral("class%1").arg(c));
    StudySettings settings;
    settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("bench-19")}, {QStringLiteral("classes"), QJsonArray::fromStringList(classes)}};
    settings.modelFingerprint = "bench";
    if (!store.beginRun(settings, false))
        return fail(QStringLiteral("beginRun"));
    const qint64 storage = *store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    qint64 datasets[2] = {*store.addDataset(storage, QStringLiteral("/data/city-a"), {}, {}),
                          *store.addDataset(storage, QStringLiteral("/data/city-b"), {}, {})};

    QElapsedTimer t;
    t.start();
    constexpr qint64 kChunk = 10000;  // datasets alternate by chunk
    quint32 seed = 12345;
    auto rnd = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return float(seed >> 8) / float(1 << 24);
    };
    for (qint64 done = 0; done < rows; done += kChunk) {
        const qint64 n = std::min(kChunk, rows - done);
        QList<ImageEntry> entries;
        entries.reserve(n);
        for (qint64 i = 0; i < n; ++i)
            entries.append({QStringLiteral("seq-%1/frame-%2.jpg").arg((done + i) / 1000).arg(done + i, 8, 10, QLatin1Char('0')), 250000});
        if (!store.addImages(datasets[(done / kChunk) % 2], entries))
            return fail(QStringLiteral("addImages"));
        auto leased = store.lease(QStringLiteral("bench"), int(n), 3600);
        if (!leased || leased->size() != n)
            return fail(QStringLiteral("lease"));
        for (qsizetype from = 0; from < leased->size(); from += 512) {
            QList<Completion> batch;
            for (qsizetype i = from; i < std::min<qsizetype>(from + 512, leased->size()); ++i) {
                std::vector<float> shares(19);
                float sum = 0;
                for (float &v : shares)
                    sum += (v = rnd() * rnd());
                sum += 3.0f * shares[10];  // sky: a few large shares, so "sky > 30%" finds some
                shares[10] *= 4.0f;
                for (float &v : shares)
                    v /= sum;
                batch.append({leased->at(i).imageId, leased->at(i).leaseId, ImageResult{1024, 512, shares, QStringLiteral("labels/x.png"), {}, {}, {}}});
            }
            if (!store.completeMany(batch))
                return fail(QStringLiteral("completeMany"));
        }
    }
    const double writeS = t.elapsed() / 1000.0;
    out() << "wrote " << rows << " results (19 classes, with the class-share copy) in " << writeS << " s ("
          << qint64(rows / std::max(writeS, 1e-3)) << " results/s); database + WAL "
          << (QFileInfo(db).size() + QFileInfo(db + QStringLiteral("-wal")).size()) / (1024 * 1024) << " MiB\n";
    out().flush();

    ResultsQuery query(store);
    double worstIndexed = 0;
    auto time = [&](const QString &what, auto &&f, bool indexed = true) {
        QElapsedTimer e;
        e.start();
        const qint64 n = f();
        const double ms = e.nsecsElapsed() / 1e6;
        if (indexed)
            worstIndexed = std::max(worstIndexed, ms);
        out() << QStringLiteral("  %1: %2 ms (%3 rows)\n").arg(what, -52).arg(ms, 9, 'f', 1).arg(n);
        out().flush();
        return n;
    };
    auto page = [&](const ResultsQuery::Options &o, qint64 after) -> qint64 {
        auto r = query.page(o, after, 200);
        return r ? r->size() : -1;
    };
    ResultsQuery::Options byImage;
    time(QStringLiteral("first page by image"), [&] { return page(byImage, 0); });
    ResultsQuery::Options bySky;
    bySky.sortClass = 10;
    bySky.descending = true;
    time(QStringLiteral("first page by sky desc (index made now)"), [&] { return page(bySky, 0); }, false);
    time(QStringLiteral("first page by sky desc (index there)"), [&] { return page(bySky, 0); });
    qint64 after = 0;
    time(QStringLiteral("50 pages by sky desc, keyset (all of them)"), [&] {
        qint64 n = 0;
        for (int i = 0; i < 50; ++i) {
            auto r = query.page(bySky, after, 200);
            if (!r || r->isEmpty())
                break;
            n += r->size();
            after = r->last().record.imageId;
        }
        return n;
    }, false);
    ResultsQuery::Options filtered;
    filtered.sortClass = 0;
    filtered.descending = true;
    filtered.conditions = {*ResultsQuery::parseCondition(QStringLiteral("sky > 30%"), classes)};
    time(QStringLiteral("road desc where sky > 30% (road index made now)"), [&] { return page(filtered, 0); }, false);
    time(QStringLiteral("road desc where sky > 30%"), [&] { return page(filtered, 0); });
    ResultsQuery::Options rare;
    rare.conditions = {*ResultsQuery::parseCondition(QStringLiteral("sky > 60%"), classes)};
    time(QStringLiteral("by image where sky > 60% (rare)"), [&] { return page(rare, 0); });
    ResultsQuery::Options oneSet;
    oneSet.datasetId = datasets[1];
    oneSet.sortClass = 10;
    time(QStringLiteral("sky asc in one dataset"), [&] { return page(oneSet, 0); });
    time(QStringLiteral("mean composition per dataset"), [&] {
        auto m = query.datasetMeans();
        return m ? qint64(m->size()) : -1;
    });
    time(QStringLiteral("first export page (wide)"), [&] {
        QBuffer b;
        b.open(QIODevice::WriteOnly);
        auto r = StudyExporter(store).exportCompositionPage(b, StudyExporter::Format::Wide, 0, 5000, 1 << 20);
        return r ? r->rows : -1;
    });
    out() << "slowest page with its index in place: " << worstIndexed << " ms\n";
    out().flush();
    if (p.isSet(strictOpt) && worstIndexed >= 2000)
        return fail(QStringLiteral("a page took %1 ms (target < 2000 ms)").arg(worstIndexed));
    return 0;
}
