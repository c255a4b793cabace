#pragma once
// Preprocessor: the pixel side of the reference procedure, up to the network input.
// As the official code (hszhao/semseg util/dataset.py, then tool/test.py): the decoded
// 8-bit image is put in the network's colour order and converted to float32 once
// (`image = np.float32(image)`); every pyramid level is a bilinear resize of that float
// image, padded with the exact float mean colour (cv2.copyMakeBorder on a float32 array),
// and each window is normalised ((x - mean) / std in float32, CHW). Stateless and
// thread-safe.

#include "model/modelcard.h"
#include "pipeline/tiling.h"

#include <opencv2/core/mat.hpp>

namespace SegScale::Pipeline {

class Preprocessor {
public:
    // The decoder gives 8-bit BGR; returns CV_32FC3 in the network's channel order.
    static cv::Mat toNetworkImage(const cv::Mat &bgr, Model::ColorOrder order);
    // image: CV_32FC3 from toNetworkImage. Resize to the level's size (float INTER_LINEAR)
    // and pad with the float mean colour; returns CV_32FC3.
    static cv::Mat scaleAndPad(const cv::Mat &image, const ScalePlan &level, const std::array<float, 3> &mean);
    // padded: a level from scaleAndPad. Writes 3 x crop x crop floats at dst:
    // ((pixel - mean) / std), channel-planar.
    static void normaliseWindow(const cv::Mat &padded, const Window &window, int crop, const Model::InputSpec &input,
                                float *dst);
};

} // namespace SegScale::Pipeline
