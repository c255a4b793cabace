#include "procedure/devicepyramid.h"

#include "procedure/devicecombiner.h"

#include <torch/torch.h>


namespace SegScale::Procedure {

at::Tensor DevicePyramid::level(const at::Tensor &image, const ScalePlan &level, const std::array<float, 3> &mean)
{
    TORCH_CHECK(image.dim() == 3 && image.size(2) == 3 &&
                    (image.scalar_type() == torch::kByte || image.scalar_type() == torch::kFloat),
                "DevicePyramid: expected an H x W x 3 uint8 or float32 image, got ", image.sizes(), " ",
                image.scalar_type());
    c10::InferenceMode guard;
    // np.float32(image) in the official loader; the resize and the border work on floats.
    const at::Tensor chw = image.permute({2, 0, 1}).to(torch::kFloat);
    const at::Tensor scaled = DeviceCombiner::resizeLinear(chw, level.scaledHeight, level.scaledWidth);
    if (level.paddedHeight == level.scaledHeight && level.paddedWidth == level.scaledWidth)
        return scaled.contiguous();
    at::Tensor padded = torch::empty({3, level.paddedHeight, level.paddedWidth}, chw.options());
    for (int64_t c = 0; c < 3; ++c)
        padded[c].fill_(mean[static_cast<size_t>(c)]);
    padded.narrow(1, level.padTop, level.scaledHeight).narrow(2, level.padLeft, level.scaledWidth).copy_(scaled);
    return padded;
}

at::Tensor DevicePyramid::windows(const at::Tensor &padded, const ScalePlan &level, const std::array<float, 3> &mean,
                                  const std::array<float, 3> &std, c10::ScalarType dtype)
{
    TORCH_CHECK(padded.dim() == 3 && padded.size(0) == 3 && padded.size(1) == level.paddedHeight &&
                    padded.size(2) == level.paddedWidth && padded.scalar_type() == torch::kFloat,
                "DevicePyramid: expected a 3 x ", level.paddedHeight, " x ", level.paddedWidth, " float32 level, got ",
                padded.sizes(), " ", padded.scalar_type());
    c10::InferenceMode guard;
    std::vector<at::Tensor> crops;
    crops.reserve(level.windows.size());
    for (const Window &w : level.windows)
        crops.push_back(padded.narrow(1, w.y, level.crop).narrow(2, w.x, level.crop));
    const auto floats = torch::TensorOptions().dtype(torch::kFloat);
    // Subtract then divide, in float32, as Preprocessor::normaliseWindow (and torch's
    // sub_(m).div_(s) in test.py) does.
    const at::Tensor m = torch::tensor({mean[0], mean[1], mean[2]}, floats).view({1, 3, 1, 1}).to(padded.device(), true);
    const at::Tensor s = torch::tensor({std[0], std[1], std[2]}, floats).view({1, 3, 1, 1}).to(padded.device(), true);
    at::Tensor out = torch::stack(crops, 0).sub_(m).div_(s);
    return out.to(dtype);
}

} // namespace SegScale::Procedure
