#pragma once
// The ESPNet network (Mehta et al., ECCV 2018: ESPNet-C encoder + the light-weight RUM
// decoder) as LibTorch modules, built like the authors' sacmehta/ESPNet test/Model.py
// class ESPNet so that module names give their checkpoint's state-dict keys
// (encoder.level1.conv.weight, encoder.level3.7.d16.conv.weight, combine_l2_l3.1.bn.act.weight,
// up_l2.0.weight, classifier.weight, ...). Batch norms use eps = 1e-3 as theirs do.
//
// The bare network: input N x 3 x H x W already divided the authors' way, H and W
// multiples of 8; output N x classes x H x W logits. The padding and the authors' extra
// /255 live in EspNetNetwork. Internal: include only from .cpp files that pay for LibTorch.

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace SegScale::Model {

class EspNetModuleImpl : public torch::nn::Module {
public:
    // p, q: the depth multipliers (ESP blocks at 1/4 and 1/8 resolution); the published
    // Cityscapes checkpoint is p = 2, q = 8, 20 classes.
    EspNetModuleImpl(int classes, int p = 2, int q = 8);

    at::Tensor forward(const at::Tensor &x);

    // Deterministic random weights for cards with "random_init" (Kaiming normal for the
    // convolutions, unit batch norms), the same for the same seed everywhere.
    void randomInit(std::uint64_t seed);

    // BatchNorm + PReLU (the authors' BR); their DownSamplerB holds the same pair
    // directly rather than inside a BR, which only changes the key names.
    struct NormAct {
        torch::nn::BatchNorm2d bn{nullptr};
        torch::nn::PReLU act{nullptr};
        at::Tensor operator()(const at::Tensor &x);
    };
    // The ESP block: reduce, split into dilated branches (1, 2, 4, 8, 16), hierarchical
    // sums for de-gridding, concatenate, optional residual, NormAct.
    struct Esp {
        torch::nn::Conv2d c1{nullptr}, d1{nullptr}, d2{nullptr}, d4{nullptr}, d8{nullptr}, d16{nullptr};
        NormAct out;
        bool residual = false;
        at::Tensor operator()(const at::Tensor &x);
    };

private:
    struct Cbr {
        torch::nn::Conv2d conv{nullptr};
        NormAct out;
    };

    Cbr m_level1;
    NormAct m_b1, m_b2, m_b3;
    Esp m_level2Down, m_level3Down;
    std::vector<Esp> m_level2, m_level3;
    torch::nn::Conv2d m_encoderClassifier{nullptr}, m_level3C{nullptr};
    torch::nn::BatchNorm2d m_br{nullptr};
    Cbr m_conv;
    torch::nn::ConvTranspose2d m_upL3{nullptr}, m_upL2{nullptr}, m_classifier{nullptr};
    NormAct m_combineBr, m_upL2Br;
    Esp m_combine;
};

TORCH_MODULE(EspNetModule);

} // namespace SegScale::Model
