#pragma once
// DeviceCombiner: the "image combine" of the reference procedure for one image, on the
// device that computed the window probabilities — the tensor twin of
// Pipeline::ImageCombiner, with the same arithmetic in the same order (float32
// accumulators, a per-pixel window count, the count division on the un-padded region
// only, a bilinear resize with OpenCV's INTER_LINEAR formula for float images, levels
// summed in scale order, argmax with ties to the lowest class index). Nothing leaves
// the device but the final label map and the class counts.
//
// Qt- and OpenCV-free, like all of core/procedure. Thread-safety as ImageCombiner's:
// calls for different levels may overlap (finishLevel() for several levels on several
// threads at once included), calls for one level must not, and finish() runs alone.
// Every method runs under c10::InferenceMode.

#include "procedure/tiling.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace SegScale::Procedure {

class DeviceCombiner {
public:
    // numClasses: 2 .. 32767 (labels are int16 above 255 classes).
    DeviceCombiner(ImagePlan plan, int numClasses, c10::Device device);

    // probs: C x crop x crop float32 on the device (a view into a batch is fine). Windows
    // of one level must arrive in the plan's order; levels may interleave.
    void addWindow(int level, int window, const at::Tensor &probs);
    bool levelComplete(int level) const;
    // Divide by the count, remove the padding, resize to the image size; frees the level's
    // accumulator. Levels finished in scale order are summed at once (so at most one
    // H x W x C map per image is held); a level finished early waits for those before it.
    void finishLevel(int level);

    struct Output {
        at::Tensor labels;                // H x W on the CPU: uint8, or int16 above 255 classes
        std::vector<double> composition;  // per class, fraction of the image's pixels
    };
    // Finishes any level not finished yet (all windows must have arrived), sums the levels
    // in scale order, divides by their number and takes the argmax. Once per combiner.
    Output finish();

    const ImagePlan &plan() const { return m_plan; }
    c10::Device device() const { return m_device; }

    // Device bytes one image in flight costs at most when its levels finish in scale
    // order: every level's accumulator and count, the running sum, and one level's
    // resize (its horizontal pass, its output and a temporary of the same size).
    static std::size_t estimateBytes(const ImagePlan &plan, int numClasses);

    // C x h x w float32 -> C x outH x outW float32 on the same device, as OpenCV's
    // cv::resize(INTER_LINEAR) computes a float image: source coordinate
    // (d + 0.5) * in/out - 0.5 in double, rounded to float, split into an integer tap and
    // a weight (columns clamped to the border with weight 1; rows clamped to the border
    // with the weights kept), a horizontal pass then a vertical one, each a * w0 + b * w1
    // in float32 with separate roundings; an exact 2x reduction on both axes is the
    // 2x2 mean ((a + b + c + d) * 0.25, as OpenCV then switches to INTER_AREA); the same
    // size is returned as is.
    static at::Tensor resizeLinear(const at::Tensor &chw, int64_t outHeight, int64_t outWidth);

private:
    void foldFinishedLevels();

    ImagePlan m_plan;
    int m_classes;
    c10::Device m_device;
    std::vector<at::Tensor> m_accumulators;  // per level: C x paddedH x paddedW
    std::vector<at::Tensor> m_counts;        // per level: paddedH x paddedW
    std::vector<int> m_nextWindow;
    std::vector<at::Tensor> m_resized;       // per level: C x H x W, finished but not yet summed
    std::unique_ptr<bool[]> m_finished;      // not vector<bool>: levels are finished concurrently
    std::mutex m_sumMutex;                   // guards m_finished, m_summed, m_total
    std::size_t m_summed = 0;                // levels [0, m_summed) are in m_total
    at::Tensor m_total;
    bool m_done = false;
};

} // namespace SegScale::Procedure
