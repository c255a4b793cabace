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
    // Divide, un-pad, resize to the image size; frees the level's accumulator.
    void finishLevel(int level);
    Segmentation finish();

    const ImagePlan &plan() const { return m_plan; }
    // Bytes the accumulators hold at most: the memory one image in flight costs.
    static size_t estimateBytes(const ImagePlan &plan, int numClasses);
    static Segmentation argmax(const cv::Mat &probabilities, int numClasses);

private:
    ImagePlan m_plan;
    int m_classes;
    std::vector<cv::Mat> m_accumulators;  // per level: paddedH x paddedW x C
    std::vector<cv::Mat> m_counts;        // per level: paddedH x paddedW, CV_32F
    std::vector<int> m_nextWindow;
    std::vector<cv::Mat> m_resized;       // per level: H x W x C once finished
};

} // namespace SegScale::Pipeline
