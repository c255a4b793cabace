// `segscale bench`: the seed paper's Tables 1-3 for this engine — per scale set, the
// network-only limit, the sequential baseline and the pipelined engine on the same
// images with the network loaded once, whether both modes label alike, and optionally
// whether memory stays flat over a long stream. Table on stdout, progress on stderr.

#include "command.h"
#include "inferenceoptions.h"

#include "model/modelregistry.h"
#include "model/network.h"
#include "pipeline/benchmark.h"
#include "pipeline/combinebenchmark.h"
#include "pipeline/engine.h"
#include "pipeline/memorybudget.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/inputcollector.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTextStream>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <optional>

namespace SegScale::Cli {
namespace {

using Pipeline::BenchImage;
using Pipeline::scalesText;

int fail(int code, const QString &message)
{
    QTextStream(stderr) << "segscale bench: " << message << '\n';
    return code;
}

// The seed paper's four settings: single scale, two, three and four scales.
const QString defaultScaleSets = QStringLiteral("1;0.5,1;0.75,1,1.25;0.5,0.75,1,1.25");

Result<QList<QList<double>>> parseScaleSets(const QString &text)
{
    QList<QList<double>> sets;
    for (const QString &part : text.split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
        auto scales = parseScales(part);
        if (!scales)
            return Error{ErrorCategory::Usage, QStringLiteral("--scale-sets: %1").arg(scales.error().message)};
        sets << *scales;
    }
    if (sets.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("--scale-sets needs at least one set, e.g. \"1;0.5,1\"")};
    return sets;
}

Result<std::vector<int>> parseCounts(const QString &text)
{
    std::vector<int> counts;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int n = part.trimmed().toInt(&ok);
        if (!ok || n < 1)
            return Error{ErrorCategory::Usage, QStringLiteral("--rss-images: \"%1\" is not a positive image count").arg(part)};
        counts.push_back(n);
    }
    if (counts.size() < 2)
        return Error{ErrorCategory::Usage, QStringLiteral("--rss-images needs two or more counts, e.g. 100,1000")};
    return counts;
}

Result<std::vector<double>> parseMegapixels(const QString &text)
{
    std::vector<double> sizes;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double mp = part.trimmed().toDouble(&ok);
        if (!ok || !(mp > 0 && mp <= 120))
            return Error{ErrorCategory::Usage, QStringLiteral("--rss-megapixels: \"%1\" is not a size in megapixels in (0, 120]").arg(part)};
        sizes.push_back(mp);
    }
    if (sizes.empty())
        return Error{ErrorCategory::Usage, QStringLiteral("--rss-megapixels needs sizes, e.g. 2,12,32")};
    return sizes;
}

// --inputs, or the shared 640x640 street crops, or synthetic pictures; cycled up to count.
Result<std::vector<BenchImage>> gatherImages(const QStringList &inputs, int count, QString &origin)
{
    std::vector<Pipeline::InputImage> found;
    if (!inputs.isEmpty()) {
        auto collected = Pipeline::InputCollector::collect(inputs);
        if (!collected)
            return collected.error();
        found = std::move(*collected);
        origin = inputs.join(QStringLiteral(", "));
    } else {
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        const QString streets = QDir(shared).filePath(QStringLiteral("samples/streets"));
        if (!shared.isEmpty() && QFileInfo(streets).isDir()) {
            auto collected = Pipeline::InputCollector::collect({streets}, {QStringLiteral("crop640_*")});
            if (collected) {
                found = std::move(*collected);
                origin = streets + QStringLiteral("/crop640_*");
            }
        }
    }
    std::vector<BenchImage> images;
    if (found.empty()) {
        if (!inputs.isEmpty())
            return Error{ErrorCategory::Usage, QStringLiteral("--inputs: no images found in %1").arg(inputs.join(QStringLiteral(", ")))};
        origin = QStringLiteral("synthetic 640x640 pictures ($SEGSCALE_SHARED_DIR/samples/streets not found)");
        return Pipeline::Benchmark::syntheticImages(count, 640, 640);
    }
    for (int i = 0; i < count; ++i) {
        const auto &in = found[static_cast<size_t>(i) % found.size()];
        auto bytes = Pipeline::ImageDecoder::readFile(in.path, Pipeline::DecodeOptions{});
        if (!bytes)
            return bytes.error();
        images.push_back(BenchImage{in.name, *bytes, 0, 0});
    }
    return images;
}

QString loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("unknown");
    return QString::fromLatin1(f.readAll().split(' ').mid(0, 3).join(' '));
}

// A plain-text table: columns right-aligned to their widest cell.
QString renderTable(const QStringList &header, const QList<QStringList> &rows)
{
    QList<int> widths;
    for (const QString &h : header)
        widths << static_cast<int>(h.size());
    for (const QStringList &row : rows)
        for (int c = 0; c < row.size() && c < widths.size(); ++c)
            widths[c] = std::max(widths[c], static_cast<int>(row[c].size()));
    auto line = [&](const QStringList &cells) -> QString {
        QStringList out;
        for (int c = 0; c < cells.size(); ++c)
            out << (c == 0 ? cells[c].leftJustified(widths[c]) : cells[c].rightJustified(widths[c]));
        return out.join(QStringLiteral(" | ")) + QLatin1Char('\n');
    };
    QString text = line(header);
    QStringList rule;
    for (int w : widths)
        rule << QString(w, QLatin1Char('-'));
    text += rule.join(QStringLiteral("-+-")) + QLatin1Char('\n');
    for (const QStringList &row : rows)
        text += line(row);
    return text;
}

// --rss-megapixels: peak RSS and the combine's cost against the picture's size, instead
// of the scale-set tables. One network, no baseline (a second model would be counted).
int runSizeSweep(const std::vector<double> &sizes, int images, const Model::ModelCard &card, const Pipeline::SegmentOptions &options,
                 const QString &jsonPath)
{
    QTextStream err(stderr);
    QTextStream out(stdout);
    auto network = loadNetwork(card, options);
    if (!network)
        return fail(ExitUsage, network.error().message);
    Pipeline::Benchmark bench(*network, options);
    bench.onProgress = [&](const QString &m) { err << "  " << m << '\n' << Qt::flush; };
    const std::size_t budget = Pipeline::Engine::memoryBudget(options);
    const int threads = options.threads > 0 ? options.threads : QThread::idealThreadCount();
    const QString loadAtStart = loadAverage();
    out << "model: " << (*network)->describe() << ((*network)->untrained() ? QStringLiteral(" (UNTRAINED: random weights)") : QString())
        << ", " << card.numClasses << " classes\n";
    out << "settings: scales " << scalesText(options.scales) << ", base size " << options.baseSize << ", crop " << options.crop
        << ", flip " << (options.flip ? "on" : "off") << ", threads " << threads << ", " << (options.tensorCombine() ? "tensor" : "host")
        << " combine, memory budget " << QString::number(static_cast<double>(budget) / (1 << 30), 'f', 1) << " GiB, " << images
        << " synthetic image(s) per size, pipelined\n";
    out << "machine: " << QThread::idealThreadCount() << " cores, load average " << loadAtStart << " at start\n" << Qt::flush;
    err << "warming up the network\n" << Qt::flush;
    bench.warmUp();

    QList<QStringList> rows;
    QJsonArray runs, combines;
    for (double mp : sizes) {
        const auto [w, h] = Pipeline::Benchmark::sizeForMegapixels(mp);
        err << "picture " << w << "x" << h << '\n' << Qt::flush;
        auto r = bench.measureRssAtSize(w, h, images);
        if (!r)
            return fail(ExitFailure, r.error().message);
        rows << QStringList{QStringLiteral("%1x%2").arg(w).arg(h), QString::number(r->megapixels(), 'f', 1),
                            QString::number(static_cast<double>(r->startRssKiB) / 1024, 'f', 0),
                            QString::number(static_cast<double>(r->peakRssKiB) / 1024, 'f', 0),
                            QString::number(static_cast<double>(r->stats.memoryReservedHighWater) / (1 << 20), 'f', 0),
                            QString::number(r->stats.wallSeconds, 'f', 1)};
        runs.append(r->toJson());
    }
    out << '\n'
        << renderTable({QStringLiteral("picture"), QStringLiteral("MP"), QStringLiteral("RSS before MiB"), QStringLiteral("peak RSS MiB"),
                        QStringLiteral("reserved MiB"), QStringLiteral("wall s")},
                       rows);
    out << "(peak RSS: the run's own high-water mark" << (runs.isEmpty() || runs.first().toObject().value(QStringLiteral("peak_rss_per_run")).toBool() ? "" : ", process-wide (no per-run reset)")
        << ";\n reserved: the most of the memory budget the images in flight held at once, Engine::bytesInFlight)\n"
        << Qt::flush;

    // The combine alone, before (whole-image maps) and after (bands), where the whole-image
    // maps fit in a quarter of what the process may use.
    const std::uint64_t limit = Pipeline::MemoryBudget::processMemoryLimit();
    const std::size_t fullMapLimit = static_cast<std::size_t>(std::min<std::uint64_t>(limit / 4, std::uint64_t{4} << 30));
    QList<QStringList> crows;
    for (double mp : sizes) {
        const auto [w, h] = Pipeline::Benchmark::sizeForMegapixels(mp);
        err << "combine alone " << w << "x" << h << '\n' << Qt::flush;
        const Pipeline::CombineTiming t = Pipeline::CombineBenchmark::measure(w, h, card.numClasses, options, fullMapLimit);
        const auto before = t.fullMapPerMegapixel();
        crows << QStringList{QStringLiteral("%1x%2").arg(w).arg(h), QString::number(t.megapixels(), 'f', 1),
                             QString::number(t.bandedPerMegapixel(), 'f', 3),
                             before ? QString::number(*before, 'f', 3)
                                    : QStringLiteral("skipped (needs %1 GiB)").arg(static_cast<double>(t.fullMapBytes) / (1 << 30), 0, 'f', 1),
                             before ? QStringLiteral("%1x").arg(*before / t.bandedPerMegapixel(), 0, 'f', 2) : QStringLiteral("-"),
                             before ? (t.identical ? QStringLiteral("identical") : QStringLiteral("DIFFER")) : QStringLiteral("-")};
        combines.append(t.toJson());
        if (before && !t.identical)
            return fail(ExitFailure, QStringLiteral("%1x%2: the banded combine labelled differently from the whole-image maps").arg(w).arg(h));
    }
    out << "\ncombine alone (division, resize, sum, argmax; one thread's CPU seconds per megapixel), " << card.numClasses
        << " classes, scales " << scalesText(options.scales) << ":\n"
        << renderTable({QStringLiteral("picture"), QStringLiteral("MP"), QStringLiteral("bands s/MP"), QStringLiteral("whole-image maps s/MP"),
                        QStringLiteral("speed-up"), QStringLiteral("labels")},
                       crows);
    const QString loadAtEnd = loadAverage();
    out << "load average at end: " << loadAtEnd << " (timings are for this machine and load; memory is not)\n" << Qt::flush;

    if (!jsonPath.isEmpty()) {
        const QJsonObject json{{QStringLiteral("model"), QJsonObject{{QStringLiteral("name"), card.name},
                                                                     {QStringLiteral("describe"), (*network)->describe()},
                                                                     {QStringLiteral("classes"), card.numClasses},
                                                                     {QStringLiteral("untrained"), (*network)->untrained()}}},
                               {QStringLiteral("scales"), scalesText(options.scales)},
                               {QStringLiteral("threads"), threads},
                               {QStringLiteral("memory_budget_bytes"), static_cast<qint64>(budget)},
                               {QStringLiteral("machine"), QJsonObject{{QStringLiteral("cores"), QThread::idealThreadCount()},
                                                                       {QStringLiteral("load_average_at_start"), loadAtStart},
                                                                       {QStringLiteral("load_average_at_end"), loadAtEnd}}},
                               {QStringLiteral("rss_by_size"), runs},
                               {QStringLiteral("combine_alone"), combines}};
        QSaveFile f(jsonPath);
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(json).toJson()) < 0 || !f.commit())
            return fail(ExitFailure, QStringLiteral("cannot write --json file %1").arg(f.fileName()));
    }
    return ExitOk;
}

int runBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Benchmark the engine as the seed paper's Tables 1-3 do: for each scale set, on the same images, time the\n"
        "network alone (the limit: the optimised graph, batched as the pipelined engine batches), the sequential\n"
        "baseline (the original one-window loop on the model as the reference code runs it: --baseline-graph\n"
        "original, fp32) and the pipelined engine (--graph optimized, --precision); report how many pixels the two\n"
        "label alike. Prints a table on stdout; --json FILE has every number.\n"
        "Exit codes: 0 done (and, in fp32, at most 0.01% of pixels differ: near ties), 1 more differ or an image\n"
        "failed, 2 bad usage or unusable model. With fp16/bf16 the agreement with the fp32 baseline is reported,\n"
        "not judged."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("model"), QStringLiteral("Model folder (with model.json). Required."), QStringLiteral("PATH")},
        {QStringLiteral("images"), QStringLiteral("Images per measurement (default 4); inputs are cycled when fewer."), QStringLiteral("N")},
        {QStringLiteral("inputs"), QStringLiteral("Image files or folders (repeatable; default: $SEGSCALE_SHARED_DIR/samples/streets/crop640_*, "
                                                  "else synthetic 640x640 pictures)."), QStringLiteral("PATH")},
        {QStringLiteral("scale-sets"), QStringLiteral("Scale sets separated by ';' (default \"%1\").").arg(defaultScaleSets), QStringLiteral("SETS")},
        {QStringLiteral("repeat"), QStringLiteral("Run every measurement N times, modes interleaved, and keep the best (default 1)."), QStringLiteral("N")},
        {QStringLiteral("json"), QStringLiteral("Write all numbers to FILE as JSON."), QStringLiteral("FILE")},
        {QStringLiteral("rss-images"), QStringLiteral("Also stream max(COUNTS) images at scale 1 (pipelined) and report the resident memory as "
                                                      "image COUNTS[i] is reported, e.g. 100,1000 (off by default: it takes a while)."), QStringLiteral("COUNTS")},
        {QStringLiteral("rss-megapixels"), QStringLiteral("Instead of the tables: segment synthetic pictures of these sizes (4:3, 2:1 from 20 MP), "
                                                          "e.g. 2,12,32, on --scales (default the card's), --images per size (default 1), "
                                                          "and report the peak RSS against the size and the combine's seconds per megapixel, "
                                                          "banded and with whole-image maps."), QStringLiteral("MP")},
        {QStringLiteral("baseline-graph"), QStringLiteral("Graph of the sequential baseline: original (default; the reference loop as written) or "
                                                          "optimized (isolates what the schedule alone gains; labels then identical in fp32)."),
         QStringLiteral("g")},
    });
    addInferenceOptions(parser);
    if (!parser.parse(args))
        return fail(ExitUsage, parser.errorText() + QStringLiteral(" (see --help)"));
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    if (!parser.positionalArguments().isEmpty())
        return fail(ExitUsage, QStringLiteral("unexpected argument \"%1\" (images go in --inputs)").arg(parser.positionalArguments().first()));
    if (!parser.isSet(QStringLiteral("model")))
        return fail(ExitUsage, QStringLiteral("--model PATH is required (a folder with model.json)"));
    if (parser.isSet(QStringLiteral("mode")))
        return fail(ExitUsage, QStringLiteral("--mode does not apply: bench runs both modes"));
    bool baselineOptimized = false;
    if (auto r = readChoice(parser, QStringLiteral("baseline-graph"), {{"original", false}, {"optimized", true}}, baselineOptimized); !r)
        return fail(ExitUsage, r.error().message);
    if (parser.isSet(QStringLiteral("scales")) && parser.isSet(QStringLiteral("scale-sets")))
        return fail(ExitUsage, QStringLiteral("give --scales (one set) or --scale-sets, not both"));

    auto positive = [&](const QString &name, int fallback, int &target) -> bool {
        target = fallback;
        if (!parser.isSet(name))
            return true;
        bool ok = false;
        target = parser.value(name).toInt(&ok);
        return ok && target >= 1;
    };
    int imageCount = 0, repeats = 0;
    if (!positive(QStringLiteral("images"), 4, imageCount))
        return fail(ExitUsage, QStringLiteral("--images must be an integer >= 1"));
    if (!positive(QStringLiteral("repeat"), 1, repeats))
        return fail(ExitUsage, QStringLiteral("--repeat must be an integer >= 1"));
    auto scaleSets = parseScaleSets(parser.isSet(QStringLiteral("scales")) ? parser.value(QStringLiteral("scales"))
                                    : parser.isSet(QStringLiteral("scale-sets")) ? parser.value(QStringLiteral("scale-sets"))
                                                                                  : defaultScaleSets);
    if (!scaleSets)
        return fail(ExitUsage, scaleSets.error().message);
    if (parser.isSet(QStringLiteral("rss-megapixels"))) {
        if (parser.isSet(QStringLiteral("scale-sets")) || parser.isSet(QStringLiteral("rss-images")))
            return fail(ExitUsage, QStringLiteral("--rss-megapixels runs alone: use --scales, not --scale-sets or --rss-images"));
        auto sizes = parseMegapixels(parser.value(QStringLiteral("rss-megapixels")));
        if (!sizes)
            return fail(ExitUsage, sizes.error().message);
        auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(parser.value(QStringLiteral("model"))));
        if (!card)
            return fail(ExitUsage, card.error().message);
        auto options = readInferenceOptions(parser, *card);
        if (!options)
            return fail(ExitUsage, options.error().message);
        return runSizeSweep(*sizes, parser.isSet(QStringLiteral("images")) ? imageCount : 1, *card, *options, parser.value(QStringLiteral("json")));
    }
    std::vector<int> rssCounts;
    if (parser.isSet(QStringLiteral("rss-images"))) {
        auto counts = parseCounts(parser.value(QStringLiteral("rss-images")));
        if (!counts)
            return fail(ExitUsage, counts.error().message);
        rssCounts = *counts;
    }

    auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(parser.value(QStringLiteral("model"))));
    if (!card)
        return fail(ExitUsage, card.error().message);
    auto options = readInferenceOptions(parser, *card);
    if (!options)
        return fail(ExitUsage, options.error().message);

    QString origin;
    auto images = gatherImages(parser.values(QStringLiteral("inputs")), imageCount, origin);
    if (!images)
        return fail(ExitUsage, images.error().message);

    auto network = loadNetwork(*card, *options);
    if (!network)
        return fail(ExitUsage, network.error().message);
    Pipeline::SegmentOptions baselineOptions = *options;
    baselineOptions.mode = Pipeline::EngineMode::Sequential;
    baselineOptions.optimizeGraph = baselineOptimized;
    baselineOptions.precision = Pipeline::Precision::Float32;
    std::shared_ptr<const Model::Network> baseline = *network;
    if (baselineOptions.optimizedGraph() != options->optimizedGraph() || baselineOptions.precision != options->precision) {
        auto loaded = loadNetwork(*card, baselineOptions);
        if (!loaded)
            return fail(ExitUsage, loaded.error().message);
        baseline = *loaded;
    }
    const bool judged = options->precision == Pipeline::Precision::Float32;
    constexpr double maxDifferingFraction = 1e-4;  // fp32: "a handful of near-tie pixels" (DESIGN.md)

    QTextStream err(stderr);
    QTextStream out(stdout);
    Pipeline::Benchmark bench(*network, *options, baseline);
    bench.onProgress = [&](const QString &m) { err << "  " << m << '\n' << Qt::flush; };
    if (auto r = bench.setImages(std::move(*images)); !r)
        return fail(ExitUsage, r.error().message);

    const int threads = options->threads > 0 ? options->threads : QThread::idealThreadCount();
    const QString settings = QStringLiteral("base size %1, crop %2, flip %3, batch %4, threads %5, device %6, pipelined: %7 graph, "
                                            "%8, %9 combine; sequential baseline: %10 graph, fp32")
                                 .arg(options->baseSize)
                                 .arg(options->crop)
                                 .arg(options->flip ? QStringLiteral("on") : QStringLiteral("off"))
                                 .arg(options->effectiveBatch())
                                 .arg(threads)
                                 .arg(options->device,
                                      graphName(options->optimizedGraph()),
                                      precisionName(options->precision),
                                      options->tensorCombine() ? QStringLiteral("tensor") : QStringLiteral("host"),
                                      graphName(baselineOptions.optimizedGraph()));
    const QString loadAtStart = loadAverage();
    const QString machine = QStringLiteral("%1 cores, load average %2 at start").arg(QThread::idealThreadCount()).arg(loadAtStart);
    out << "model: " << (*network)->describe() << ((*network)->untrained() ? QStringLiteral(" (UNTRAINED: random weights)") : QString()) << '\n';
    out << "images: " << bench.images().size() << " from " << origin << '\n';
    out << "settings: " << settings << '\n';
    out << "machine: " << machine << '\n' << Qt::flush;

    err << "warming up the network\n" << Qt::flush;
    bench.warmUp();

    QList<Pipeline::ScaleSetResult> results;
    for (const QList<double> &scales : *scaleSets) {
        err << "scales " << scalesText(scales) << '\n' << Qt::flush;
        auto r = bench.measure(scales, repeats);
        if (!r)
            return fail(ExitFailure, r.error().message);
        results << *r;
    }

    const QStringList header{QStringLiteral("scales"), QStringLiteral("windows/img"), QStringLiteral("network-only s/img"),
                             QStringLiteral("sequential s/img"), QStringLiteral("pipelined s/img"), QStringLiteral("speed-up"),
                             QStringLiteral("of limit"), QStringLiteral("decode s"), QStringLiteral("preprocess s"),
                             QStringLiteral("infer s"), QStringLiteral("combine s"), QStringLiteral("report s"),
                             QStringLiteral("peak RSS MiB"), QStringLiteral("labels alike")};
    QList<QStringList> rows;
    bool identical = true, withinTolerance = true;
    for (const auto &r : results) {
        auto busy = [&](const char *stage) {
            const auto it = r.pipelined.stageBusySeconds.find(QString::fromLatin1(stage));
            return QString::number(it == r.pipelined.stageBusySeconds.end() ? 0.0 : it->second, 'f', 2);
        };
        identical = identical && r.labelsIdentical();
        withinTolerance = withinTolerance && r.imagesCompared == r.images && r.agreement() >= 1.0 - maxDifferingFraction;
        rows << QStringList{scalesText(r.scales),
                            QString::number(r.windowsPerImage(), 'f', 1),
                            QString::number(r.networkOnlyPerImage(), 'f', 3),
                            QString::number(r.sequentialPerImage(), 'f', 3),
                            QString::number(r.pipelinedPerImage(), 'f', 3),
                            QStringLiteral("%1x").arg(r.speedup(), 0, 'f', 2),
                            QStringLiteral("%1%").arg(100 * r.fractionOfLimit(), 0, 'f', 0),
                            busy("decode"),
                            busy("preprocess"),
                            busy("infer"),
                            busy("combine"),
                            busy("report"),
                            QString::number(static_cast<double>(r.pipelinedPeakRssKiB) / 1024, 'f', 0),
                            r.labelsIdentical() ? QStringLiteral("all")
                                                : QStringLiteral("%1% (%2 px differ)").arg(100 * r.agreement(), 0, 'f', 4).arg(r.pixelsDiffering)};
    }
    out << '\n' << renderTable(header, rows);
    out << "(s/img: wall seconds per image; speed-up: sequential/pipelined; of limit: network-only/pipelined;\n"
           " stage columns: busy seconds of the pipelined run over all images; peak RSS: of the pipelined run"
        << (results.isEmpty() || results.first().peakRssPerRun ? QString() : QStringLiteral(", process-wide (no per-run reset)")) << ")\n";
    for (const auto &r : results) {
        auto byScale = [](const Pipeline::RunStats &s, int images) {
            QStringList parts;
            for (const auto &[scale, t] : s.perScale)
                parts << QStringLiteral("%1: %2 s (%3 win)").arg(scale).arg(images ? t.networkSeconds / images : 0, 0, 'f', 3).arg(images ? static_cast<double>(t.windows) / images : 0, 0, 'f', 1);
            return parts.join(QStringLiteral(", "));
        };
        out << "network s/img by scale, scales " << scalesText(r.scales) << ": pipelined " << byScale(r.pipelined, r.images)
            << "; sequential " << byScale(r.sequential, r.images) << '\n';
    }
    out << "labels: " << (identical ? QStringLiteral("identical")
                                    : judged ? (withinTolerance ? QStringLiteral("within tolerance (at most 0.01% of pixels differ: near ties)")
                                                                : QStringLiteral("MORE than 0.01% of pixels differ"))
                                             : QStringLiteral("%1 vs fp32: agreement reported above, not judged").arg(precisionName(options->precision)))
        << '\n' << Qt::flush;

    std::optional<Pipeline::RssResult> rss;
    if (!rssCounts.empty()) {
        err << "memory flatness: " << *std::max_element(rssCounts.begin(), rssCounts.end()) << " images at scale 1\n" << Qt::flush;
        auto r = bench.measureRss(rssCounts);
        if (!r)
            return fail(ExitFailure, r.error().message);
        rss = *r;
        QStringList parts;
        for (size_t i = 0; i < rss->checkpoints.size(); ++i)
            parts << QStringLiteral("image %1: %2 MiB").arg(rss->checkpoints[i]).arg(static_cast<double>(i < rss->rssKiB.size() ? rss->rssKiB[i] : 0) / 1024, 0, 'f', 1);
        out << "\nRSS " << parts.join(QStringLiteral(", "))
            << QStringLiteral("; ratio %1 (%2 5%); %3 images/s\n")
                   .arg(rss->ratio(), 0, 'f', 3)
                   .arg(std::abs(rss->ratio() - 1) <= 0.05 ? QStringLiteral("within") : QStringLiteral("NOT within"))
                   .arg(rss->stats.imagesPerSecond(), 0, 'f', 2)
            << Qt::flush;
    }

    if (parser.isSet(QStringLiteral("json"))) {
        QJsonArray sets;
        for (const auto &r : results)
            sets.append(r.toJson());
        QJsonArray names;
        for (const auto &img : bench.images())
            names.append(QJsonObject{{QStringLiteral("name"), img.name}, {QStringLiteral("width"), img.width}, {QStringLiteral("height"), img.height}});
        QJsonObject json{
            {QStringLiteral("model"), QJsonObject{{QStringLiteral("name"), card->name},
                                                  {QStringLiteral("architecture"), card->architecture},
                                                  {QStringLiteral("describe"), (*network)->describe()},
                                                  {QStringLiteral("untrained"), (*network)->untrained()}}},
            {QStringLiteral("settings"), QJsonObject{{QStringLiteral("base_size"), options->baseSize},
                                                     {QStringLiteral("crop"), options->crop},
                                                     {QStringLiteral("flip"), options->flip},
                                                     {QStringLiteral("stride_rate"), options->strideRate},
                                                     {QStringLiteral("batch"), options->effectiveBatch()},
                                                     {QStringLiteral("threads"), threads},
                                                     {QStringLiteral("device"), options->device},
                                                     {QStringLiteral("repeat"), repeats}}},
            {QStringLiteral("machine"), QJsonObject{{QStringLiteral("cores"), QThread::idealThreadCount()},
                                                    {QStringLiteral("load_average_at_start"), loadAtStart},
                                                    {QStringLiteral("load_average_at_end"), loadAverage()}}},
            {QStringLiteral("inputs"), origin},
            {QStringLiteral("images"), names},
            {QStringLiteral("scale_sets"), sets},
            {QStringLiteral("labels_identical"), identical},
            {QStringLiteral("labels_within_tolerance"), withinTolerance},
            {QStringLiteral("tolerance_max_differing_fraction"), judged ? maxDifferingFraction : 1.0},
            {QStringLiteral("precision"), precisionName(options->precision)},
            {QStringLiteral("pipelined_graph"), graphName(options->optimizedGraph())},
            {QStringLiteral("baseline_graph"), graphName(baselineOptions.optimizedGraph())},
        };
        if (rss)
            json[QStringLiteral("rss_flatness")] = rss->toJson();
        QSaveFile f(parser.value(QStringLiteral("json")));
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(json).toJson()) < 0 || !f.commit())
            return fail(ExitFailure, QStringLiteral("cannot write --json file %1").arg(f.fileName()));
    }
    if (judged && !withinTolerance)
        return fail(ExitFailure, QStringLiteral("the sequential and pipelined runs labelled more than 0.01% of pixels differently: the timings compare different results"));
    return ExitOk;
}

const CommandRegistration registration{
    {"bench", "Benchmark network-only, sequential and pipelined inference per scale set (the paper's tables)", runBench}};

} // namespace
} // namespace SegScale::Cli
