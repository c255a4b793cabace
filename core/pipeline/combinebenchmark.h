#pragma once
// CombineBenchmark: the host combine's cost on its own, before and after the bands
// (`segscale bench --rss-megapixels`). One image size, one scale set, one class count:
// the same synthetic window probabilities go into two ImageCombiners; one finishes
// band by band (finish(), what the engine runs), the other with whole-image maps
// (finishFullMap(), the combine as it was). Both run on one OpenCV thread, as in the
// pipelined CPU run, and are timed in that thread's CPU seconds (independent of the
// machine's load; the page faults of the big maps included) from the first level's
// division to the label map; the windows' accumulation, the same for both, is left out. The labels
// and compositions are compared bit for bit.
//
// The whole-image combine holds levels x pixels x classes floats; it is run only when
// that fits in `fullMapLimit` bytes, and reported as skipped (with what it would need)
// otherwise — which is the point of the bands.

#include "pipeline/segmentoptions.h"

#include <QJsonObject>

#include <cstddef>
#include <optional>

namespace SegScale::Pipeline {

struct CombineTiming {
    int width = 0, height = 0, classes = 0;
    QList<double> scales;
    double bandedSeconds = 0;
    std::optional<double> fullMapSeconds;  // unset: skipped, it would need fullMapBytes
    std::size_t fullMapBytes = 0;
    bool identical = false;                // labels and composition (only when both ran)

    double megapixels() const { return static_cast<double>(width) * height / 1e6; }
    double bandedPerMegapixel() const { return bandedSeconds / megapixels(); }
    std::optional<double> fullMapPerMegapixel() const
    {
        return fullMapSeconds ? std::optional<double>(*fullMapSeconds / megapixels()) : std::nullopt;
    }
    QJsonObject toJson() const;
};

class CombineBenchmark {
public:
    // options: scales, base size, crop and stride of the plan.
    static CombineTiming measure(int width, int height, int numClasses, const SegmentOptions &options, std::size_t fullMapLimit);
    // What the whole-image combine holds at its peak: the running sum, one level's
    // resized map and the levels' own maps.
    static std::size_t fullMapBytes(int width, int height, int numClasses);
};

} // namespace SegScale::Pipeline
