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
        {QStringLiteral("batch"), QStringLiteral("Windows per network forward pass in pipelined mode (default: 1 on CPU, where it keeps labels bit-identical to --mode sequential; 8 on CUDA)."), QStringLiteral("N")},
        {QStringLiteral("device"), QStringLiteral("cpu, cuda or cuda:N (default cpu)."), QStringLiteral("device")},
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
                   positive(QStringLiteral("batch"), o.batch, 1), positive(QStringLiteral("threads"), o.threads, 1)})
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
    if (parser.isSet(QStringLiteral("mode"))) {
        const QString m = parser.value(QStringLiteral("mode"));
        if (m == QLatin1StringView("pipelined"))
            o.mode = Pipeline::EngineMode::Pipelined;
        else if (m == QLatin1StringView("sequential"))
            o.mode = Pipeline::EngineMode::Sequential;
        else
            return Error{ErrorCategory::Usage, QStringLiteral("--mode must be pipelined or sequential, not \"%1\"").arg(m)};
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

Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const Pipeline::SegmentOptions &o)
{
    Model::LoadOptions load;
    load.device = o.device;
    load.threads = o.threads;
    return Model::NetworkLoader::load(card, load);
}

QString describeOptions(const Pipeline::SegmentOptions &o)
{
    QStringList scales;
    for (double s : o.scales)
        scales << QString::number(s);
    return QStringLiteral("scales %1, base size %2, crop %3, flip %4, mode %5, batch %6, device %7")
        .arg(scales.join(QLatin1Char(',')))
        .arg(o.baseSize)
        .arg(o.crop)
        .arg(o.flip ? QStringLiteral("on") : QStringLiteral("off"),
             o.mode == Pipeline::EngineMode::Sequential ? QStringLiteral("sequential") : QStringLiteral("pipelined"))
        .arg(o.effectiveBatch())
        .arg(o.device);
}

} // namespace SegScale::Cli
