#include "pipeline/windowinference.h"

#include "model/network.h"

#include <torch/torch.h>

namespace SegScale::Pipeline {

at::Tensor WindowInference::run(const Model::Network &network, const at::Tensor &windows, bool flip)
{
    c10::InferenceMode guard;
    const int64_t k = windows.size(0);
    const int64_t h = windows.size(2), w = windows.size(3);
    at::Tensor input = windows.to(network.device(), /*non_blocking=*/true);
    if (flip)
        input = torch::cat({input, input.flip({3})}, 0);  // [w1..wK, flip(w1)..flip(wK)]
    at::Tensor out = network.forward(input);
    if (out.size(2) != h || out.size(3) != w)
        out = torch::nn::functional::interpolate(
            out, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w})
                     .mode(torch::kBilinear).align_corners(true));
    out = torch::softmax(out, 1);
    if (flip)
        out = (out.slice(0, 0, k) + out.slice(0, k, 2 * k).flip({3})) / 2;
    return out.permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
}

} // namespace SegScale::Pipeline
