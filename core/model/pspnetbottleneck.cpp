#include "model/pspnetbottleneck.h"

#include "model/pspnetconvbn.h"

#include <torch/torch.h>

namespace SegScale::Model {

namespace nn = torch::nn;

PspNetBottleneckImpl::PspNetBottleneckImpl(int inplanes, int planes, int stride, int dilation, bool downsample)
{
    m_conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(inplanes, planes, 1).bias(false)));
    m_bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    m_conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3)
                                                      .stride(stride).padding(dilation).dilation(dilation).bias(false)));
    m_bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    m_conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(planes, planes * expansion, 1).bias(false)));
    m_bn3 = register_module("bn3", nn::BatchNorm2d(planes * expansion));
    if (downsample) {
        m_downConv = nn::Conv2d(nn::Conv2dOptions(inplanes, planes * expansion, 1).stride(stride).bias(false));
        m_downBn = nn::BatchNorm2d(planes * expansion);
        register_module("downsample", nn::Sequential(m_downConv, m_downBn));
    }
}

at::Tensor PspNetBottleneckImpl::forward(const at::Tensor &x)
{
    at::Tensor out = PspNetConvBn::apply(x, m_conv1, m_bn1, m_folded).relu_();
    out = PspNetConvBn::apply(out, m_conv2, m_bn2, m_folded).relu_();
    out = PspNetConvBn::apply(out, m_conv3, m_bn3, m_folded);
    if (m_downConv)
        out += PspNetConvBn::apply(x, m_downConv, m_downBn, m_folded);
    else
        out += x;
    return out.relu_();
}

void PspNetBottleneckImpl::foldBatchNorms()
{
    if (m_folded)
        return;
    PspNetConvBn::fold(m_conv1, m_bn1);
    PspNetConvBn::fold(m_conv2, m_bn2);
    PspNetConvBn::fold(m_conv3, m_bn3);
    if (m_downConv)
        PspNetConvBn::fold(m_downConv, m_downBn);
    m_folded = true;
}

} // namespace SegScale::Model
