#include "procedure/devicepyramid.h"

#include "procedure/devicecombiner.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace SegScale::Procedure {

at::Tensor DevicePyramid::level(const at::Tensor &imageU8, const ScalePlan &level, const std::array<float, 3> &mean)
{
    TORCH_CHECK(imageU8.dim() == 3 && imageU8.size(2) == 3 && imageU8.scalar_type() == torch::kByte,
                "DevicePyramid: expected an H x W x 3 uint8 image, got ", imageU8.sizes(), " ", imageU8.scalar_type());
    c10::InferenceMode guard;
    const at::Tensor chw = imageU8.permute({2, 0, 1});
    at::Tensor scaled;
    if (chw.size(1) == level.scaledHeight && chw.size(2) == level.scaledWidth) {
        scaled = chw;
    } else {
        // Round half up, as OpenCV's fixed point does ((v + 2^21) >> 22).
        scaled = DeviceCombiner::resizeLinear(chw.to(torch::kFloat), level.scaledHeight, level.scaledWidth)
                     .add_(0.5f).floor_().clamp_(0.f, 255.f).to(torch::kByte);
    }
    if (level.paddedHeight == level.scaledHeight && level.paddedWidth == level.scaledWidth)
        return scaled.contiguous();
    at::Tensor padded = torch::empty({3, level.paddedHeight, level.paddedWidth}, imageU8.options());
    for (int64_t c = 0; c < 3; ++c) {
        const double v = std::nearbyint(static_cast<double>(mean[static_cast<size_t>(c)]));  // half to even
        padded[c].fill_(static_cast<int64_t>(std::clamp(v, 0.0, 255.0)));
    }
    padded.narrow(1, level.padTop, level.scaledHeight).narrow(2, level.padLeft, level.scaledWidth).copy_(scaled);
    return padded;
}

at::Tensor DevicePyramid::windows(const at::Tensor &paddedU8, const ScalePlan &level, const std::array<float, 3> &mean,
                                  const std::array<float, 3> &std, c10::ScalarType dtype)
{
    TORCH_CHECK(paddedU8.dim() == 3 && paddedU8.size(0) == 3 && paddedU8.size(1) == level.paddedHeight &&
                    paddedU8.size(2) == level.paddedWidth && paddedU8.scalar_type() == torch::kByte,
                "DevicePyramid: expected a 3 x ", level.paddedHeight, " x ", level.paddedWidth, " uint8 level, got ",
                paddedU8.sizes(), " ", paddedU8.scalar_type());
    c10::InferenceMode guard;
    std::vector<at::Tensor> crops;
    crops.reserve(level.windows.size());
    for (const Window &w : level.windows)
        crops.push_back(paddedU8.narrow(1, w.y, level.crop).narrow(2, w.x, level.crop));
    const auto floats = torch::TensorOptions().dtype(torch::kFloat);
    // Subtract then divide, in float32, as Preprocessor::normaliseWindow (and torch's
    // sub_(m).div_(s) in test.py) does.
    const at::Tensor m = torch::tensor({mean[0], mean[1], mean[2]}, floats).view({1, 3, 1, 1}).to(paddedU8.device(), true);
    const at::Tensor s = torch::tensor({std[0], std[1], std[2]}, floats).view({1, 3, 1, 1}).to(paddedU8.device(), true);
    at::Tensor out = torch::stack(crops, 0).to(torch::kFloat).sub_(m).div_(s);
    return out.to(dtype);
}

} // namespace SegScale::Procedure
