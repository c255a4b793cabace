#include "model/pspnetppm.h"

#include "model/pspnetconvbn.h"

#include <torch/torch.h>

namespace SegScale::Model {

namespace nn = torch::nn;

PspNetPpmImpl::PspNetPpmImpl(int inChannels, int reductionChannels, const std::vector<int> &bins)
{
    auto features = nn::ModuleList();
    for (int bin : bins) {
        Branch b;
        b.pool = nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(bin));
        b.conv = nn::Conv2d(nn::Conv2dOptions(inChannels, reductionChannels, 1).bias(false));
        b.bn = nn::BatchNorm2d(reductionChannels);
        // Index 3 (the ReLU) holds no weights but keeps the official numbering.
        features->push_back(nn::Sequential(b.pool, b.conv, b.bn, nn::ReLU()));
        m_branches.push_back(std::move(b));
    }
    register_module("features", features);
}

at::Tensor PspNetPpmImpl::forward(const at::Tensor &x)
{
    namespace F = torch::nn::functional;
    std::vector<at::Tensor> out;
    out.reserve(m_branches.size() + 1);
    out.push_back(x);
    const std::vector<int64_t> size{x.size(2), x.size(3)};
    for (auto &b : m_branches) {
        at::Tensor y = PspNetConvBn::apply(b.pool->forward(x), b.conv, b.bn, m_folded).relu_();
        out.push_back(F::interpolate(y, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(true)));
    }
    return torch::cat(out, 1);
}

void PspNetPpmImpl::foldBatchNorms()
{
    if (m_folded)
        return;
    for (auto &b : m_branches)
        PspNetConvBn::fold(b.conv, b.bn);
    m_folded = true;
}

} // namespace SegScale::Model
