#pragma once
// A TorchScript model (torch.jit.script / trace export) behind the Network interface.

#include "base/result.h"
#include "model/network.h"

#include <torch/script.h>

#include <memory>

namespace SegScale::Model {

class TorchScriptNetwork final : public Network {
public:
    static Result<std::unique_ptr<Network>> load(const ModelCard &card, c10::Device device, bool optimize,
                                                 c10::ScalarType dtype = c10::kFloat);

    at::Tensor forward(const at::Tensor &batch) const override;
    QString describe() const override;

private:
    TorchScriptNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, torch::jit::Module module, qint64 parameters);

    // forward() on a scripted module is safe to call concurrently; `mutable` because
    // Module::forward is not const-qualified.
    mutable torch::jit::Module m_module;
    qint64 m_parameters = 0;
};

} // namespace SegScale::Model
