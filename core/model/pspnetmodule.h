#pragma once
// The PSPNet network as LibTorch modules, built exactly like hszhao/semseg
// model/pspnet.py: a dilated ResNet-50/101/152 with the 3-convolution "deep base" stem
// (output stride 8: layer3 dilation 2, layer4 dilation 4, both stride 1), the pyramid
// pooling module and the classifier head. Module names give state-dict keys identical
// to the official checkpoints (layer0.0.weight, layer1.0.downsample.1.running_mean,
// ppm.features.3.1.weight, cls.4.bias, ...); the training-only auxiliary head is not
// built. Inference only. Internal to the native PSPNet: include only from .cpp files that
// already pay for LibTorch; the rest of the code sees PspNetNetwork.

#include "model/pspnetbottleneck.h"
#include "model/pspnetppm.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>
#include <vector>

namespace SegScale::Model {

class PspNetModuleImpl : public torch::nn::Module {
public:
    // layers: 50, 101 or 152; zoomFactor: 1, 2, 4 or 8 (the card has checked both;
    // anything else throws c10::Error).
    PspNetModuleImpl(int layers, int classes, const std::vector<int> &bins = {1, 2, 3, 6}, int zoomFactor = 8);

    // N x 3 x H x W -> N x classes x h x w with h = int((H - 1) / 8 * zoom + 1), as the
    // official forward computes it (H = 8k + 1 gives exactly k * zoom + 1).
    at::Tensor forward(const at::Tensor &x);

    // Deterministic random weights (Kaiming normal, fan-out, for the convolutions; unit
    // batch norms), the same for the same seed on every machine.
    void randomInit(std::uint64_t seed);
    // Folds every batch norm into the convolution before it: ~one memory pass fewer per
    // convolution. The state dict then holds folded weights, not a checkpoint's.
    void foldBatchNorms();
    bool folded() const { return m_folded; }
    // Module::to(dtype) plus the folded biases, which are not registered parameters.
    void convertTo(c10::ScalarType dtype);

    static std::array<int, 4> blocksPerStage(int layers);

private:
    torch::nn::ModuleList makeStage(int &inplanes, int planes, int blocks, int stride, int dilation);

    std::array<torch::nn::Conv2d, 3> m_stemConv{nullptr, nullptr, nullptr};
    std::array<torch::nn::BatchNorm2d, 3> m_stemBn{nullptr, nullptr, nullptr};
    torch::nn::MaxPool2d m_stemPool{nullptr};
    std::vector<PspNetBottleneck> m_blocks;  // layer1..layer4 in order
    PspNetPpm m_ppm{nullptr};
    torch::nn::Conv2d m_clsConv{nullptr}, m_clsOut{nullptr};
    torch::nn::BatchNorm2d m_clsBn{nullptr};
    int m_zoomFactor = 8;
    bool m_folded = false;
};

TORCH_MODULE(PspNetModule);

} // namespace SegScale::Model
