#pragma once
// Benchmark: the seed paper's Tables 1-3 for this engine (`segscale bench`). For one
// scale set, on the same images and the same loaded network, it measures
//  - network-only: WindowInference over exactly the windows the procedure needs, batched
//    as the pipelined engine batches them, inputs normalised beforehand — the limit any
//    schedule can approach;
//  - the Engine in Sequential mode (the original one-window loop, on the baseline
//    network: by default the model as the reference code runs it, not optimised, fp32)
//    and in Pipelined mode (on the network as loaded for speed);
// and measures how many pixels the two label alike, since a fast wrong answer is no
// result: an fp32 optimised graph may flip a handful of near-tie pixels, fp16/bf16 more
// (that agreement is what the bench reports for them). measureRss() runs a long
// pipelined stream to show that memory stays flat.
// Not thread-safe: one measurement at a time (they would disturb each other anyway).

#include "base/result.h"
#include "model/network.h"
#include "pipeline/runstats.h"
#include "pipeline/segmentoptions.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace SegScale::Pipeline {

// An input kept encoded in memory, so that the engines' decode stage is part of the
// measurement but no disk is.
struct BenchImage {
    QString name;
    QByteArray bytes;
    int width = 0, height = 0;  // filled by Benchmark::setImages
};

struct ScaleSetResult {
    QList<double> scales;
    int images = 0;
    long long windows = 0;  // over all images; a window and its flip count once
    double networkOnlySeconds = 0;
    long long networkOnlyPasses = 0;
    RunStats sequential, pipelined;
    long sequentialPeakRssKiB = 0, pipelinedPeakRssKiB = 0;
    bool peakRssPerRun = true;  // false: the kernel refused a reset, peaks are the process's
    int imagesCompared = 0;
    int imagesDiffering = 0;
    long long pixelsDiffering = 0;
    long long pixelsCompared = 0;

    bool labelsIdentical() const { return imagesCompared == images && imagesDiffering == 0; }
    // Fraction of the compared pixels that both modes label alike (0 when none compared).
    double agreement() const
    {
        return pixelsCompared ? 1.0 - static_cast<double>(pixelsDiffering) / static_cast<double>(pixelsCompared) : 0.0;
    }
    double windowsPerImage() const { return images ? static_cast<double>(windows) / images : 0; }
    double networkOnlyPerImage() const { return images ? networkOnlySeconds / images : 0; }
    double sequentialPerImage() const;
    double pipelinedPerImage() const;
    double speedup() const;          // sequential / pipelined time
    double fractionOfLimit() const;  // network-only / pipelined time: 1.0 = the network never waits
    QJsonObject toJson() const;
};

struct RssResult {
    std::vector<int> checkpoints;  // image counts at which the RSS was read
    std::vector<long> rssKiB;      // RunStats::currentRssKiB() as each checkpoint image was reported
    RunStats stats;
    double ratio() const;          // last / first checkpoint
    QJsonObject toJson() const;
};

// Peak resident memory of a pipelined run over pictures of one size (`segscale bench
// --rss-megapixels`): with the banded combine it should not grow with the picture.
struct SizeRssResult {
    int width = 0, height = 0, images = 0;
    long startRssKiB = 0;   // before the run: the model, the libraries
    long peakRssKiB = 0;    // during the run
    bool peakRssPerRun = true;
    RunStats stats;
    double megapixels() const { return static_cast<double>(width) * height / 1e6; }
    // The combine stage's busy seconds per megapixel: wall time of niced threads that run
    // in the network's gaps, so on a loaded machine far more than the CPU time
    // (CombineBenchmark measures that).
    double combineBusySecondsPerMegapixel() const;
    QJsonObject toJson() const;
};

class Benchmark {
public:
    // options: everything but the scales, which each measurement names. network runs
    // the network-only limit and the pipelined engine; baseline (default: network) runs
    // the sequential mode.
    Benchmark(std::shared_ptr<const Model::Network> network, SegmentOptions options,
              std::shared_ptr<const Model::Network> baseline = nullptr);

    // Decodes each image once (to know its windows and to refuse a bad input up front).
    Result<void> setImages(std::vector<BenchImage> images);
    const std::vector<BenchImage> &images() const { return m_images; }

    // One forward pass at each batch shape the runs use, so that no measurement pays for
    // the first-call set-up of the convolution primitives.
    void warmUp();
    // repeats > 1: every time is the best of that many runs, the modes interleaved.
    Result<ScaleSetResult> measure(const QList<double> &scales, int repeats = 1);
    // A pipelined stream of max(checkpoints) images cycling over the inputs at scale 1.
    Result<RssResult> measureRss(std::vector<int> checkpoints);

    // A pipelined run over `images` synthetic pictures of width x height, on the options'
    // scales; the peak RSS is the run's own (VmHWM reset before it).
    Result<SizeRssResult> measureRssAtSize(int width, int height, int images);
    // The picture size --rss-megapixels uses: 4:3 photos below 20 MP, 2:1 panoramas from
    // 20 MP (an 8K x 4K panorama is 32 MP).
    static std::pair<int, int> sizeForMegapixels(double megapixels);

    // Deterministic street-like pictures (sky, facades, road, a few boxes), PNG-encoded:
    // the fallback when no photos are at hand.
    static std::vector<BenchImage> syntheticImages(int count, int width, int height);

    std::function<void(const QString &)> onProgress;

private:
    void progress(const QString &message) const;
    Result<double> networkOnly(const QList<double> &scales, long long &windows, long long &passes) const;

    std::shared_ptr<const Model::Network> m_network;
    std::shared_ptr<const Model::Network> m_baseline;
    SegmentOptions m_options;
    std::vector<BenchImage> m_images;
};

} // namespace SegScale::Pipeline
