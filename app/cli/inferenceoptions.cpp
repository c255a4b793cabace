#include "inferenceoptions.h"

#include "model/networkloader.h"

namespace SegScale::Cli {

void addInferenceOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("scales"), QStringLiteral("Comma-separated scales of the pyramid (default: the model card's), e.g. 0.5,0.75,1,1.25."), QStringLiteral("list")},
        {QStringLiteral("base-size"), QStringLiteral("Long side of the image at scale 1 (default: the card's)."), QStringLiteral("N")},
        {QStringLiteral("crop"), QStringLiteral("Sliding window size in pixels (default: the card's)."), QStringLiteral("N")},
        {QStringLiteral("flip"), QStringLiteral("Average each window with its horizontal flip.")},
        {QStringLiteral("no-flip"), QStringLiteral("Do not average with the flip.")},
        {QStringLiteral("batch"), QStringLiteral("Windows per network forward pass in pipelined mode, filled across scales, flips and images "
                                                 "(default: 1 on CPU, where bigger batches gain nothing and oneDNN's batch-dependent kernels "
                                                 "could flip near-tie pixels; 16 on CUDA)."), QStringLiteral("N")},
        {QStringLiteral("device"), QStringLiteral("cpu, cuda or cuda:N (default cpu; CUDA needs a build against a CUDA LibTorch)."), QStringLiteral("device")},
        {QStringLiteral("precision"), QStringLiteral("Network arithmetic: fp32 (default), fp16 (CUDA only) or bf16. Lower precision flips some "
                                                     "pixels: `segscale bench --precision` measures how many against fp32."), QStringLiteral("p")},
        {QStringLiteral("graph"), QStringLiteral("optimized (frozen TorchScript / folded batch norms; the pipelined default) or original "
                                                 "(the model as the reference code runs it; the sequential default)."), QStringLiteral("g")},
        {QStringLiteral("combine"), QStringLiteral("Where each image's combine (accumulate, resize, average, argmax) runs: host (OpenCV; the "
                                                   "CPU default) or tensor (LibTorch on the network's device; the CUDA default)."), QStringLiteral("c")},
        {QStringLiteral("images-in-flight"), QStringLiteral("At most this many images between pre-processing and report in pipelined mode "
                                                            "(default 2 on CPU, 8 on CUDA); --memory-budget bounds their bytes."), QStringLiteral("N")},
        {QStringLiteral("memory-budget"), QStringLiteral("Bytes the images in flight may hold together, e.g. 6G or 1500M (default: half of the "
                                                         "machine's memory, cgroup or ulimit, whichever is least). A large image waits for room; "
                                                         "one that needs more than the whole budget fails alone as too-large."), QStringLiteral("size")},
        {QStringLiteral("threads"), QStringLiteral("LibTorch intra-op threads (default: all cores)."), QStringLiteral("N")},
        {QStringLiteral("mode"), QStringLiteral("pipelined (default) or sequential (the reference one-window loop)."), QStringLiteral("mode")},
        {QStringLiteral("accept-damaged"), QStringLiteral("Segment truncated/garbled images the decoder can partly read instead of failing them as corrupt.")},
        {QStringLiteral("max-pixels"), QStringLiteral("Refuse images with more pixels than this as too-large (default 120000000)."), QStringLiteral("N")},
    });
}

Result<QList<double>> parseScales(const QString &text)
{
    QList<double> scales;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double s = part.trimmed().toDouble(&ok);
        if (!ok || !(s > 0 && s <= 8))
            return Error{ErrorCategory::Usage, QStringLiteral("--scales: \"%1\" is not a scale in (0, 8]").arg(part)};
        scales << s;
    }
    if (scales.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("--scales needs at least one scale")};
    return scales;
}

Result<Pipeline::SegmentOptions> readInferenceOptions(const QCommandLineParser &parser, const Model::ModelCard &card)
{
    Pipeline::SegmentOptions o = Pipeline::SegmentOptions::fromCard(card);
    auto positive = [&](const QString &name, int &target, int min) -> Result<void> {
        if (!parser.isSet(name))
            return {};
        bool ok = false;
        const int v = parser.value(name).toInt(&ok);
        if (!ok || v < min)
            return Error{ErrorCategory::Usage, QStringLiteral("--%1 must be an integer >= %2, not \"%3\"").arg(name).arg(min).arg(parser.value(name))};
        target = v;
        return {};
    };
    if (parser.isSet(QStringLiteral("scales"))) {
        auto scales = parseScales(parser.value(QStringLiteral("scales")));
        if (!scales)
            return scales.error();
        o.scales = *scales;
    }
    for (auto r : {positive(QStringLiteral("base-size"), o.baseSize, 1), positive(QStringLiteral("crop"), o.crop, 1),
                   positive(QStringLiteral("batch"), o.batch, 1), positive(QStringLiteral("threads"), o.threads, 1),
                   positive(QStringLiteral("images-in-flight"), o.imagesInFlight, 1)})
        if (!r)
            return r.error();
    if (parser.isSet(QStringLiteral("flip")) && parser.isSet(QStringLiteral("no-flip")))
        return Error{ErrorCategory::Usage, QStringLiteral("--flip and --no-flip contradict each other")};
    if (parser.isSet(QStringLiteral("flip")))
        o.flip = true;
    if (parser.isSet(QStringLiteral("no-flip")))
        o.flip = false;
    if (parser.isSet(QStringLiteral("device")))
        o.device = parser.value(QStringLiteral("device"));
    if (auto r = readChoice(parser, QStringLiteral("mode"), {{"pipelined", Pipeline::EngineMode::Pipelined}, {"sequential", Pipeline::EngineMode::Sequential}}, o.mode); !r)
        return r.error();
    if (parser.isSet(QStringLiteral("precision"))) {
        auto p = parsePrecision(parser.value(QStringLiteral("precision")));
        if (!p)
            return p.error();
        o.precision = *p;
    }
    if (o.precision == Pipeline::Precision::Float16 && !o.onCuda())
        return Error{ErrorCategory::Usage, QStringLiteral("--precision fp16 needs --device cuda: LibTorch has no float16 convolutions on the CPU (bf16 runs there)")};
    if (parser.isSet(QStringLiteral("graph"))) {
        bool optimized = true;
        if (auto r = readChoice(parser, QStringLiteral("graph"), {{"optimized", true}, {"original", false}}, optimized); !r)
            return r.error();
        o.optimizeGraph = optimized;
    }
    if (auto r = readChoice(parser, QStringLiteral("combine"), {{"host", Pipeline::CombineMode::Host}, {"tensor", Pipeline::CombineMode::Tensor}}, o.combine); !r)
        return r.error();
    if (parser.isSet(QStringLiteral("memory-budget"))) {
        auto bytes = parseByteSize(parser.value(QStringLiteral("memory-budget")));
        if (!bytes)
            return Error{ErrorCategory::Usage, QStringLiteral("--memory-budget: %1").arg(bytes.error().message)};
        o.memoryBudget = *bytes;
    }
    o.acceptDamaged = parser.isSet(QStringLiteral("accept-damaged"));
    if (parser.isSet(QStringLiteral("max-pixels"))) {
        bool ok = false;
        o.maxPixels = parser.value(QStringLiteral("max-pixels")).toLongLong(&ok);
        if (!ok || o.maxPixels < 1)
            return Error{ErrorCategory::Usage, QStringLiteral("--max-pixels must be a positive integer")};
    }
    return o;
}

Result<qint64> parseByteSize(const QString &text)
{
    static const std::pair<const char *, qint64> units[] = {{"K", 1LL << 10}, {"M", 1LL << 20}, {"G", 1LL << 30}, {"T", 1LL << 40}};
    QString number = text.trimmed().toUpper();
    if (number.endsWith(QLatin1StringView("IB")))
        number.chop(2);
    else if (number.endsWith(QLatin1Char('B')))
        number.chop(1);
    qint64 unit = 1;
    for (const auto &[suffix, bytes] : units)
        if (number.endsWith(QLatin1StringView(suffix))) {
            number.chop(1);
            unit = bytes;
            break;
        }
    bool ok = false;
    const double value = number.toDouble(&ok);
    if (!ok || !(value > 0) || value * static_cast<double>(unit) > 9.0e18)
        return Error{ErrorCategory::Usage, QStringLiteral("\"%1\" is not a size in bytes such as 4G, 1500M or 2000000000").arg(text)};
    return static_cast<qint64>(value * static_cast<double>(unit));
}

Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const Pipeline::SegmentOptions &o)
{
    Model::LoadOptions load;
    load.device = o.device;
    load.threads = o.threads;
    load.optimize = o.optimizedGraph();
    load.dtype = o.precision == Pipeline::Precision::Float16    ? c10::kHalf
                 : o.precision == Pipeline::Precision::BFloat16 ? c10::kBFloat16
                                                                : c10::kFloat;
    return Model::NetworkLoader::load(card, load);
}

QString describeOptions(const Pipeline::SegmentOptions &o)
{
    return QStringLiteral("scales %1, base size %2, crop %3, flip %4, mode %5, batch %6, device %7, %8, %9 graph, %10 combine")
        .arg(Pipeline::scalesText(o.scales))
        .arg(o.baseSize)
        .arg(o.crop)
        .arg(o.flip ? QStringLiteral("on") : QStringLiteral("off"),
             o.mode == Pipeline::EngineMode::Sequential ? QStringLiteral("sequential") : QStringLiteral("pipelined"))
        .arg(o.effectiveBatch())
        .arg(o.device, precisionName(o.precision), graphName(o.optimizedGraph()),
             o.tensorCombine() && o.mode == Pipeline::EngineMode::Pipelined ? QStringLiteral("tensor") : QStringLiteral("host"));
}

} // namespace SegScale::Cli
