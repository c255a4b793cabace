#pragma once
// ModelCard: the parsed model.json of a model folder (schema in DESIGN.md, "Models").
// A plain value type: cheap to copy, no LibTorch; everything that configures a run
// (defaults for scales, crop, base size, flip) starts from here.

#include "base/result.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>
#include <vector>

namespace SegScale::Model {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb &, const Rgb &) = default;
};

enum class ColorOrder { BGR, RGB };

struct InputSpec {
    ColorOrder colorOrder = ColorOrder::RGB;
    // On the 0..255 scale, in the network's channel order.
    std::array<float, 3> mean{123.675f, 116.28f, 103.53f};
    std::array<float, 3> std{58.395f, 57.12f, 57.375f};
};

struct InferenceDefaults {
    QList<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;
    bool flip = true;
    double strideRate = 2.0 / 3.0;
};

struct PspnetSpec {
    int layers = 50;
    QList<int> bins{1, 2, 3, 6};
    int zoomFactor = 8;
};

class ModelCard {
public:
    // Reads DIR/model.json (or the .json file itself). Every problem is a Model error
    // naming the file and the field.
    static Result<ModelCard> load(const QString &dirOrJsonPath);
    static Result<ModelCard> fromJson(const QJsonObject &json, const QString &directory);
    QJsonObject toJson() const;

    QString name;
    QString architecture;  // "torchscript" | "pspnet" | "espnet"
    QString file;          // weights, relative to directory
    // "weights_sha256": hex SHA-256 of the weights file, written by `model import` and
    // `model pull`; loading refuses weights that no longer match it. Empty: not recorded
    // (hand-written cards), the weights load unverified.
    QByteArray weightsSha256;
    QString directory;     // absolute folder of the card
    int numClasses = 0;
    QStringList classes;
    std::vector<Rgb> palette;
    InputSpec input;
    InferenceDefaults defaults;
    PspnetSpec pspnet;
    bool randomInit = false;  // build the architecture without weights: outputs are "untrained"
    QJsonObject raw;          // the card as read, for fields this version does not know

    QString weightsPath() const;
    // SHA-256 over the card's canonical JSON and the weights file: two runs with equal
    // fingerprints used the same model. Reads the weights once (cached by callers).
    Result<QByteArray> fingerprint() const;
};

} // namespace SegScale::Model
