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

} // namespace SegScale::Jobs
