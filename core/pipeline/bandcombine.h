#pragma once
// BandCombine: the last step of the image combine on the host — every level's divided,
// un-padded probability map (small: its size is bounded by the base size, not by the
// photo) resized to the image size with cv::resize's INTER_LINEAR, the levels summed in
// scale order and divided by their number, argmax and class counts — done one band of
// output rows at a time, so that memory is bounded by a band, never by the photo times
// its classes times its scales (a 12 MP photo with 150 classes at 4 scales used to need
// 4 x 7.2 GB of float maps).
//
// Bit for bit the whole-image combine: each output value is made with the arithmetic
// cv::resize uses for a float image (Procedure::LinearTaps: the same taps and float
// weights, a horizontal pass then a vertical one, each a * w0 + b * w1 with two
// roundings; INTER_AREA's 2x2 mean at exactly half size; a copy at the same size), then
// summed, scaled by the float 1/n (OpenCV's `mat /= n`) and compared with ties to the
// lowest class. The band size and the number of threads change no label.
//
// Bands run in parallel through cv::parallel_for_, so they use OpenCV's threads: the
// pipelined CPU run keeps OpenCV single-threaded (the network has the cores), other
// callers get all of them. Each worker holds two horizontally resized source rows per
// level and a few pixels' sums: scratchBytes().

#include "pipeline/imagecombiner.h"

#include <opencv2/core/mat.hpp>

#include <cstddef>
#include <vector>

namespace SegScale::Pipeline {

class BandCombine {
public:
    // levels: in scale order, each scaledH x scaledW, CV_32FC(numClasses).
    // Throws std::invalid_argument on an empty or mismatched input.
    static Segmentation run(const std::vector<cv::Mat> &levels, cv::Size size, int numClasses, int bandRows = 0);

    // Output rows per band when none is asked for: small enough to balance the threads,
    // large enough that re-making a band's first source rows costs nothing.
    static constexpr int kDefaultBandRows = 32;
    // Bytes one worker holds besides the inputs and the label map.
    static std::size_t scratchBytes(int levels, int width, int numClasses);

    // Rows [rowBegin, rowEnd) of cv::resize(src, size, 0, 0, cv::INTER_LINEAR) for a float
    // image with any number of channels, written to dst (rowEnd - rowBegin x size.width,
    // src's type), from the source rows they need only. What run() does per level, on
    // its own: the test that it is cv::resize bit for bit.
    static void resizeRows(const cv::Mat &src, cv::Size size, int rowBegin, int rowEnd, cv::Mat &dst);
};

} // namespace SegScale::Pipeline
