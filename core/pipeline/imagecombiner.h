#pragma once
// ImageCombiner: the "image combine" of the reference procedure for one image. Window
// probabilities are accumulated per pyramid level with a per-pixel count; each level is
// divided by its count, un-padded and resized (bilinear) to the image size; the levels
// are summed in scale order and divided by their number; argmax (ties to the lowest
// class index) gives the label map, whose class fractions are the composition.
//
// Float32 throughout. Levels are independent until the final sum, so finishLevel() may
// run for different levels on different threads at once; the sum itself is done in
// scale order by finish(), which keeps results bit-identical whatever the schedule.
//
// Memory is bounded by the base size and a band of rows, not by the photo: a finished
// level keeps only its divided, un-padded map at its own (scaled) size, a view into its
// accumulator, and finish() resizes, sums and takes the argmax band by band
// (BandCombine). finishFullMap() is the whole-image combine the engine used before —
// every level resized to a full H x W x C map — kept as the reference the bands are
// tested against, bit for bit, and as the baseline `segscale bench` measures.

#include "pipeline/tiling.h"

#include <opencv2/core/mat.hpp>

#include <vector>

namespace SegScale::Pipeline {

struct Segmentation {
    cv::Mat labels;                    // CV_8U, or CV_16U when there are more than 255 classes
    std::vector<double> composition;   // per class, fractions of the image's pixels
};

class ImageCombiner {
public:
    ImageCombiner(ImagePlan plan, int numClasses);

    // probs: crop x crop x C float32, channels last. Windows of one level must arrive in
    // the plan's order (they do: both engines keep it); levels may interleave.
    void addWindow(int level, int window, const float *probs);
    bool levelComplete(int level) const;
    // Divide the un-padded region in place; frees the count, keeps the level's map.
    void finishLevel(int level);
    // Resize, sum, argmax band by band. Once per combiner.
    Segmentation finish();
    // The same result from whole-image maps (reference and benchmark baseline only: its
    // memory grows with pixels x classes x scales). Once per combiner, instead of finish().
    Segmentation finishFullMap();

    // Output rows per band in finish(); 0 = BandCombine's default.
    void setBandRows(int rows) { m_bandRows = rows; }

    const ImagePlan &plan() const { return m_plan; }
    // Bytes the combine of one image holds at most, with `workers` bands in parallel:
    // every level's accumulator and count, the band workers' scratch and the label map.
    static size_t estimateBytes(const ImagePlan &plan, int numClasses, int workers = 1);
    static Segmentation argmax(const cv::Mat &probabilities, int numClasses);

private:
    ImagePlan m_plan;
    int m_classes;
    std::vector<cv::Mat> m_accumulators;  // per level: paddedH x paddedW x C
    std::vector<cv::Mat> m_counts;        // per level: paddedH x paddedW, CV_32F
    std::vector<int> m_nextWindow;
    std::vector<cv::Mat> m_levels;        // per level once finished: scaledH x scaledW x C, a view into its accumulator
    int m_bandRows = 0;
};

} // namespace SegScale::Pipeline
