#pragma once
// Network: one loaded segmentation network, read-only once loaded (whisper.h style:
// keep the model apart from per-run buffers). forward() may be called from several
// threads at once: implementations hold no per-call state and run under InferenceMode.
// This header pulls in ATen's Tensor only; full LibTorch stays in the .cpp files.

#include "model/modelcard.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <QString>

namespace SegScale::Model {

class Network {
public:
    virtual ~Network() = default;

    // batch: N x 3 x H x W in dtype() on device(), normalised as the card says, channels in
    // the card's colour order. Returns N x C x h x w logits, h <= H and w <= W (a smaller
    // output is resized by the caller with align_corners=true, as the reference does).
    virtual at::Tensor forward(const at::Tensor &batch) const = 0;

    // True when the weights are random (a card with "random_init"): every output made
    // with such a network must say "untrained".
    virtual bool untrained() const { return false; }
    // One line for logs and --help output: architecture, weights file, parameter count.
    virtual QString describe() const = 0;

    c10::Device device() const { return m_device; }
    // The weights' and inputs' arithmetic type: float32, or float16 / bfloat16 when loaded
    // with a lower precision. Outputs come back in the same type.
    c10::ScalarType dtype() const { return m_dtype; }
    const ModelCard &card() const { return m_card; }

protected:
    Network(ModelCard card, c10::Device device, c10::ScalarType dtype = c10::kFloat)
        : m_card(std::move(card)), m_device(device), m_dtype(dtype)
    {
    }

private:
    ModelCard m_card;
    c10::Device m_device;
    c10::ScalarType m_dtype;
};

} // namespace SegScale::Model
