#pragma once
// The native PSPNet (hszhao/semseg architecture, LibTorch C++) behind the Network
// interface: built from a ModelCard ("architecture": "pspnet", its "pspnet" section and
// num_classes) and the official PyTorch checkpoints, read without Python. forward() is
// safe to call from several threads at once (eval mode, InferenceMode, no per-call state).

#include "base/result.h"
#include "model/network.h"
#include "model/statedict.h"

#include <cstdint>
#include <memory>

namespace SegScale::Model {

class PspNetModuleImpl;

class PspNetNetwork final : public Network {
public:
    // card.randomInit: deterministic random weights (untrained() is true). Otherwise the
    // checkpoint card.weightsPath(); a missing or unfitting file is a Model error.
    // optimize folds the batch norms into the convolutions (same outputs, faster); dtype
    // converts the weights after folding (the folding itself is done in float64).
    static Result<std::unique_ptr<Network>> load(const ModelCard &card, c10::Device device, bool optimize,
                                                 c10::ScalarType dtype = c10::kFloat);
    // From weights already in memory (a converter, tests); source names them in errors.
    static Result<std::unique_ptr<Network>> fromStateDict(const ModelCard &card, const StateDict &weights,
                                                          c10::Device device, bool optimize,
                                                          const QString &source = QStringLiteral("in-memory weights"));
    // Seed of the random-init weights: the same untrained network everywhere.
    static constexpr std::uint64_t randomInitSeed = 20240611;

    at::Tensor forward(const at::Tensor &batch) const override;
    bool untrained() const override { return m_untrained; }
    QString describe() const override;

private:
    PspNetNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, std::shared_ptr<PspNetModuleImpl> module,
                  bool untrained, QString source, bool folded);
    static Result<std::unique_ptr<Network>> build(const ModelCard &card, const StateDict *weights, c10::Device device,
                                                  bool optimize, const QString &source, c10::ScalarType dtype = c10::kFloat);

    std::shared_ptr<PspNetModuleImpl> m_module;  // read-only once built
    qint64 m_parameters = 0;
    bool m_untrained = false;
    bool m_folded = false;
    QString m_source;
};

} // namespace SegScale::Model
