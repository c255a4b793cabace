#include "jobs/studysettings.h"

#include <QCryptographicHash>
#include <QJsonArray>

namespace SegScale::Jobs {

QStringList StudySettings::classNames() const
{
    QStringList names;
    const QJsonArray classes = modelCard.value(QStringLiteral("classes")).toArray();
    names.reserve(classes.size());
    for (const auto &c : classes)
        names.append(c.toString());
    return names;
}

QString StudySettings::modelName() const
{
    return modelCard.value(QStringLiteral("name")).toString();
}

QByteArray StudySettings::fingerprint() const
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(modelFingerprint);
    // A fixed, locale-free text form so that the same settings always hash the same.
    QByteArray canonical = "|scales=";
    for (double s : scales)
        canonical += QByteArray::number(s, 'g', 17) + ',';
    canonical += "|base=" + QByteArray::number(baseSize) + "|crop=" + QByteArray::number(crop) +
                 "|flip=" + QByteArray(flip ? "1" : "0") + "|stride=" + QByteArray::number(strideRate, 'g', 17);
    // Only when not fp32: the fingerprints of studies made before v3 (all fp32) stay valid.
    if (!precision.isEmpty() && precision != QLatin1StringView("fp32"))
        canonical += "|precision=" + precision.toLatin1();
    hash.addData(canonical);
    return hash.result().toHex();
}

QJsonObject StudySettings::toJson() const
{
    QJsonArray s;
    for (double v : scales)
        s.append(v);
    return QJsonObject{{QStringLiteral("model_card"), modelCard},
                       {QStringLiteral("model_fingerprint"), QString::fromLatin1(modelFingerprint)},
                       {QStringLiteral("scales"), s},
                       {QStringLiteral("base_size"), baseSize},
                       {QStringLiteral("crop"), crop},
                       {QStringLiteral("flip"), flip},
                       {QStringLiteral("stride_rate"), strideRate},
                       {QStringLiteral("batch"), batch},
                       {QStringLiteral("precision"), precision}};
}

StudySettings StudySettings::fromJson(const QJsonObject &json)
{
    StudySettings out;
    out.modelCard = json.value(QStringLiteral("model_card")).toObject();
    out.modelFingerprint = json.value(QStringLiteral("model_fingerprint")).toString().toLatin1();
    out.scales.clear();
    for (const auto &v : json.value(QStringLiteral("scales")).toArray())
        out.scales.append(v.toDouble());
    out.baseSize = json.value(QStringLiteral("base_size")).toInt(out.baseSize);
    out.crop = json.value(QStringLiteral("crop")).toInt(out.crop);
    out.flip = json.value(QStringLiteral("flip")).toBool(out.flip);
    out.strideRate = json.value(QStringLiteral("stride_rate")).toDouble(out.strideRate);
    out.batch = json.value(QStringLiteral("batch")).toInt(out.batch);
    out.precision = json.value(QStringLiteral("precision")).toString(out.precision);
    return out;
}

} // namespace SegScale::Jobs
