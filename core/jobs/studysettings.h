#pragma once
// StudySettings: what a study's results depend on (model card and weights fingerprint,
// scales, crop, flip, base size, stride rate) plus the batch size a runner should use.
// A study refuses to mix results produced under two different fingerprints.

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace SegScale::Jobs {

struct StudySettings {
    QJsonObject modelCard;        // ModelCard::toJson(); keeps the class names with the study
    QByteArray modelFingerprint;  // hex SHA-256 from ModelCard::fingerprint()
    QList<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;
    bool flip = true;
    double strideRate = 2.0 / 3.0;
    int batch = 1;
    QString precision = QStringLiteral("fp32");  // the network's arithmetic: fp32, fp16 or bf16

    QStringList classNames() const;
    QString modelName() const;
    // Hex SHA-256 over the model fingerprint and every setting that changes the labels.
    // The batch size is left out on purpose: it changes speed, not results.
    QByteArray fingerprint() const;

    // The settings as the coordinator sends them to its agents, and back.
    QJsonObject toJson() const;
    static StudySettings fromJson(const QJsonObject &json);
};

} // namespace SegScale::Jobs
