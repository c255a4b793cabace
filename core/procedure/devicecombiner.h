#pragma once
// DeviceCombiner: the "image combine" of the reference procedure for one image, on the
// device that computed the window probabilities — the tensor twin of
// Pipeline::ImageCombiner, with the same arithmetic in the same order (float32
// accumulators, a per-pixel window count, the count division on the un-padded region
// only, a bilinear resize with OpenCV's INTER_LINEAR formula for float images, levels
// summed in scale order, argmax with ties to the lowest class index). Nothing leaves
// the device but the final label map and the class counts.
//
// Memory does not grow with the photo: a finished level keeps only its small divided,
// un-padded map (scaled size, bounded by the base size; divided in place in its
// accumulator), and finish() resizes, sums and
// takes the argmax one band of output rows at a time, so no image-sized map of every
// class is ever made. Each band's rows are computed with exactly the arithmetic the whole
// resize would use (the row taps come from the same formula), so the labels and counts
// do not depend on the band size: a band of every row is the whole-image combine.
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
    // Divide by the count and remove the padding; frees the level's accumulator and keeps
    // the level's C x scaledH x scaledW map for finish().
    void finishLevel(int level);

    struct Output {
        at::Tensor labels;                // H x W on the CPU: uint8, or int16 above 255 classes
        std::vector<double> composition;  // per class, fraction of the image's pixels
    };
    // Finishes any level not finished yet (all windows must have arrived); then, band by
    // band, resizes every level to the band's rows, sums the levels in scale order,
    // divides by their number and takes the argmax. Once per combiner.
    Output finish();

    // Output rows per band in finish(). 0 (the default) = automaticBandRows().
    void setBandRows(int rows) { m_bandRows = rows; }
    // Rows such that one level's band (C x rows x width float32) is about 32 MiB: big
    // enough that a GPU kernel has work, small beside any device's memory.
    static int automaticBandRows(int width, int numClasses);

    const ImagePlan &plan() const { return m_plan; }
    c10::Device device() const { return m_device; }

    // Device bytes one image in flight costs at most: every level's accumulator (which
    // becomes its divided map) and count, one band's running sum, resize temporaries and argmax, and
    // the label map. bandRows 0 = automaticBandRows().
    static std::size_t estimateBytes(const ImagePlan &plan, int numClasses, int bandRows = 0);

    // C x h x w float32 -> C x outH x outW float32 on the same device, as OpenCV's
    // cv::resize(INTER_LINEAR) computes a float image: source coordinate
    // (d + 0.5) * in/out - 0.5 in double, rounded to float, split into an integer tap and
    // a weight (columns clamped to the border with weight 1; rows clamped to the border
    // with the weights kept), a horizontal pass then a vertical one, each a * w0 + b * w1
    // in float32 with separate roundings; an exact 2x reduction on both axes is the
    // 2x2 mean ((a + b + c + d) * 0.25, as OpenCV then switches to INTER_AREA); the same
    // size is returned as is.
    static at::Tensor resizeLinear(const at::Tensor &chw, int64_t outHeight, int64_t outWidth);
    // Rows [rowBegin, rowEnd) of resizeLinear(chw, outHeight, outWidth), bit for bit, from
    // only the source rows they need.
    static at::Tensor resizeLinearRows(const at::Tensor &chw, int64_t outHeight, int64_t outWidth, int64_t rowBegin,
                                       int64_t rowEnd);

private:

    ImagePlan m_plan;
    int m_classes;
    c10::Device m_device;
    std::vector<at::Tensor> m_accumulators;  // per level: C x paddedH x paddedW
    std::vector<at::Tensor> m_counts;        // per level: paddedH x paddedW
    std::vector<int> m_nextWindow;
    std::vector<at::Tensor> m_regions;       // per level once finished: C x scaledH x scaledW, a view into its accumulator
    int m_bandRows = 0;
    bool m_done = false;
};

} // namespace SegScale::Procedure
