#pragma once
// SegmentOptions: every knob of one segmentation run, with in-class defaults; the CLI,
// the GUI and a study's settings all fill the same struct (whisper_full_params style).
// fromCard() takes the model's own defaults (scales, crop, base size, flip, stride).

#include "model/modelcard.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace SegScale::Pipeline {

enum class EngineMode { Pipelined, Sequential };
// The network's arithmetic type. fp16 needs CUDA (LibTorch has no half-precision CPU
// convolutions); bf16 runs anywhere. Both change labels at some pixels: `segscale bench`
// measures their agreement with fp32, nothing assumes it.
enum class Precision { Float32, Float16, BFloat16 };
// Where the per-image combine (accumulate, resize, sum, argmax) runs: OpenCV on the host,
// or LibTorch tensors on the network's device (CUDA keeps the probabilities on the GPU and
// copies back only the label map). Auto = tensors on CUDA, OpenCV on the CPU.
enum class CombineMode { Auto, Host, Tensor };

struct SegmentOptions {
    // The reference procedure's parameters (DESIGN.md, "The inference procedure").
    QList<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;
    bool flip = true;
    double strideRate = 2.0 / 3.0;

    // How the work is scheduled. The schedule changes no label; the graph optimisation,
    // the batch size on the CPU, the precision and the tensor combine may flip near-tie
    // pixels (DESIGN.md: "tiny float differences may flip a handful of near-tie pixels").
    EngineMode mode = EngineMode::Pipelined;
    // Freeze / fold batch norms when loading (the optimised graph). Unset: on for the
    // pipelined engine, off for the sequential mode, which keeps the original loop —
    // the model as the reference code runs it, one window and its flip at a time — as
    // the baseline every speed comparison is made against.
    std::optional<bool> optimizeGraph;
    bool optimizedGraph() const { return optimizeGraph.value_or(mode == EngineMode::Pipelined); }
    Precision precision = Precision::Float32;
    CombineMode combine = CombineMode::Auto;
    bool tensorCombine() const
    {
        return combine == CombineMode::Tensor || (combine == CombineMode::Auto && onCuda());
    }
    bool onCuda() const { return device.startsWith(QLatin1StringView("cuda")); }
    // Windows per forward pass (pipelined). 0 = automatic: 1 on the CPU, where oneDNN picks
    // batch-size-dependent kernels (labels could then differ from the sequential reference
    // at near-tie pixels) and bigger batches gain nothing; 8 on CUDA, where they pay.
    int batch = 0;
    int effectiveBatch() const { return batch > 0 ? batch : (onCuda() ? 16 : 1); }
    QString device = QStringLiteral("cpu");
    int threads = 0;        // LibTorch intra-op threads; 0 = all cores
    int fetchAhead = 4;     // images fetched/decoded ahead of the network
    // Images between pre-processing and combine (bounds memory). 0 = automatic: 2 on the
    // CPU (the network is the bottleneck), 8 on CUDA (enough windows queued that the GPU
    // never waits for the next image's pre-processing).
    int imagesInFlight = 0;
    int effectiveImagesInFlight() const { return imagesInFlight > 0 ? imagesInFlight : (onCuda() ? 8 : 2); }
    // Bytes the images in flight may hold together (pipelined; Engine::bytesInFlight says
    // what one image holds). 0 = automatic: half of what the process may use
    // (MemoryBudget::machineDefault()). An image that needs more fails alone as too-large.
    qint64 memoryBudget = 0;

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

// "0.5,0.75,1,1.25": how scale lists are written on the command line and in reports.
inline QString scalesText(const QList<double> &scales)
{
    QStringList parts;
    for (double s : scales)
        parts << QString::number(s);
    return parts.join(QLatin1Char(','));
}

} // namespace SegScale::Pipeline
