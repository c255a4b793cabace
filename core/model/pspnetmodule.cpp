#include "model/pspnetmodule.h"

#include "model/pspnetconvbn.h"

#include <torch/torch.h>

#include <cmath>

namespace SegScale::Model {

namespace nn = torch::nn;

std::array<int, 4> PspNetModuleImpl::blocksPerStage(int layers)
{
    switch (layers) {
    case 50: return {3, 4, 6, 3};
    case 101: return {3, 4, 23, 3};
    case 152: return {3, 8, 36, 3};
    default: break;
    }
    TORCH_CHECK(false, "PSPNet supports ResNet depths 50, 101 and 152, not ", layers);
}

PspNetModuleImpl::PspNetModuleImpl(int layers, int classes, const std::vector<int> &bins, int zoomFactor)
    : m_zoomFactor(zoomFactor)
{
    TORCH_CHECK(zoomFactor == 1 || zoomFactor == 2 || zoomFactor == 4 || zoomFactor == 8,
                "PSPNet zoom factor must be 1, 2, 4 or 8, not ", zoomFactor);
    TORCH_CHECK(!bins.empty() && 2048 % static_cast<int>(bins.size()) == 0,
                "PSPNet needs 1, 2, 4, ... pyramid bins dividing 2048 channels, not ", bins.size());
    TORCH_CHECK(classes > 1, "PSPNet needs at least 2 classes, not ", classes);
    const std::array<int, 4> blocks = blocksPerStage(layers);

    // layer0 = Sequential(conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, relu, maxpool):
    // keys layer0.0/.1, .3/.4, .6/.7.
    const std::array<int, 4> stemWidths{3, 64, 64, 128};
    auto layer0 = nn::Sequential();
    for (size_t i = 0; i < 3; ++i) {
        m_stemConv[i] = nn::Conv2d(nn::Conv2dOptions(stemWidths[i], stemWidths[i + 1], 3)
                                       .stride(i == 0 ? 2 : 1).padding(1).bias(false));
        m_stemBn[i] = nn::BatchNorm2d(stemWidths[i + 1]);
        layer0->push_back(m_stemConv[i]);
        layer0->push_back(m_stemBn[i]);
        layer0->push_back(nn::ReLU());
    }
    m_stemPool = nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1));
    layer0->push_back(m_stemPool);
    register_module("layer0", layer0);

    int inplanes = 128;
    register_module("layer1", makeStage(inplanes, 64, blocks[0], 1, 1));
    register_module("layer2", makeStage(inplanes, 128, blocks[1], 2, 1));
    register_module("layer3", makeStage(inplanes, 256, blocks[2], 1, 2));
    register_module("layer4", makeStage(inplanes, 512, blocks[3], 1, 4));

    const int features = 2048;
    m_ppm = register_module("ppm", PspNetPpm(features, features / static_cast<int>(bins.size()), bins));

    // cls = Sequential(conv 3x3, bn, relu, dropout2d, conv 1x1): keys cls.0, cls.1, cls.4.
    m_clsConv = nn::Conv2d(nn::Conv2dOptions(features * 2, 512, 3).padding(1).bias(false));
    m_clsBn = nn::BatchNorm2d(512);
    m_clsOut = nn::Conv2d(nn::Conv2dOptions(512, classes, 1));
    register_module("cls", nn::Sequential(m_clsConv, m_clsBn, nn::ReLU(), nn::Dropout2d(0.1), m_clsOut));
    eval();
}

nn::ModuleList PspNetModuleImpl::makeStage(int &inplanes, int planes, int blocks, int stride, int dilation)
{
    auto stage = nn::ModuleList();
    for (int i = 0; i < blocks; ++i) {
        // The first block changes the width (and, in layer2, the size): it needs the
        // projection shortcut, as ResNet._make_layer decides.
        const bool first = i == 0;
        PspNetBottleneck block(inplanes, planes, first ? stride : 1, dilation,
                               first && (stride != 1 || inplanes != planes * PspNetBottleneckImpl::expansion));
        inplanes = planes * PspNetBottleneckImpl::expansion;
        stage->push_back(block);
        m_blocks.push_back(block);
    }
    return stage;
}

at::Tensor PspNetModuleImpl::forward(const at::Tensor &input)
{
    TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "PSPNet expects N x 3 x H x W input, got ", input.sizes());
    const int64_t h = static_cast<int64_t>(static_cast<double>(input.size(2) - 1) / 8.0 * m_zoomFactor + 1.0);
    const int64_t w = static_cast<int64_t>(static_cast<double>(input.size(3) - 1) / 8.0 * m_zoomFactor + 1.0);

    at::Tensor x = input;
    for (size_t i = 0; i < 3; ++i)
        x = PspNetConvBn::apply(x, m_stemConv[i], m_stemBn[i], m_folded).relu_();
    x = m_stemPool->forward(x);
    for (auto &block : m_blocks)
        x = block->forward(x);
    x = m_ppm->forward(x);
    // Dropout2d is the identity in eval mode: skipped.
    x = PspNetConvBn::apply(x, m_clsConv, m_clsBn, m_folded).relu_();
    x = m_clsOut->forward(x);
    if (m_zoomFactor != 1) {
        namespace F = torch::nn::functional;
        x = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(true));
    }
    return x;
}

void PspNetModuleImpl::randomInit(std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    // A private generator: seeding the global one would disturb everyone else's random
    // numbers, and this must give the same weights whatever ran before.
    at::Generator gen = at::detail::createCPUGenerator(seed);
    for (const auto &module : modules(/*include_self=*/false)) {
        if (auto *conv = module->as<nn::Conv2d>()) {
            // Kaiming normal, fan-out, ReLU gain, as the official ResNet initialises.
            const at::Tensor &wt = conv->weight;
            const double fanOut = static_cast<double>(wt.size(0) * wt.size(2) * wt.size(3));
            conv->weight.copy_(at::normal(0.0, std::sqrt(2.0 / fanOut), wt.sizes(), gen));
            if (conv->bias.defined())
                conv->bias.zero_();
        } else if (auto *bn = module->as<nn::BatchNorm2d>()) {
            bn->weight.fill_(1.0);
            bn->bias.zero_();
            bn->running_mean.zero_();
            bn->running_var.fill_(1.0);
        }
    }
}

void PspNetModuleImpl::foldBatchNorms()
{
    if (m_folded)
        return;
    for (size_t i = 0; i < 3; ++i)
        PspNetConvBn::fold(m_stemConv[i], m_stemBn[i]);
    for (auto &block : m_blocks)
        block->foldBatchNorms();
    m_ppm->foldBatchNorms();
    PspNetConvBn::fold(m_clsConv, m_clsBn);
    m_folded = true;
}

void PspNetModuleImpl::convertTo(c10::ScalarType dtype)
{
    to(dtype);
    for (const auto &child : modules(/*include_self=*/false))
        if (auto *conv = child->as<torch::nn::Conv2dImpl>(); conv && conv->bias.defined())
            conv->bias = conv->bias.to(dtype);
}

} // namespace SegScale::Model
