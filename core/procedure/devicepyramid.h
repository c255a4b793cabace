#pragma once
// DevicePyramid: the pixel side of the reference procedure on a device, for the
// standalone GPU benchmark (tests/bench/gpu), which has no OpenCV — the app itself keeps
// Pipeline::Preprocessor. As the official code (hszhao/semseg util/dataset.py converts
// the decoded image to float32, tool/test.py resizes and pads that float image): one
// pyramid level of the float32 image (bilinear resize with OpenCV's float INTER_LINEAR
// formula, DeviceCombiner::resizeLinear; then the exact float mean colour as padding,
// pad/2 top-left and the rest bottom-right, as cv2.copyMakeBorder) and its crop windows,
// normalised ((x - mean) / std in float32) and cast to the network's dtype.
// The same float image gives the same levels as Preprocessor up to float rounding of the
// resize (tested within 1e-4), and the same padded level the same windows, bit for bit.
// Stateless; Qt- and OpenCV-free.

#include "procedure/tiling.h"

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <array>

namespace SegScale::Procedure {

class DevicePyramid {
public:
    // image: H x W x 3, uint8 (the decoded photo, converted to float32 here, exactly) or
    // float32, on any device, channels in the network's order. Returns the level's padded
    // image, 3 x paddedHeight x paddedWidth float32 (channels first) on the same device;
    // the padding is the exact float mean colour.
    static at::Tensor level(const at::Tensor &image, const ScalePlan &level, const std::array<float, 3> &mean);

    // padded: a level from level(). Returns the level's windows in the plan's order,
    // K x 3 x crop x crop of dtype on the same device.
    static at::Tensor windows(const at::Tensor &padded, const ScalePlan &level, const std::array<float, 3> &mean,
                              const std::array<float, 3> &std, c10::ScalarType dtype);
};

} // namespace SegScale::Procedure
