#pragma once
// PSPNet's pyramid pooling module: for each bin size, adaptive average pooling to
// bin x bin, a 1x1 convolution to in/len(bins) channels, batch norm and ReLU, upsampled
// back (bilinear, align_corners=true) and concatenated with the input. Submodule names
// follow hszhao/semseg model/pspnet.py (features.N.1 conv, features.N.2 norm). Internal
// to the native PSPNet: include only from .cpp files that already pay for LibTorch.

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace SegScale::Model {

class PspNetPpmImpl : public torch::nn::Module {
public:
    PspNetPpmImpl(int inChannels, int reductionChannels, const std::vector<int> &bins);

    // N x in x H x W -> N x (in + bins * reduction) x H x W
    at::Tensor forward(const at::Tensor &x);
    void foldBatchNorms();

private:
    struct Branch {
        torch::nn::AdaptiveAvgPool2d pool{nullptr};
        torch::nn::Conv2d conv{nullptr};
        torch::nn::BatchNorm2d bn{nullptr};
    };
    std::vector<Branch> m_branches;
    bool m_folded = false;
};

TORCH_MODULE(PspNetPpm);

} // namespace SegScale::Model
