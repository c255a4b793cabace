#include "pipeline/preprocessor.h"

#include <opencv2/imgproc.hpp>

namespace SegScale::Pipeline {

cv::Mat Preprocessor::toNetworkImage(const cv::Mat &bgr, Model::ColorOrder order)
{
    CV_Assert(bgr.type() == CV_8UC3);
    // A fresh matrix for the swap: cvtColor into a header of `bgr` would swap the caller's
    // pixels in place (the overlay is drawn from them later).
    cv::Mat ordered;
    if (order == Model::ColorOrder::RGB)
        cv::cvtColor(bgr, ordered, cv::COLOR_BGR2RGB);
    else
        ordered = bgr;
    // np.float32(image) in the official loader: exact, every 8-bit value is a float.
    cv::Mat image;
    ordered.convertTo(image, CV_32F);
    return image;
}

cv::Mat Preprocessor::scaleAndPad(const cv::Mat &image, const ScalePlan &level, const std::array<float, 3> &mean)
{
    CV_Assert(image.type() == CV_32FC3);
    // Resizing the float image (not the 8-bit one) is what test.py does: OpenCV's uint8
    // path is fixed point and rounds every pixel to an integer, which moves labels.
    cv::Mat scaled;
    cv::resize(image, scaled, cv::Size(level.scaledWidth, level.scaledHeight), 0, 0, cv::INTER_LINEAR);
    if (level.padTop == 0 && level.padBottom == 0 && level.padLeft == 0 && level.padRight == 0)
        return scaled;
    cv::Mat padded;
    // On a float32 image the border is the exact mean (the card's floats), as in test.py.
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
        const float *row = padded.ptr<float>(window.y + y) + 3 * window.x;
        const size_t o = static_cast<size_t>(y) * static_cast<size_t>(crop);
        for (int x = 0; x < crop; ++x) {
            // Subtract then divide, in float32, as torch's sub_(m).div_(s) does.
            c0[o + x] = (row[3 * x + 0] - m0) / s0;
            c1[o + x] = (row[3 * x + 1] - m1) / s1;
            c2[o + x] = (row[3 * x + 2] - m2) / s2;
        }
    }
}

} // namespace SegScale::Pipeline
