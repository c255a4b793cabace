#pragma once
// DevicePyramid: the pixel side of the reference procedure on a device, for the
// standalone GPU benchmark (tests/bench/gpu), which has no OpenCV — the app itself keeps
// Pipeline::Preprocessor. One pyramid level of an 8-bit image (bilinear resize, then
// mean-colour padding, pad/2 top-left and the rest bottom-right, as test.py does with
// cv2.copyMakeBorder) and its crop windows, normalised ((x - mean) / std in float32) and
// cast to the network's dtype.
//
// The resize approximates cv2's uint8 INTER_LINEAR: OpenCV computes 8-bit images in
// fixed point (11-bit weights), this resizes the float image with OpenCV's float formula
// (DeviceCombiner::resizeLinear) and rounds, so a pixel may differ by one grey level.
// The normalisation is exact: the same padded image gives the same windows, bit for bit.
// Stateless; Qt- and OpenCV-free.

#include "procedure/tiling.h"

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <array>

namespace SegScale::Procedure {

class DevicePyramid {
public:
    // imageU8: H x W x 3 uint8 on any device, channels in the network's order. Returns the
    // level's padded image, 3 x paddedHeight x paddedWidth uint8 (channels first) on the
    // same device; the padding is the mean colour rounded to 8 bits (half to even, as
    // OpenCV's saturate_cast does).
    static at::Tensor level(const at::Tensor &imageU8, const ScalePlan &level, const std::array<float, 3> &mean);

    // paddedU8: a level from level(). Returns the level's windows in the plan's order,
    // K x 3 x crop x crop of dtype on the same device.
    static at::Tensor windows(const at::Tensor &paddedU8, const ScalePlan &level, const std::array<float, 3> &mean,
                              const std::array<float, 3> &std, c10::ScalarType dtype);
};

} // namespace SegScale::Procedure
