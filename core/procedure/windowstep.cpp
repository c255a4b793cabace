#include "procedure/windowstep.h"

#include <torch/torch.h>

namespace SegScale::Procedure {

at::Tensor windowProbabilities(const ForwardFn &forward, const at::Tensor &windows, bool flip)
{
    TORCH_CHECK(windows.dim() == 4 && windows.size(1) == 3, "windowProbabilities: expected K x 3 x crop x crop windows, got ",
                windows.sizes());
    c10::InferenceMode guard;
    const int64_t k = windows.size(0);
    const int64_t h = windows.size(2), w = windows.size(3);
    at::Tensor input = flip ? torch::cat({windows, windows.flip({3})}, 0) : windows;  // [w1..wK, flip(w1)..flip(wK)]
    at::Tensor out = forward(input);
    TORCH_CHECK(out.dim() == 4 && out.size(0) == input.size(0) && out.size(2) <= h && out.size(3) <= w,
                "windowProbabilities: the network returned ", out.sizes(), " for input ", input.sizes());
    // float32 from here on whatever the network computes in: a no-op for float32.
    out = out.to(torch::kFloat);
    if (out.size(2) != h || out.size(3) != w) {
        out = torch::nn::functional::interpolate(
            out, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w})
                     .mode(torch::kBilinear).align_corners(true));
        // The softmax in place on our own resized logits: the same kernel (it reads each
        // value before writing it), without a second 2K x C x crop x crop buffer — with
        // 150 classes at 473 pixels, 268 MB at the moment the memory peaks.
        at::_softmax_out(out, out, 1, /*half_to_float=*/false);
    } else {
        out = torch::softmax(out, 1);  // the network's own output: not ours to overwrite
    }
    if (!flip)
        return out;
    // In place on the first half: (p + unflip(p_flipped)) / 2 with the same two roundings
    // as the out-of-place expression, without a third K-window buffer.
    at::Tensor result = out.slice(0, 0, k);
    result.add_(out.slice(0, k, 2 * k).flip({3}));
    result.div_(2);
    return result;
}

} // namespace SegScale::Procedure
