#pragma once
// The convolution + batch norm pair that every PSPNet block is made of, and its folding
// for inference. Internal to the native PSPNet (LibTorch modules): include only from
// .cpp files that already pay for LibTorch.

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace SegScale::Model::PspNetConvBn {

// bn(conv(x)) — or, once folded, conv(x) alone, which then carries the norm in its
// weight and bias.
at::Tensor apply(const at::Tensor &x, torch::nn::Conv2d &conv, torch::nn::BatchNorm2d &bn, bool folded);

// Scales conv's weight by the norm's gamma / sqrt(var + eps) and gives conv the bias
// beta - mean * scale (an unregistered member, so the module's state-dict keys stay
// those of the official checkpoints). The norm is left untouched and unused afterwards.
void fold(torch::nn::Conv2d &conv, torch::nn::BatchNorm2d &bn);

} // namespace SegScale::Model::PspNetConvBn
