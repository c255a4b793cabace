#include "model/pspnetconvbn.h"

#include <torch/torch.h>

namespace SegScale::Model::PspNetConvBn {

at::Tensor apply(const at::Tensor &x, torch::nn::Conv2d &conv, torch::nn::BatchNorm2d &bn, bool folded)
{
    return folded ? conv->forward(x) : bn->forward(conv->forward(x));
}

void fold(torch::nn::Conv2d &conv, torch::nn::BatchNorm2d &bn)
{
    torch::NoGradGuard noGrad;
    // In double: the scale multiplies every weight, so its rounding should happen once.
    const at::Tensor var = bn->running_var.to(torch::kDouble);
    const at::Tensor scale = bn->weight.to(torch::kDouble) / torch::sqrt(var + bn->options.eps());
    at::Tensor bias = bn->bias.to(torch::kDouble) - bn->running_mean.to(torch::kDouble) * scale;
    if (conv->bias.defined())
        bias = bias + conv->bias.to(torch::kDouble) * scale;
    const at::Tensor weight = conv->weight.to(torch::kDouble) * scale.view({-1, 1, 1, 1});
    conv->weight.copy_(weight);
    // Conv2dImpl::forward adds its `bias` member; assigning it (not registering it) keeps
    // the state dict's key set unchanged.
    conv->bias = bias.to(conv->weight.scalar_type()).contiguous();
}

} // namespace SegScale::Model::PspNetConvBn
