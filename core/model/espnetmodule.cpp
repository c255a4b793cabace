#include "model/espnetmodule.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

namespace SegScale::Model {

namespace {

using torch::nn::Module;

constexpr double kBnEps = 1e-3;  // the authors' BatchNorm2d(eps=1e-03) everywhere

// A name level with no parameters of its own (the authors' wrapper classes CBR, C, BR,
// their ModuleLists and Sequentials): it exists so the keys come out as theirs do.
std::shared_ptr<Module> level(Module &parent, const std::string &name)
{
    return parent.register_module(name, std::make_shared<Module>());
}

torch::nn::Conv2d addConv(Module &parent, const std::string &name, int in, int out, int kernel, int stride = 1, int dilation = 1)
{
    return parent.register_module(name, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                              .stride(stride)
                                                              .padding((kernel - 1) / 2 * dilation)
                                                              .dilation(dilation)
                                                              .bias(false)));
}

// The authors' C / CDilated: a bias-free convolution wrapped in a module of its own.
torch::nn::Conv2d wrappedConv(Module &parent, const std::string &name, int in, int out, int kernel, int stride = 1, int dilation = 1)
{
    return addConv(*level(parent, name), "conv", in, out, kernel, stride, dilation);
}

torch::nn::BatchNorm2d addBn(Module &parent, const std::string &name, int channels)
{
    return parent.register_module(name, torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(kBnEps)));
}

EspNetModuleImpl::NormAct addNormAct(Module &owner, int channels)
{
    EspNetModuleImpl::NormAct na;
    na.bn = addBn(owner, "bn", channels);
    na.act = owner.register_module("act", torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(channels)));
    return na;
}

torch::nn::ConvTranspose2d addUp(Module &parent, const std::string &name, int channels)
{
    // ConvTranspose2d(C, C, 2, stride=2, padding=0, output_padding=0, bias=False)
    return parent.register_module(name, torch::nn::ConvTranspose2d(
                                            torch::nn::ConvTranspose2dOptions(channels, channels, 2).stride(2).bias(false)));
}

// DownSamplerB (down = true: strided 3x3 reduce, BatchNorm/PReLU held directly) or
// DilatedParllelResidualBlockB (1x1 reduce, a BR named "bn").
EspNetModuleImpl::Esp addEsp(Module &parent, const std::string &name, int in, int out, bool down, bool residual)
{
    auto m = level(parent, name);
    const int n = out / 5;
    const int n1 = out - 4 * n;
    EspNetModuleImpl::Esp e;
    e.c1 = down ? wrappedConv(*m, "c1", in, n, 3, 2) : wrappedConv(*m, "c1", in, n, 1, 1);
    e.d1 = wrappedConv(*m, "d1", n, n1, 3, 1, 1);
    e.d2 = wrappedConv(*m, "d2", n, n, 3, 1, 2);
    e.d4 = wrappedConv(*m, "d4", n, n, 3, 1, 4);
    e.d8 = wrappedConv(*m, "d8", n, n, 3, 1, 8);
    e.d16 = wrappedConv(*m, "d16", n, n, 3, 1, 16);
    e.out = down ? addNormAct(*m, out) : addNormAct(*level(*m, "bn"), out);
    e.residual = residual;
    return e;
}

at::Tensor inputProjection(const at::Tensor &x, int times)
{
    // InputProjectionA: repeated AvgPool2d(3, stride=2, padding=1), padding counted.
    at::Tensor y = x;
    for (int i = 0; i < times; ++i)
        y = torch::avg_pool2d(y, {3, 3}, {2, 2}, {1, 1});
    return y;
}

} // namespace

at::Tensor EspNetModuleImpl::NormAct::operator()(const at::Tensor &x)
{
    return act->forward(bn->forward(x));
}

at::Tensor EspNetModuleImpl::Esp::operator()(const at::Tensor &x)
{
    const at::Tensor r = c1->forward(x);
    const at::Tensor a1 = d2->forward(r);
    const at::Tensor a2 = a1 + d4->forward(r);
    const at::Tensor a3 = a2 + d8->forward(r);
    const at::Tensor a4 = a3 + d16->forward(r);
    at::Tensor y = torch::cat({d1->forward(r), a1, a2, a3, a4}, 1);
    if (residual)
        y = x + y;
    return out(y);
}

EspNetModuleImpl::EspNetModuleImpl(int classes, int p, int q)
{
    TORCH_CHECK(classes >= 5 && p >= 1 && q >= 1, "ESPNet needs at least 5 classes and p, q >= 1");
    auto encoder = level(*this, "encoder");
    {
        auto l1 = level(*encoder, "level1");
        m_level1.conv = addConv(*l1, "conv", 3, 16, 3, 2);
        m_level1.out = addNormAct(*l1, 16);
    }
    m_b1 = addNormAct(*level(*encoder, "b1"), 16 + 3);
    m_level2Down = addEsp(*encoder, "level2_0", 16 + 3, 64, true, false);
    auto l2 = level(*encoder, "level2");
    for (int i = 0; i < p; ++i)
        m_level2.push_back(addEsp(*l2, std::to_string(i), 64, 64, false, true));
    m_b2 = addNormAct(*level(*encoder, "b2"), 128 + 3);
    m_level3Down = addEsp(*encoder, "level3_0", 128 + 3, 128, true, false);
    auto l3 = level(*encoder, "level3");
    for (int i = 0; i < q; ++i)
        m_level3.push_back(addEsp(*l3, std::to_string(i), 128, 128, false, true));
    m_b3 = addNormAct(*level(*encoder, "b3"), 256);
    m_encoderClassifier = wrappedConv(*encoder, "classifier", 256, classes, 1);

    // The light-weight decoder.
    m_level3C = wrappedConv(*this, "level3_C", 128 + 3, classes, 1);
    m_br = addBn(*this, "br", classes);
    {
        auto c = level(*this, "conv");
        m_conv.conv = addConv(*c, "conv", 16 + classes, classes, 3, 1);
        m_conv.out = addNormAct(*c, classes);
    }
    m_upL3 = addUp(*level(*this, "up_l3"), "0", classes);
    {
        auto comb = level(*this, "combine_l2_l3");
        m_combineBr = addNormAct(*level(*comb, "0"), 2 * classes);
        m_combine = addEsp(*comb, "1", 2 * classes, classes, false, false);
    }
    {
        auto up = level(*this, "up_l2");
        m_upL2 = addUp(*up, "0", classes);
        m_upL2Br = addNormAct(*level(*up, "1"), classes);
    }
    m_classifier = addUp(*this, "classifier", classes);
}

at::Tensor EspNetModuleImpl::forward(const at::Tensor &x)
{
    const at::Tensor output0 = m_level1.out(m_level1.conv->forward(x));
    const at::Tensor inp1 = inputProjection(x, 1);
    const at::Tensor inp2 = inputProjection(x, 2);

    const at::Tensor output0Cat = m_b1(torch::cat({output0, inp1}, 1));
    const at::Tensor output10 = m_level2Down(output0Cat);
    at::Tensor output1 = output10;
    for (auto &block : m_level2)
        output1 = block(output1);
    const at::Tensor output1Cat = m_b2(torch::cat({output1, output10, inp2}, 1));

    const at::Tensor output20 = m_level3Down(output1Cat);
    at::Tensor output2 = output20;
    for (auto &block : m_level3)
        output2 = block(output2);
    const at::Tensor output2Cat = m_b3(torch::cat({output20, output2}, 1));

    // RUM decoder: 1/8 -> 1/4 -> 1/2 -> 1.
    const at::Tensor output2C = m_upL3->forward(m_br->forward(m_encoderClassifier->forward(output2Cat)));
    const at::Tensor output1C = m_level3C->forward(output1Cat);
    const at::Tensor comb = m_upL2Br(m_upL2->forward(m_combine(m_combineBr(torch::cat({output1C, output2C}, 1)))));
    const at::Tensor features = m_conv.out(m_conv.conv->forward(torch::cat({comb, output0}, 1)));
    return m_classifier->forward(features);
}

void EspNetModuleImpl::randomInit(std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (const auto &m : modules(/*include_self=*/false)) {
        at::Tensor weight;
        std::int64_t fanOut = 0;
        if (auto *conv = m->as<torch::nn::Conv2dImpl>()) {
            weight = conv->weight;
            fanOut = weight.size(0) * weight.size(2) * weight.size(3);
        } else if (auto *up = m->as<torch::nn::ConvTranspose2dImpl>()) {
            weight = up->weight;
            fanOut = weight.size(1) * weight.size(2) * weight.size(3);
        } else if (auto *bn = m->as<torch::nn::BatchNorm2dImpl>()) {
            bn->weight.fill_(1);
            bn->bias.zero_();
            bn->running_mean.zero_();
            bn->running_var.fill_(1);
        }
        if (weight.defined()) {
            // Drawn in float64 on the CPU so every machine gets the same numbers.
            const at::Tensor w = at::empty(weight.sizes(), at::kDouble).normal_(0.0, std::sqrt(2.0 / double(fanOut)), gen);
            weight.copy_(w);
        }
    }
}

} // namespace SegScale::Model
