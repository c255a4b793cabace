#include "pipeline/combiner.h"

#include "pipeline/windowinference.h"
#include "procedure/devicecombiner.h"

#include <torch/torch.h>

#include <opencv2/core.hpp>

#include <cstring>

namespace SegScale::Pipeline {

namespace {

class HostCombiner final : public Combiner {
public:
    HostCombiner(ImagePlan plan, int numClasses) : m_combiner(std::move(plan), numClasses) {}
    void addWindow(int level, int window, const at::Tensor &probs) override
    {
        m_combiner.addWindow(level, window, probs.data_ptr<float>());
    }
    bool levelComplete(int level) const override { return m_combiner.levelComplete(level); }
    void finishLevel(int level) override { m_combiner.finishLevel(level); }
    Segmentation finish() override { return m_combiner.finish(); }
    const ImagePlan &plan() const override { return m_combiner.plan(); }

private:
    ImageCombiner m_combiner;
};

class TensorCombiner final : public Combiner {
public:
    TensorCombiner(ImagePlan plan, int numClasses, c10::Device device) : m_combiner(std::move(plan), numClasses, device) {}
    // Each call under InferenceMode: the engine's stage threads do not all hold one, and
    // the accumulators are updated in place.
    void addWindow(int level, int window, const at::Tensor &probs) override
    {
        c10::InferenceMode guard;
        m_combiner.addWindow(level, window, probs);
    }
    bool levelComplete(int level) const override { return m_combiner.levelComplete(level); }
    void finishLevel(int level) override
    {
        c10::InferenceMode guard;
        m_combiner.finishLevel(level);
    }
    Segmentation finish() override
    {
        c10::InferenceMode guard;
        Procedure::DeviceCombiner::Output out = m_combiner.finish();
        const at::Tensor labels = out.labels.contiguous();
        const bool wide = labels.scalar_type() != torch::kUInt8;
        Segmentation seg;
        seg.labels.create(static_cast<int>(labels.size(0)), static_cast<int>(labels.size(1)), wide ? CV_16U : CV_8U);
        // int16 class indices < 32768 have the same bits as their uint16 values.
        std::memcpy(seg.labels.data, labels.data_ptr(), labels.numel() * labels.element_size());
        seg.composition = std::move(out.composition);
        return seg;
    }
    const ImagePlan &plan() const override { return m_combiner.plan(); }

private:
    Procedure::DeviceCombiner m_combiner;
};

} // namespace

std::unique_ptr<Combiner> Combiner::create(bool tensor, ImagePlan plan, int numClasses, c10::Device device)
{
    if (tensor)
        return std::make_unique<TensorCombiner>(std::move(plan), numClasses, device);
    return std::make_unique<HostCombiner>(std::move(plan), numClasses);
}

at::Tensor Combiner::inputLayout(bool tensor, const at::Tensor &batch)
{
    return tensor ? batch : WindowInference::toHostLayout(batch);
}

} // namespace SegScale::Pipeline
