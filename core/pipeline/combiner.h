#pragma once
// Combiner: one image's combine as the pipelined engine drives it, whichever side does
// the arithmetic — ImageCombiner (OpenCV, float32 on the host; the CPU default) or
// Procedure::DeviceCombiner (LibTorch tensors on the network's device; the CUDA default,
// where the window probabilities never leave the GPU and only the label map is copied
// back). The infer stage asks inputLayout() to turn a batch of device probabilities into
// what addWindow() takes, so the choice is made once, here.

#include "pipeline/imagecombiner.h"
#include "pipeline/tiling.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>

namespace SegScale::Pipeline {

class Combiner {
public:
    virtual ~Combiner() = default;

    // tensor: DeviceCombiner on device; otherwise ImageCombiner on the host.
    static std::unique_ptr<Combiner> create(bool tensor, ImagePlan plan, int numClasses, c10::Device device);
    // batch: K x C x crop x crop float32 probabilities on the network's device. Returns
    // what addWindow() takes for window k as row k: the batch itself (tensor combine) or
    // K x crop x crop x C on the CPU (host combine).
    static at::Tensor inputLayout(bool tensor, const at::Tensor &batch);

    // probs: row k of inputLayout()'s result. Windows of a level arrive in plan order.
    virtual void addWindow(int level, int window, const at::Tensor &probs) = 0;
    virtual bool levelComplete(int level) const = 0;
    // May run for different levels on different threads at once.
    virtual void finishLevel(int level) = 0;
    virtual Segmentation finish() = 0;
    virtual const ImagePlan &plan() const = 0;
};

} // namespace SegScale::Pipeline
