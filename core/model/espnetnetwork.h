#pragma once
// The native ESPNet (sacmehta/ESPNet, encoder ESPNet-C + light-weight decoder) behind the
// Network interface: built from a ModelCard ("architecture": "espnet", num_classes,
// optional "espnet": {"p": 2, "q": 8}) and the authors' published checkpoint, read
// without Python. forward() reproduces their test-time quirks exactly as the TorchScript
// export in the shared model folder does: it divides the standardised image by 255 once
// more, zero-pads (= the mean colour) to a multiple of 8 and crops the logits back, so
// outputs are N x C x H x W for any H, W. Safe to call from several threads at once
// (eval mode, InferenceMode, no per-call state).

#include "base/result.h"
#include "model/network.h"
#include "model/statedict.h"

#include <cstdint>
#include <memory>

namespace SegScale::Model {

class EspNetModuleImpl;

class EspNetNetwork final : public Network {
public:
    // card.randomInit: deterministic random weights (untrained() is true). Otherwise the
    // checkpoint card.weightsPath(); a missing or unfitting file is a Model error.
    static Result<std::unique_ptr<Network>> load(const ModelCard &card, c10::Device device, c10::ScalarType dtype = c10::kFloat);
    // From weights already in memory (the importer, tests); source names them in errors.
    static Result<std::unique_ptr<Network>> fromStateDict(const ModelCard &card, const StateDict &weights,
                                                          c10::Device device,
                                                          const QString &source = QStringLiteral("in-memory weights"));
    static constexpr std::uint64_t randomInitSeed = 20180803;

    at::Tensor forward(const at::Tensor &batch) const override;
    bool untrained() const override { return m_untrained; }
    QString describe() const override;
    qint64 parameterCount() const { return m_parameters; }

private:
    EspNetNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, std::shared_ptr<EspNetModuleImpl> module, bool untrained,
                  QString source);
    static Result<std::unique_ptr<Network>> build(const ModelCard &card, const StateDict *weights, c10::Device device,
                                                  const QString &source, c10::ScalarType dtype = c10::kFloat);

    std::shared_ptr<EspNetModuleImpl> m_module;  // read-only once built
    qint64 m_parameters = 0;
    bool m_untrained = false;
    QString m_source;
};

} // namespace SegScale::Model
