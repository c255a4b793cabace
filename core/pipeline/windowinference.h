#pragma once
// WindowInference: the network step of the reference procedure for a batch of K windows
// of one crop size — each window with its horizontal flip when asked, logits resized to
// the window with align_corners=true when the network's output is smaller, softmax over
// classes, the two softmaxes averaged after un-flipping (Procedure::windowProbabilities
// does the arithmetic; this class moves the windows to the network's device and type).
// The per-window arithmetic does not depend on K: the sequential engine calls it with
// K = 1, the pipelined one with whole batches, and both get the same numbers.

#include <ATen/core/Tensor.h>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Pipeline {

class WindowInference {
public:
    // windows: K x 3 x crop x crop float32, on the CPU (pinned memory is copied
    // asynchronously) or already on the network's device. Returns K x C x crop x crop
    // float32 probabilities on the network's device. Thread-safe if the network is.
    static at::Tensor probabilities(const Model::Network &network, const at::Tensor &windows, bool flip);
    // The same, in the layout the OpenCV combine takes: K x crop x crop x C float32 on
    // the CPU (channels last).
    static at::Tensor run(const Model::Network &network, const at::Tensor &windows, bool flip);
    static at::Tensor toHostLayout(const at::Tensor &probabilities);
};

} // namespace SegScale::Pipeline
