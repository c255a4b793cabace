// bench_jobstore: the study database at scale. Adds N synthetic images, leases and
// completes all of them (batch 1 for the first part, then batch 32), exports the wide
// CSV (20 classes) and reports times, lease latency percentiles and the file size.
//
//   bench_jobstore [--rows N] [--dir DIR] [--strict]
//
// Without --rows it runs 20,000 rows (the CTest entry). --strict turns a missed target
// (add < 30 s, p99 lease < 5 ms, export < 30 s for a million rows, scaled by N) into a
// failing exit code; a wrong count (an image leased twice or lost) always fails.

#include "jobs/jobstore.h"
#include "jobs/studyexporter.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QSet>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTextStream>

#include <algorithm>

using namespace SegScale;
using namespace SegScale::Jobs;

namespace {

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * double(v.size() - 1) + 0.5));
    return v[i];
}

int fail(const QString &what)
{
    QTextStream(stderr) << "bench_jobstore: FAILED: " << what << '\n';
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    const QCommandLineOption rowsOpt(QStringLiteral("rows"), QStringLiteral("Images to add."), QStringLiteral("N"), QStringLiteral("20000"));
    const QCommandLineOption dirOpt(QStringLiteral("dir"), QStringLiteral("Folder for the database (default: a temp dir)."), QStringLiteral("DIR"));
    const QCommandLineOption strictOpt(QStringLiteral("strict"), QStringLiteral("Fail when a target is missed."));
    p.addOptions({rowsOpt, dirOpt, strictOpt});
    p.addHelpOption();
    p.process(app);
    const qint64 rows = p.value(rowsOpt).toLongLong();
    if (rows <= 0)
        return fail(QStringLiteral("--rows wants a positive number"));
    QTemporaryDir tmp(p.isSet(dirOpt) ? p.value(dirOpt) + QStringLiteral("/bench-XXXXXX") : QString());
    if (!tmp.isValid())
        return fail(QStringLiteral("no temp dir"));
    const QString path = tmp.filePath(QStringLiteral("bench.db"));
    const double scale = double(rows) / 1e6;  // targets are for a million rows

    auto opened = JobStore::open(path, JobStore::OpenMode::CreateIfMissing);
    if (!opened)
        return fail(opened.error().toString());
    JobStore &store = **opened;
    StudySettings settings;
    QStringList classes;
    for (int c = 0; c < 20; ++c)
        classes.append(QStringLiteral("class %1").arg(c));
    settings.modelCard[QStringLiteral("name")] = QStringLiteral("bench");
    settings.modelCard[QStringLiteral("classes")] = QJsonArray::fromStringList(classes);
    settings.modelFingerprint = "bench";
    if (auto r = store.beginRun(settings, false); !r)
        return fail(r.error().toString());
    const qint64 storage = *store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    const qint64 dataset = *store.addDataset(storage, QStringLiteral("/data/streetview"), {QStringLiteral("*.jpg")}, {});

    out() << "bench_jobstore: " << rows << " rows in " << path << '\n';
    out().flush();

    // --- add ---
    QElapsedTimer t;
    t.start();
    constexpr qint64 kChunk = 100'000;
    qint64 added = 0;
    for (qint64 start = 0; start < rows; start += kChunk) {
        QList<ImageEntry> entries;
        const qint64 end = std::min(rows, start + kChunk);
        entries.reserve(end - start);
        for (qint64 i = start; i < end; ++i)
            entries.append({QStringLiteral("city%1/pano_%2.jpg").arg(i % 97, 2, 10, QLatin1Char('0')).arg(i, 8, 10, QLatin1Char('0')),
                            100'000 + i % 50'000});
        auto r = store.addImages(dataset, entries);
        if (!r)
            return fail(r.error().toString());
        added += r->added;
    }
    const double addS = double(t.nsecsElapsed()) / 1e9;
    if (added != rows)
        return fail(QStringLiteral("added %1 of %2").arg(added).arg(rows));
    // Adding them again skips every one.
    t.restart();
    {
        QList<ImageEntry> again;
        for (qint64 i = 0; i < std::min<qint64>(rows, 10'000); ++i)
            again.append({QStringLiteral("city%1/pano_%2.jpg").arg(i % 97, 2, 10, QLatin1Char('0')).arg(i, 8, 10, QLatin1Char('0')), 1});
        auto r = store.addImages(dataset, again);
        if (!r || r->added != 0)
            return fail(QStringLiteral("re-adding known images added some"));
    }
    const double readdS = double(t.nsecsElapsed()) / 1e9;

    // --- lease + complete ---
    std::vector<float> composition(20);
    for (int c = 0; c < 20; ++c)
        composition[size_t(c)] = float(c + 1) / 210.0f;
    QSet<qint64> seen;
    seen.reserve(rows);
    struct Phase {
        int batch = 1;
        qint64 leases = 0;
        qint64 images = 0;
        double seconds = 0;
        std::vector<double> latencyMs;
        std::vector<double> completeMs;
    };
    Phase phases[2];
    phases[0].batch = 1;
    phases[1].batch = 32;
    const qint64 batch1Images = std::min<qint64>(20'000, rows / 4);
    for (Phase &ph : phases) {
        QElapsedTimer phaseTimer;
        phaseTimer.start();
        const qint64 limit = ph.batch == 1 ? batch1Images : rows;
        while (ph.images < limit) {
            QElapsedTimer lt;
            lt.start();
            auto l = store.lease(QStringLiteral("bench"), ph.batch, 600);
            ph.latencyMs.push_back(double(lt.nsecsElapsed()) / 1e6);
            if (!l)
                return fail(l.error().toString());
            if (l->isEmpty())
                break;
            ++ph.leases;
            QList<Completion> done;
            done.reserve(l->size());
            for (const auto &img : *l) {
                if (seen.contains(img.imageId))
                    return fail(QStringLiteral("image %1 leased twice").arg(img.imageId));
                seen.insert(img.imageId);
                ImageResult r;
                r.width = 640;
                r.height = 640;
                r.composition = composition;
                done.append({img.imageId, img.leaseId, r});
            }
            lt.restart();
            auto o = store.completeMany(done);
            ph.completeMs.push_back(double(lt.nsecsElapsed()) / 1e6);
            if (!o || o->count(WriteOutcome::Done) != done.size())
                return fail(QStringLiteral("completion refused"));
            ph.images += l->size();
        }
        ph.seconds = double(phaseTimer.nsecsElapsed()) / 1e9;
    }
    if (seen.size() != rows)
        return fail(QStringLiteral("leased %1 distinct images of %2").arg(seen.size()).arg(rows));

    // --- export ---
    const QString csvPath = tmp.filePath(QStringLiteral("composition.csv"));
    QFile csv(csvPath);
    if (!csv.open(QIODevice::WriteOnly))
        return fail(csv.errorString());
    t.restart();
    auto exported = StudyExporter(store).exportComposition(csv, StudyExporter::Format::Wide);
    csv.close();
    const double exportS = double(t.nsecsElapsed()) / 1e9;
    if (!exported || *exported != rows)
        return fail(exported ? QStringLiteral("exported %1 rows").arg(*exported) : exported.error().toString());

    t.restart();
    auto progress = store.progress();
    const double statusMs = double(t.nsecsElapsed()) / 1e6;
    if (!progress || progress->done != rows)
        return fail(QStringLiteral("status disagrees"));

    {
        QSqlQuery q(store.database());
        q.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)"));
    }
    const qint64 dbBytes = QFileInfo(path).size() + QFileInfo(path + QStringLiteral("-wal")).size();

    auto &o = out();
    auto ms = [](double v) { return QString::number(v, 'f', 3); };
    o << "add:        " << QString::number(addS, 'f', 2) << " s  (" << qint64(double(rows) / addS) << " rows/s); re-adding 10k known: "
      << QString::number(readdS * 1000, 'f', 0) << " ms\n";
    for (const Phase &ph : phases) {
        o << "batch " << QString::number(ph.batch).rightJustified(2) << ":   " << ph.leases << " leases, " << ph.images
          << " images in " << QString::number(ph.seconds, 'f', 2) << " s: " << qint64(double(ph.leases) / ph.seconds)
          << " leases/s, " << qint64(double(ph.images) / ph.seconds) << " images/s (lease + complete)\n"
          << "            lease p50 " << ms(percentile(ph.latencyMs, 0.5)) << " ms, p99 " << ms(percentile(ph.latencyMs, 0.99))
          << " ms, max " << ms(percentile(ph.latencyMs, 1.0)) << " ms; completeMany p50 " << ms(percentile(ph.completeMs, 0.5))
          << " ms, p99 " << ms(percentile(ph.completeMs, 0.99)) << " ms\n";
    }
    o << "export:     " << QString::number(exportS, 'f', 2) << " s wide, 20 classes (" << QFileInfo(csvPath).size() / 1024 / 1024
      << " MiB)\n"
      << "status:     " << ms(statusMs) << " ms\n"
      << "db size:    " << QString::number(double(dbBytes) / 1024 / 1024, 'f', 1) << " MiB\n";

    const double p99 = std::max(percentile(phases[0].latencyMs, 0.99), percentile(phases[1].latencyMs, 0.99));
    bool missed = false;
    auto target = [&](const char *name, bool ok, const QString &detail) {
        o << "target " << name << ": " << (ok ? "PASS" : "MISS") << "  " << detail << '\n';
        missed |= !ok;
    };
    target("add", addS < 30.0 * scale + 0.5, QStringLiteral("%1 s < %2 s").arg(addS, 0, 'f', 2).arg(30.0 * scale + 0.5, 0, 'f', 2));
    target("lease p99", p99 < 5.0, QStringLiteral("%1 ms < 5 ms").arg(p99, 0, 'f', 3));
    target("export", exportS < 30.0 * scale + 0.5,
           QStringLiteral("%1 s < %2 s").arg(exportS, 0, 'f', 2).arg(30.0 * scale + 0.5, 0, 'f', 2));
    o.flush();
    return missed && p.isSet(strictOpt) ? 1 : 0;
}
