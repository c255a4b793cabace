#include "model/modelimporter.h"

#include "base/printabletext.h"
#include "model/checkpointreader.h"
#include "model/classtable.h"
#include "model/espnetnetwork.h"
#include "model/pspnetnetwork.h"
#include "model/weightsfile.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QUuid>

namespace SegScale::Model {

namespace {

Error usage(const QString &what)
{
    return Error{ErrorCategory::Usage, what};
}

// The authors' test-time preprocessing (sacmehta/ESPNet test/VisualizeResults.py), in
// the network's BGR order; the shared espnet-cityscapes card holds the same numbers.
constexpr std::array<float, 3> kEspnetMean{72.3923111f, 82.90893555f, 73.15840149f};
constexpr std::array<float, 3> kEspnetStd{45.3192215f, 46.15289307f, 44.91483307f};

bool isBuffer(const std::string &name)
{
    return name.ends_with("running_mean") || name.ends_with("running_var") || name.ends_with("num_batches_tracked");
}

Result<std::unique_ptr<Network>> buildNetwork(const ModelCard &card, const StateDict &weights, const QString &source)
{
    if (card.architecture == QLatin1StringView("espnet"))
        return EspNetNetwork::fromStateDict(card, weights, c10::Device(c10::kCPU), source);
    return PspNetNetwork::fromStateDict(card, weights, c10::Device(c10::kCPU), /*optimize=*/false, source);
}

} // namespace

Result<ModelCard> ModelImporter::makeCard(const ImportOptions &o)
{
    const bool espnet = o.architecture == QLatin1StringView("espnet");
    if (!espnet && o.architecture != QLatin1StringView("pspnet"))
        return usage(QStringLiteral("--arch must be pspnet or espnet, not \"%1\"").arg(o.architecture));
    if (!espnet && o.layers != 50 && o.layers != 101 && o.layers != 152)
        return usage(QStringLiteral("--layers must be 50, 101 or 152, not %1").arg(o.layers));
    auto table = ClassTable::builtin(o.classes);
    if (!table)
        return table.error();

    QJsonObject json;
    json[QStringLiteral("name")] = o.name.isEmpty()
        ? (espnet ? QStringLiteral("espnet-") : QStringLiteral("pspnet%1-").arg(o.layers)) + o.classes
        : o.name;
    json[QStringLiteral("architecture")] = o.architecture;
    json[QStringLiteral("file")] = o.weightsFileName.isEmpty() ? QFileInfo(o.checkpoint).fileName() : o.weightsFileName;
    QStringList classes = table->classes;
    QJsonArray palette;
    for (const Rgb &c : table->palette)
        palette.append(QJsonArray{c.r, c.g, c.b});
    QJsonObject input, defaults;
    if (espnet) {
        // The authors trained ESPNet with a 20th "void" class (index 19), drawn black.
        if (o.classes == QLatin1StringView("cityscapes")) {
            classes << QStringLiteral("void");
            palette.append(QJsonArray{0, 0, 0});
        }
        input = QJsonObject{{QStringLiteral("color_order"), QStringLiteral("BGR")},
                            {QStringLiteral("mean"), QJsonArray{kEspnetMean[0], kEspnetMean[1], kEspnetMean[2]}},
                            {QStringLiteral("std"), QJsonArray{kEspnetStd[0], kEspnetStd[1], kEspnetStd[2]}}};
        // One 1024 window covers a photo at base size 1024: ESPNet labels the border of its
        // input void, so smaller windows leave void lines along their seams.
        defaults = QJsonObject{{QStringLiteral("scales"), QJsonArray{1.0}}, {QStringLiteral("base_size"), 1024},
                               {QStringLiteral("crop"), 1024},              {QStringLiteral("flip"), true},
                               {QStringLiteral("stride_rate"), 2.0 / 3.0}};
        json[QStringLiteral("espnet")] = QJsonObject{{QStringLiteral("p"), 2}, {QStringLiteral("q"), 8}};
    } else {
        // hszhao/semseg: RGB, ImageNet mean/std on the 0..255 scale, crops of 8k+1.
        const bool cityscapes = o.classes == QLatin1StringView("cityscapes");
        input = QJsonObject{{QStringLiteral("color_order"), QStringLiteral("RGB")},
                            {QStringLiteral("mean"), QJsonArray{0.485 * 255, 0.456 * 255, 0.406 * 255}},
                            {QStringLiteral("std"), QJsonArray{0.229 * 255, 0.224 * 255, 0.225 * 255}}};
        defaults = QJsonObject{{QStringLiteral("scales"), QJsonArray{1.0}},
                               {QStringLiteral("base_size"), cityscapes ? 2048 : 512},
                               {QStringLiteral("crop"), cityscapes ? 713 : 473},
                               {QStringLiteral("flip"), true},
                               {QStringLiteral("stride_rate"), 2.0 / 3.0}};
        json[QStringLiteral("pspnet")] = QJsonObject{{QStringLiteral("layers"), o.layers},
                                                     {QStringLiteral("bins"), QJsonArray{1, 2, 3, 6}},
                                                     {QStringLiteral("zoom_factor"), 8}};
    }
    json[QStringLiteral("num_classes")] = static_cast<int>(classes.size());
    json[QStringLiteral("classes")] = QJsonArray::fromStringList(classes);
    json[QStringLiteral("palette")] = palette;
    json[QStringLiteral("input")] = input;
    json[QStringLiteral("defaults")] = defaults;
    if (!o.about.isEmpty())
        json[QStringLiteral("about")] = o.about;
    return ModelCard::fromJson(json, QDir(o.outDir).absolutePath());
}

Result<ModelCard> ModelImporter::import(const ImportOptions &o)
{
    if (o.outDir.isEmpty())
        return usage(QStringLiteral("no output folder given (--out DIR)"));
    const QDir out(o.outDir);
    if (QFileInfo::exists(out.filePath(QStringLiteral("model.json"))))
        return usage(QStringLiteral("%1 already holds a model (model.json); choose another --out").arg(out.absolutePath()));
    if (QFileInfo(o.outDir).exists() && !QFileInfo(o.outDir).isDir())
        return usage(QStringLiteral("--out %1 is a file, not a folder").arg(o.outDir));
    auto made = makeCard(o);
    if (!made)
        return made.error();
    ModelCard card = *made;

    // Prove the checkpoint is this architecture before writing anything.
    auto weights = CheckpointReader::readStateDict(o.checkpoint);
    if (!weights)
        return weights.error();
    auto network = buildNetwork(card, *weights, o.checkpoint);
    if (!network)
        return network.error();
    try {
        c10::InferenceMode guard;
        const at::Tensor probe = (*network)->forward(torch::zeros({1, 3, 65, 65}));
        if (probe.dim() != 4 || probe.size(1) != card.numClasses)
            return Error{ErrorCategory::Model, QStringLiteral("%1 gives %2 output channels; the %3 class table has %4")
                                                   .arg(o.checkpoint).arg(probe.dim() == 4 ? probe.size(1) : -1)
                                                   .arg(o.classes).arg(card.numClasses)};
        if (!torch::isfinite(probe).all().item<bool>())
            return Error{ErrorCategory::Model, QStringLiteral("%1 gives non-finite outputs on a probe image").arg(o.checkpoint)};
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Model, QStringLiteral("%1 fails on a probe image: %2").arg(o.checkpoint, PrintableText::summarise(QStringLiteral("LibTorch"), e.what()))};
    }

    // Write into a staging folder beside the target and rename it into place, so a
    // half-written model never exists under the final name.
    const QString target = out.absolutePath();
    const QString parent = QFileInfo(target).absolutePath();
    if (!QDir().mkpath(parent))
        return Error{ErrorCategory::Storage, QStringLiteral("cannot create folder %1").arg(parent)};
    const QString staging = parent + QStringLiteral("/.") + QFileInfo(target).fileName() + QStringLiteral(".import-") +
                            QUuid::createUuid().toString(QUuid::Id128).left(8);
    auto cleanup = [&] { QDir(staging).removeRecursively(); };
    if (!QDir().mkpath(staging))
        return Error{ErrorCategory::Storage, QStringLiteral("cannot create folder %1").arg(staging)};
    if (!QFile::copy(o.checkpoint, QDir(staging).filePath(card.file))) {
        cleanup();
        return Error{ErrorCategory::Storage, QStringLiteral("cannot copy %1 into %2").arg(o.checkpoint, staging)};
    }
    // The hash of the copy the folder holds, where every load checks it (WeightsFile).
    if (auto sha = sha256(QDir(staging).filePath(card.file)); sha) {
        card.weightsSha256 = *sha;
    } else {
        cleanup();
        return sha.error();
    }
    {
        QSaveFile cardFile(QDir(staging).filePath(QStringLiteral("model.json")));
        if (!cardFile.open(QIODevice::WriteOnly) ||
            cardFile.write(QJsonDocument(card.toJson()).toJson(QJsonDocument::Indented)) < 0 || !cardFile.commit()) {
            cleanup();
            return Error{ErrorCategory::Storage, QStringLiteral("cannot write %1/model.json: %2").arg(staging, cardFile.errorString())};
        }
    }
    // An existing empty folder (a fresh temp dir, say) is replaced; a non-empty one is not.
    if (QFileInfo(target).isDir() && !QDir(target).rmdir(target)) {
        cleanup();
        return usage(QStringLiteral("--out %1 exists and is not empty").arg(target));
    }
    if (!QDir().rename(staging, target)) {
        cleanup();
        return Error{ErrorCategory::Storage, QStringLiteral("cannot move %1 to %2").arg(staging, target)};
    }
    return ModelCard::load(target);
}

Result<qint64> ModelImporter::parameterCount(const ModelCard &card)
{
    if (card.randomInit)
        return Error{ErrorCategory::Model, QStringLiteral("model %1 has no weights (random_init)").arg(card.name)};
    try {
        if (card.architecture == QLatin1StringView("torchscript")) {
            const torch::jit::Module m = torch::jit::load(card.weightsPath().toStdString(), c10::Device(c10::kCPU));
            qint64 n = 0;
            for (const auto &p : m.parameters())
                n += p.numel();
            return n;
        }
        auto weights = CheckpointReader::readStateDict(card.weightsPath());
        if (!weights)
            return weights.error();
        // What the checkpoint holds minus batch-norm statistics and the training-only
        // PSPNet auxiliary head: the parameters the network is built with.
        qint64 n = 0;
        for (const auto &[name, t] : *weights) {
            const bool aux = name.starts_with("aux.") || name.starts_with("module.aux.");
            if (!isBuffer(name) && !aux)
                n += t.numel();
        }
        return n;
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot read %1: %2").arg(card.weightsPath(), PrintableText::summarise(QStringLiteral("LibTorch"), e.what()))};
    }
}

Result<QByteArray> ModelImporter::sha256(const QString &path)
{
    return WeightsFile::sha256OfFile(path);
}

} // namespace SegScale::Model
