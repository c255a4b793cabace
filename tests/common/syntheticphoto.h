#pragma once
// A deterministic photo-like picture for tests that need pixels but no real photo:
// smooth gradients, a few discs and noise — structure at several scales, so that
// resizes, padding and window overlaps all have something to get wrong.

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace SegScale::Testing {

inline cv::Mat syntheticPhoto(int w, int h, int seed)
{
    cv::Mat img(h, w, CV_8UC3);
    cv::RNG rng(static_cast<uint64>(seed));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / w), static_cast<uchar>(y * 255 / h),
                                                static_cast<uchar>((x + y) * 127 / (w + h)));
    for (int i = 0; i < 6; ++i)
        cv::circle(img, cv::Point(rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(3, std::max(4, w / 4)),
                   cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), -1);
    cv::Mat noise(h, w, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 30);
    img += noise;
    return img;
}

} // namespace SegScale::Testing
