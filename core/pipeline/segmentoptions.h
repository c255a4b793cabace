#pragma once
// SegmentOptions: every knob of one segmentation run, with in-class defaults; the CLI,
// the GUI and a study's settings all fill the same struct (whisper_full_params style).
// fromCard() takes the model's own defaults (scales, crop, base size, flip, stride).

#include "model/modelcard.h"

#include <QList>
#include <QString>

namespace SegScale::Pipeline {

enum class EngineMode { Pipelined, Sequential };

struct SegmentOptions {
    // The reference procedure's parameters (DESIGN.md, "The inference procedure").
    QList<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;
    bool flip = true;
    double strideRate = 2.0 / 3.0;

    // How the work is scheduled; none of these changes a label.
    EngineMode mode = EngineMode::Pipelined;
    // Windows per forward pass (pipelined). 0 = automatic: 1 on the CPU, where oneDNN picks
    // batch-size-dependent kernels (labels could then differ from the sequential reference
    // at near-tie pixels) and bigger batches gain nothing; 8 on CUDA, where they pay.
    int batch = 0;
    int effectiveBatch() const { return batch > 0 ? batch : (device.startsWith(QLatin1StringView("cuda")) ? 8 : 1); }
    QString device = QStringLiteral("cpu");
    int threads = 0;        // LibTorch intra-op threads; 0 = all cores
    int fetchAhead = 4;     // images fetched/decoded ahead of the network
    int imagesInFlight = 2; // images between pre-processing and combine (bounds memory)

    // Outputs and input handling.
    bool overlays = false;
    bool acceptDamaged = false;
    qint64 maxPixels = 120'000'000;

    static SegmentOptions fromCard(const Model::ModelCard &card)
    {
        SegmentOptions o;
        o.scales = card.defaults.scales;
        o.baseSize = card.defaults.baseSize;
        o.crop = card.defaults.crop;
        o.flip = card.defaults.flip;
        o.strideRate = card.defaults.strideRate;
        return o;
    }
};

} // namespace SegScale::Pipeline
