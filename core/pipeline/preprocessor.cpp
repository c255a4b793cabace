#include "pipeline/preprocessor.h"

#include <opencv2/imgproc.hpp>

namespace SegScale::Pipeline {

cv::Mat Preprocessor::toNetworkOrder(const cv::Mat &bgr, Model::ColorOrder order)
{
    if (order == Model::ColorOrder::BGR)
        return bgr;
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

cv::Mat Preprocessor::scaleAndPad(const cv::Mat &image, const ScalePlan &level, const std::array<float, 3> &mean)
{
    cv::Mat scaled;
    cv::resize(image, scaled, cv::Size(level.scaledWidth, level.scaledHeight), 0, 0, cv::INTER_LINEAR);
    if (level.padTop == 0 && level.padBottom == 0 && level.padLeft == 0 && level.padRight == 0)
        return scaled;
    cv::Mat padded;
    // The border value is saturated to uint8 by OpenCV (rounded), exactly as in test.py.
    cv::copyMakeBorder(scaled, padded, level.padTop, level.padBottom, level.padLeft, level.padRight, cv::BORDER_CONSTANT,
                       cv::Scalar(mean[0], mean[1], mean[2]));
    return padded;
}

void Preprocessor::normaliseWindow(const cv::Mat &padded, const Window &window, int crop, const Model::InputSpec &input,
                                   float *dst)
{
    const size_t plane = static_cast<size_t>(crop) * static_cast<size_t>(crop);
    const float m0 = input.mean[0], m1 = input.mean[1], m2 = input.mean[2];
    const float s0 = input.std[0], s1 = input.std[1], s2 = input.std[2];
    float *c0 = dst, *c1 = dst + plane, *c2 = dst + 2 * plane;
    for (int y = 0; y < crop; ++y) {
        const auto *row = padded.ptr<std::uint8_t>(window.y + y) + 3 * window.x;
        const size_t o = static_cast<size_t>(y) * static_cast<size_t>(crop);
        for (int x = 0; x < crop; ++x) {
            // Subtract then divide, in float32, as torch's sub_(m).div_(s) does.
            c0[o + x] = (static_cast<float>(row[3 * x + 0]) - m0) / s0;
            c1[o + x] = (static_cast<float>(row[3 * x + 1]) - m1) / s1;
            c2[o + x] = (static_cast<float>(row[3 * x + 2]) - m2) / s2;
        }
    }
}

} // namespace SegScale::Pipeline
