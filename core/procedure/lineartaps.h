#pragma once
// LinearTaps: the source taps and float32 weights of OpenCV's cv::resize(INTER_LINEAR)
// along one axis of a float image (imgproc/src/resize.cpp, resizeGeneric): for output
// position d, the source coordinate (d + 0.5) * in/out - 0.5 computed in double and
// rounded to float, split into an integer tap and a fractional weight. Columns clamp a
// tap off either border to the border pixel with weight 1; rows keep their weights and
// only clip both taps into the image (OpenCV does exactly this asymmetric thing).
//
// One definition for both combines: DeviceCombiner uploads these as tensors, the host's
// BandCombine walks them row by row. Whoever computes `first * w0 + second * w1` in
// float32 with two roundings then gets cv::resize's numbers bit for bit.
//
// An exact 2x reduction on both axes is not a linear resize in OpenCV (it switches to
// INTER_AREA's 2x2 mean), and the same size is a copy: halfSize() and the callers say so.

#include <cstdint>
#include <vector>

namespace SegScale::Procedure {

struct LinearTaps {
    std::vector<int64_t> first, second;  // source indices, inside [0, in)
    std::vector<float> w0, w1;           // first * w0 + second * w1

    enum class Axis { Columns, Rows };
    static LinearTaps compute(int64_t in, int64_t out, Axis axis);

    // cv::resize turns INTER_LINEAR at exactly half size on both axes into INTER_AREA's
    // fast path: ((a00 + a01) + a10) + a11, times 0.25f.
    static bool halfSize(int64_t inHeight, int64_t inWidth, int64_t outHeight, int64_t outWidth)
    {
        return inHeight == 2 * outHeight && inWidth == 2 * outWidth;
    }
};

} // namespace SegScale::Procedure
