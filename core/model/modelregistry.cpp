#include "model/modelregistry.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace SegScale::Model {

namespace {

// hszhao/semseg README, "Usage" -> "Other": "Resources: GoogleDrive LINK contains shared
// models". Drive folders need a browser (quota pages, confirmation forms), so these are
// manual.
const QString kSemsegDrive = QStringLiteral("https://drive.google.com/open?id=15wx9vOM0euyizq-M1uINgN0_wjVRf9J3");

QString manualPspnet(const QString &name, const QString &drivePath, const QString &arguments)
{
    return QStringLiteral(
               "%1 is published by the PSPNet authors (hszhao/semseg) on Google Drive, which programs cannot download from.\n"
               "  1. Open the Google Drive folder linked in the README of https://github.com/hszhao/semseg\n"
               "     (section \"Usage\" -> \"Other\" -> Resources): %2\n"
               "  2. Download %3\n"
               "  3. Import it:\n"
               "       segscale model import %4 %5 --out DIR\n")
        .arg(name, kSemsegDrive, drivePath, drivePath.section(QLatin1Char('/'), -1), arguments);
}

QList<RegistryEntry> makeEntries()
{
    QList<RegistryEntry> list;
    {
        RegistryEntry e;
        e.name = QStringLiteral("espnet-cityscapes");
        e.description = QStringLiteral("ESPNet (p=2, q=8), Cityscapes, 20 classes incl. void; 364,569 parameters, 1.5 MB");
        e.architecture = QStringLiteral("espnet");
        e.classes = QStringLiteral("cityscapes");
        e.url = QUrl(QStringLiteral("https://raw.githubusercontent.com/sacmehta/ESPNet/afe71c38edaee3514ca44e0adcafdf36109bf437/"
                                    "pretrained/decoder/espnet_p_2_q_8.pth"));
        e.sha256 = "343b0e77e8545d36113c4f3efbf1ee349256f25c97c9f9d5ddefe45f2f49763e";
        e.fileName = QStringLiteral("espnet_p_2_q_8.pth");
        e.license = QStringLiteral("MIT (Copyright (c) 2018 Sachin Mehta); trained on Cityscapes, whose terms govern its images");
        list << e;
    }
    {
        RegistryEntry e;
        e.name = QStringLiteral("pspnet50-ade20k");
        e.description = QStringLiteral("PSPNet-50, ADE20K, 150 classes (hszhao/semseg)");
        e.architecture = QStringLiteral("pspnet");
        e.layers = 50;
        e.classes = QStringLiteral("ade20k");
        e.fileName = QStringLiteral("train_epoch_100.pth");
        e.manualInstructions = manualPspnet(e.name, QStringLiteral("exp/ade20k/pspnet50/model/train_epoch_100.pth"),
                                            QStringLiteral("--arch pspnet --layers 50 --classes ade20k"));
        list << e;
    }
    {
        RegistryEntry e;
        e.name = QStringLiteral("pspnet101-cityscapes");
        e.description = QStringLiteral("PSPNet-101, Cityscapes, 19 classes (hszhao/semseg)");
        e.architecture = QStringLiteral("pspnet");
        e.layers = 101;
        e.classes = QStringLiteral("cityscapes");
        e.fileName = QStringLiteral("train_epoch_200.pth");
        e.manualInstructions = manualPspnet(e.name, QStringLiteral("exp/cityscapes/pspnet101/model/train_epoch_200.pth"),
                                            QStringLiteral("--arch pspnet --layers 101 --classes cityscapes"));
        list << e;
    }
    return list;
}

} // namespace

const QList<RegistryEntry> &ModelRegistry::entries()
{
    static const QList<RegistryEntry> list = makeEntries();
    return list;
}

std::optional<RegistryEntry> ModelRegistry::find(const QString &name)
{
    for (const auto &e : entries())
        if (e.name == name)
            return e;
    return std::nullopt;
}

QString ModelRegistry::cacheRoot(const QString &overrideDir)
{
    if (!overrideDir.isEmpty())
        return QDir(overrideDir).absolutePath();
    const QString env = qEnvironmentVariable("SEGSCALE_MODEL_CACHE");
    if (!env.isEmpty())
        return QDir(env).absolutePath();
    return QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/models");
}

QString ModelRegistry::resolveModelPath(const QString &pathOrName)
{
    if (QFileInfo::exists(pathOrName) || pathOrName.contains(QLatin1Char('/')))
        return pathOrName;
    const QString cached = QDir(cacheRoot()).filePath(pathOrName);
    return QFileInfo::exists(QDir(cached).filePath(QStringLiteral("model.json"))) ? cached : pathOrName;
}

QString ModelRegistry::urlEnvironmentVariable(const QString &name)
{
    QString suffix = name.toUpper();
    for (QChar &c : suffix)
        if (!c.isLetterOrNumber())
            c = QLatin1Char('_');
    return QStringLiteral("SEGSCALE_MODEL_URL_") + suffix;
}

QUrl ModelRegistry::downloadUrl(const RegistryEntry &entry, const QString &overrideUrl)
{
    if (!overrideUrl.isEmpty())
        return QUrl::fromUserInput(overrideUrl);
    const QString env = qEnvironmentVariable(urlEnvironmentVariable(entry.name).toLatin1().constData());
    if (!env.isEmpty())
        return QUrl::fromUserInput(env);
    return entry.url;
}

} // namespace SegScale::Model
