#pragma once
// Small deterministic networks for engine tests: real LibTorch arithmetic through the
// Network interface, no weights file, milliseconds per window.

#include "model/network.h"

#include <torch/torch.h>

namespace SegScale::Test {

// 2x2 average pool then a fixed 1x1 convolution to `classes` channels: the output is
// smaller than the input, so the engine's align_corners resize is exercised too.
class TinyNetwork final : public Model::Network {
public:
    explicit TinyNetwork(int classes = 5, bool downsample = true)
        : Network(makeCard(classes), c10::Device(c10::kCPU)), m_downsample(downsample)
    {
        torch::manual_seed(7);
        m_weight = torch::randn({classes, 3, 1, 1}) * 0.8;
        m_bias = torch::randn({classes}) * 0.1;
    }
    at::Tensor forward(const at::Tensor &batch) const override
    {
        c10::InferenceMode guard;
        at::Tensor x = m_downsample ? torch::avg_pool2d(batch, 2, 2, 0, /*ceil_mode=*/true) : batch;
        // A little spatial mixing, so that neighbouring windows genuinely overlap.
        x = torch::avg_pool2d(x, 3, 1, 1, false, false);
        return torch::conv2d(x, m_weight, m_bias);
    }
    QString describe() const override { return QStringLiteral("tiny test network"); }

    static Model::ModelCard makeCard(int classes)
    {
        Model::ModelCard c;
        c.name = QStringLiteral("tiny");
        c.architecture = QStringLiteral("torchscript");
        c.numClasses = classes;
        for (int i = 0; i < classes; ++i) {
            c.classes << QStringLiteral("c%1").arg(i);
            c.palette.push_back(Model::Rgb{static_cast<std::uint8_t>(40 * i), static_cast<std::uint8_t>(255 - 40 * i), 128});
        }
        c.input.mean = {100.f, 110.f, 120.f};
        c.input.std = {50.f, 55.f, 60.f};
        return c;
    }

private:
    bool m_downsample;
    at::Tensor m_weight, m_bias;
};

} // namespace SegScale::Test
