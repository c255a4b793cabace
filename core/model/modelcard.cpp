#include "model/modelcard.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace SegScale::Model {

namespace {

Error cardError(const QString &path, const QString &what)
{
    return Error{ErrorCategory::Model, QStringLiteral("model card %1: %2").arg(path, what)};
}

// Distinct names and matching palette; a palette may be absent (one is generated).
std::vector<Rgb> defaultPalette(int n)
{
    std::vector<Rgb> palette;
    palette.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        // The PASCAL VOC bit-interleaving scheme: distinct, stable colours for any n.
        int r = 0, g = 0, b = 0, c = i;
        for (int bit = 7; bit >= 0 && c; --bit, c >>= 3) {
            r |= ((c >> 0) & 1) << bit;
            g |= ((c >> 1) & 1) << bit;
            b |= ((c >> 2) & 1) << bit;
        }
        palette.push_back(Rgb{static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)});
    }
    return palette;
}

std::optional<std::array<float, 3>> triple(const QJsonValue &v)
{
    const QJsonArray a = v.toArray();
    if (a.size() != 3)
        return std::nullopt;
    std::array<float, 3> out{};
    for (int i = 0; i < 3; ++i) {
        if (!a[i].isDouble())
            return std::nullopt;
        out[static_cast<size_t>(i)] = static_cast<float>(a[i].toDouble());
    }
    return out;
}

} // namespace

Result<ModelCard> ModelCard::load(const QString &dirOrJsonPath)
{
    QFileInfo info(dirOrJsonPath);
    if (!info.exists())
        return Error{ErrorCategory::Model, QStringLiteral("model %1 does not exist").arg(dirOrJsonPath)};
    const QString jsonPath = info.isDir() ? QDir(info.absoluteFilePath()).filePath(QStringLiteral("model.json"))
                                          : info.absoluteFilePath();
    QFile f(jsonPath);
    if (!f.exists())
        return Error{ErrorCategory::Model, QStringLiteral("%1 has no model.json (a model is a folder with a card and its weights)").arg(dirOrJsonPath)};
    if (!f.open(QIODevice::ReadOnly))
        return cardError(jsonPath, f.errorString());
    if (f.size() > 16 * 1024 * 1024)
        return cardError(jsonPath, QStringLiteral("larger than 16 MiB, not a model card"));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return cardError(jsonPath, QStringLiteral("does not parse as JSON at offset %1: %2")
                                       .arg(parseError.offset).arg(parseError.errorString()));
    if (!doc.isObject())
        return cardError(jsonPath, QStringLiteral("is not a JSON object"));
    auto card = fromJson(doc.object(), QFileInfo(jsonPath).absolutePath());
    if (!card)
        return cardError(jsonPath, card.error().message);
    return card;
}

Result<ModelCard> ModelCard::fromJson(const QJsonObject &json, const QString &directory)
{
    auto bad = [](const QString &what) { return Error{ErrorCategory::Model, what}; };
    ModelCard c;
    c.raw = json;
    c.directory = directory;
    c.name = json.value(QStringLiteral("name")).toString();
    if (c.name.isEmpty())
        return bad(QStringLiteral("\"name\" is missing"));
    c.architecture = json.value(QStringLiteral("architecture")).toString();
    static const QStringList known{QStringLiteral("torchscript"), QStringLiteral("pspnet"), QStringLiteral("espnet")};
    if (!known.contains(c.architecture))
        return bad(QStringLiteral("\"architecture\" is \"%1\"; expected one of %2").arg(c.architecture, known.join(QStringLiteral(", "))));
    c.randomInit = json.value(QStringLiteral("random_init")).toBool(false);
    c.file = json.value(QStringLiteral("file")).toString();
    if (c.file.isEmpty() && !c.randomInit)
        return bad(QStringLiteral("\"file\" (the weights) is missing"));
    if (json.contains(QStringLiteral("weights_sha256"))) {
        const QString sha = json.value(QStringLiteral("weights_sha256")).toString().toLower();
        static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
        if (!hex.match(sha).hasMatch())
            return bad(QStringLiteral("\"weights_sha256\" must be a SHA-256 in hex (64 digits)"));
        c.weightsSha256 = sha.toLatin1();
    }
    if (c.randomInit && c.architecture == QLatin1StringView("torchscript"))
        return bad(QStringLiteral("\"random_init\" needs a native architecture (pspnet, espnet), not torchscript"));

    const QJsonArray classes = json.value(QStringLiteral("classes")).toArray();
    for (const auto &v : classes)
        c.classes << v.toString();
    c.numClasses = json.value(QStringLiteral("num_classes")).toInt(static_cast<int>(c.classes.size()));
    if (c.numClasses <= 0)
        return bad(QStringLiteral("\"num_classes\" must be positive"));
    if (c.numClasses > 65535)
        return bad(QStringLiteral("\"num_classes\" %1 is more than a 16-bit label map holds").arg(c.numClasses));
    if (!c.classes.isEmpty() && c.classes.size() != c.numClasses)
        return bad(QStringLiteral("\"classes\" lists %1 names but \"num_classes\" is %2").arg(c.classes.size()).arg(c.numClasses));
    if (c.classes.isEmpty())
        for (int i = 0; i < c.numClasses; ++i)
            c.classes << QStringLiteral("class_%1").arg(i);
    if (c.classes.removeDuplicates() != 0)
        return bad(QStringLiteral("\"classes\" has duplicate names"));

    const QJsonArray palette = json.value(QStringLiteral("palette")).toArray();
    if (palette.isEmpty()) {
        c.palette = defaultPalette(c.numClasses);
    } else {
        if (palette.size() != c.numClasses)
            return bad(QStringLiteral("\"palette\" has %1 colours for %2 classes").arg(palette.size()).arg(c.numClasses));
        for (const auto &v : palette) {
            const auto rgb = triple(v);
            if (!rgb || (*rgb)[0] < 0 || (*rgb)[0] > 255 || (*rgb)[1] < 0 || (*rgb)[1] > 255 || (*rgb)[2] < 0 || (*rgb)[2] > 255)
                return bad(QStringLiteral("\"palette\" entries must be [r,g,b] in 0..255"));
            c.palette.push_back(Rgb{static_cast<std::uint8_t>((*rgb)[0]), static_cast<std::uint8_t>((*rgb)[1]),
                                    static_cast<std::uint8_t>((*rgb)[2])});
        }
    }

    const QJsonObject input = json.value(QStringLiteral("input")).toObject();
    if (!input.isEmpty()) {
        const QString order = input.value(QStringLiteral("color_order")).toString(QStringLiteral("RGB"));
        if (order != QLatin1StringView("RGB") && order != QLatin1StringView("BGR"))
            return bad(QStringLiteral("\"input.color_order\" must be \"RGB\" or \"BGR\""));
        c.input.colorOrder = order == QLatin1StringView("BGR") ? ColorOrder::BGR : ColorOrder::RGB;
        if (input.contains(QStringLiteral("mean"))) {
            const auto mean = triple(input.value(QStringLiteral("mean")));
            if (!mean)
                return bad(QStringLiteral("\"input.mean\" must be three numbers"));
            c.input.mean = *mean;
        }
        if (input.contains(QStringLiteral("std"))) {
            const auto stdev = triple(input.value(QStringLiteral("std")));
            if (!stdev || (*stdev)[0] <= 0 || (*stdev)[1] <= 0 || (*stdev)[2] <= 0)
                return bad(QStringLiteral("\"input.std\" must be three positive numbers"));
            c.input.std = *stdev;
        }
    }

    const QJsonObject d = json.value(QStringLiteral("defaults")).toObject();
    if (d.contains(QStringLiteral("scales"))) {
        c.defaults.scales.clear();
        for (const auto &v : d.value(QStringLiteral("scales")).toArray())
            c.defaults.scales << v.toDouble(-1);
        for (double s : c.defaults.scales)
            if (!(s > 0 && s <= 8))
                return bad(QStringLiteral("\"defaults.scales\" must be numbers in (0, 8]"));
        if (c.defaults.scales.isEmpty())
            return bad(QStringLiteral("\"defaults.scales\" is empty"));
    }
    c.defaults.baseSize = d.value(QStringLiteral("base_size")).toInt(c.defaults.baseSize);
    c.defaults.crop = d.value(QStringLiteral("crop")).toInt(c.defaults.crop);
    c.defaults.flip = d.value(QStringLiteral("flip")).toBool(c.defaults.flip);
    c.defaults.strideRate = d.value(QStringLiteral("stride_rate")).toDouble(c.defaults.strideRate);
    if (c.defaults.baseSize <= 0 || c.defaults.crop <= 0 || !(c.defaults.strideRate > 0 && c.defaults.strideRate <= 1))
        return bad(QStringLiteral("\"defaults\": base_size and crop must be positive, stride_rate in (0, 1]"));

    const QJsonObject p = json.value(QStringLiteral("pspnet")).toObject();
    c.pspnet.layers = p.value(QStringLiteral("layers")).toInt(c.pspnet.layers);
    if (p.contains(QStringLiteral("bins"))) {
        c.pspnet.bins.clear();
        for (const auto &v : p.value(QStringLiteral("bins")).toArray())
            c.pspnet.bins << v.toInt();
    }
    c.pspnet.zoomFactor = p.value(QStringLiteral("zoom_factor")).toInt(c.pspnet.zoomFactor);
    if (c.architecture == QLatin1StringView("pspnet")) {
        if (c.pspnet.layers != 50 && c.pspnet.layers != 101 && c.pspnet.layers != 152)
            return bad(QStringLiteral("\"pspnet.layers\" must be 50, 101 or 152"));
        if (c.pspnet.zoomFactor != 1 && c.pspnet.zoomFactor != 2 && c.pspnet.zoomFactor != 4 && c.pspnet.zoomFactor != 8)
            return bad(QStringLiteral("\"pspnet.zoom_factor\" must be 1, 2, 4 or 8"));
    }
    return c;
}

QJsonObject ModelCard::toJson() const
{
    QJsonObject j = raw;
    j[QStringLiteral("name")] = name;
    j[QStringLiteral("architecture")] = architecture;
    if (!file.isEmpty())
        j[QStringLiteral("file")] = file;
    if (!weightsSha256.isEmpty())
        j[QStringLiteral("weights_sha256")] = QString::fromLatin1(weightsSha256);
    j[QStringLiteral("num_classes")] = numClasses;
    j[QStringLiteral("classes")] = QJsonArray::fromStringList(classes);
    QJsonArray pal;
    for (const auto &c : palette)
        pal.append(QJsonArray{c.r, c.g, c.b});
    j[QStringLiteral("palette")] = pal;
    j[QStringLiteral("input")] = QJsonObject{
        {QStringLiteral("color_order"), input.colorOrder == ColorOrder::BGR ? QStringLiteral("BGR") : QStringLiteral("RGB")},
        {QStringLiteral("mean"), QJsonArray{input.mean[0], input.mean[1], input.mean[2]}},
        {QStringLiteral("std"), QJsonArray{input.std[0], input.std[1], input.std[2]}}};
    QJsonArray scales;
    for (double s : defaults.scales)
        scales.append(s);
    j[QStringLiteral("defaults")] = QJsonObject{{QStringLiteral("scales"), scales},
                                                {QStringLiteral("base_size"), defaults.baseSize},
                                                {QStringLiteral("crop"), defaults.crop},
                                                {QStringLiteral("flip"), defaults.flip},
                                                {QStringLiteral("stride_rate"), defaults.strideRate}};
    if (architecture == QLatin1StringView("pspnet")) {
        QJsonArray bins;
        for (int b : pspnet.bins)
            bins.append(b);
        j[QStringLiteral("pspnet")] = QJsonObject{{QStringLiteral("layers"), pspnet.layers},
                                                  {QStringLiteral("bins"), bins},
                                                  {QStringLiteral("zoom_factor"), pspnet.zoomFactor}};
    }
    if (randomInit)
        j[QStringLiteral("random_init")] = true;
    return j;
}

QString ModelCard::weightsPath() const
{
    return file.isEmpty() ? QString() : QDir(directory).filePath(file);
}

Result<QByteArray> ModelCard::fingerprint() const
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(QJsonDocument(toJson()).toJson(QJsonDocument::Compact));
    if (!randomInit) {
        QFile f(weightsPath());
        if (!f.open(QIODevice::ReadOnly))
            return Error{ErrorCategory::Model, QStringLiteral("cannot read weights %1: %2").arg(weightsPath(), f.errorString())};
        if (!hash.addData(&f))
            return Error{ErrorCategory::Model, QStringLiteral("cannot read weights %1").arg(weightsPath())};
    }
    return hash.result().toHex();
}

} // namespace SegScale::Model
