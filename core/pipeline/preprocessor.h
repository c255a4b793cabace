#pragma once
// Preprocessor: the pixel side of the reference procedure, up to the network input —
// colour order, the bilinear resize of one pyramid level, the mean-colour padding (on
// the 8-bit image, as cv2.copyMakeBorder does in test.py) and the normalisation of a
// window ((x - mean) / std in float32, CHW). Stateless and thread-safe.

#include "model/modelcard.h"
#include "pipeline/tiling.h"

#include <opencv2/core/mat.hpp>

namespace SegScale::Pipeline {

class Preprocessor {
public:
    // The decoder gives BGR; a network that wants RGB gets the channels swapped once.
    static cv::Mat toNetworkOrder(const cv::Mat &bgr, Model::ColorOrder order);
    // Resize to the level's size (INTER_LINEAR on uint8) and pad with the mean colour.
    static cv::Mat scaleAndPad(const cv::Mat &image, const ScalePlan &level, const std::array<float, 3> &mean);
    // Writes 3 x crop x crop floats at dst: ((pixel - mean) / std), channel-planar.
    static void normaliseWindow(const cv::Mat &padded, const Window &window, int crop, const Model::InputSpec &input,
                                float *dst);
};

} // namespace SegScale::Pipeline
