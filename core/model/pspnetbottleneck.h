#pragma once
// One Bottleneck block of PSPNet's dilated ResNet (1x1, 3x3, 1x1 convolutions, expansion
// 4, stride on the 3x3 as in hszhao/semseg model/resnet.py). Submodule names follow that
// code so the state-dict keys are those of the official checkpoints: conv1, bn1, conv2,
// bn2, conv3, bn3, downsample.0, downsample.1. Internal to the native PSPNet: include only
// from .cpp files that already pay for LibTorch.

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace SegScale::Model {

class PspNetBottleneckImpl : public torch::nn::Module {
public:
    // stride applies to conv2 and the downsample; PSPNet's layer3/layer4 use stride 1 and
    // dilation 2/4 instead (conv2 padding = dilation keeps the size).
    PspNetBottleneckImpl(int inplanes, int planes, int stride, int dilation, bool downsample);

    at::Tensor forward(const at::Tensor &x);
    void foldBatchNorms();

    static constexpr int expansion = 4;

private:
    torch::nn::Conv2d m_conv1{nullptr}, m_conv2{nullptr}, m_conv3{nullptr}, m_downConv{nullptr};
    torch::nn::BatchNorm2d m_bn1{nullptr}, m_bn2{nullptr}, m_bn3{nullptr}, m_downBn{nullptr};
    bool m_folded = false;
};

TORCH_MODULE(PspNetBottleneck);

} // namespace SegScale::Model
