#pragma once
// The network step of the reference procedure for a batch of windows, on whatever device
// the network lives: each window with its horizontal flip when asked, the logits cast to
// float32, resized to the window (bilinear, align_corners=true) when the network's output
// is smaller, softmax over classes, and the two softmaxes averaged after un-flipping.
// Device-generic and free of Qt and OpenCV: the CPU engine (Pipeline::WindowInference)
// and the GPU benchmark (tests/bench/gpu) share it, so both do the same arithmetic.

#include <ATen/core/Tensor.h>

#include <functional>

namespace SegScale::Procedure {

// N x 3 x H x W in -> N x C x h x w logits out (h <= H, w <= W), any floating dtype.
using ForwardFn = std::function<at::Tensor(const at::Tensor &)>;

// windows: K x 3 x crop x crop on the network's device, in the network's dtype (float32,
// float16 or bfloat16). The network sees one batch, [w1..wK, flip(w1)..flip(wK)] when
// flip is set. Returns K x C x crop x crop float32 probabilities on the same device; the
// result may be a view into a 2K-window buffer (it keeps that buffer alive). The logits
// are cast to float32 before the resize and the softmax, so a half-precision network
// only changes the network's own arithmetic. Per-window results do not depend on K.
// Runs under c10::InferenceMode; thread-safe if forward is.
at::Tensor windowProbabilities(const ForwardFn &forward, const at::Tensor &windows, bool flip);

} // namespace SegScale::Procedure
