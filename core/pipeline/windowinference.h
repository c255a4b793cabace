#pragma once
// WindowInference: the network step of the reference procedure for a batch of K windows
// of one crop size — each window with its horizontal flip when asked, logits resized to
// the window with align_corners=true when the network's output is smaller, softmax over
// classes, the two softmaxes averaged after un-flipping. Returns K x crop x crop x C
// float32 probabilities (channels last, ready for the combine) on the CPU.
// The per-window arithmetic does not depend on K: the sequential engine calls it with
// K = 1, the pipelined one with whole batches, and both get the same numbers.

#include <ATen/core/Tensor.h>

#include <memory>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Pipeline {

class WindowInference {
public:
    // windows: K x 3 x crop x crop float32 (CPU). Thread-safe if the network is.
    static at::Tensor run(const Model::Network &network, const at::Tensor &windows, bool flip);
};

} // namespace SegScale::Pipeline
