#include "model/pspnetnetwork.h"

#include "base/printabletext.h"

#include "model/checkpointreader.h"
#include "model/pspnetmodule.h"
#include "model/statedictloader.h"

#include <torch/torch.h>


namespace SegScale::Model {

PspNetNetwork::PspNetNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, std::shared_ptr<PspNetModuleImpl> module,
                             bool untrained, QString source, bool folded)
    : Network(std::move(card), device, dtype), m_module(std::move(module)), m_untrained(untrained), m_folded(folded),
      m_source(std::move(source))
{
    for (const auto &p : m_module->parameters())
        m_parameters += p.numel();
}

Result<std::unique_ptr<Network>> PspNetNetwork::load(const ModelCard &card, c10::Device device, bool optimize,
                                                    c10::ScalarType dtype)
{
    if (card.randomInit)
        return build(card, nullptr, device, optimize, QStringLiteral("random init"), dtype);
    Result<StateDict> weights = CheckpointReader::readCardWeights(card);
    if (!weights)
        return weights.error();
    return build(card, &weights.value(), device, optimize, card.weightsPath(), dtype);
}

Result<std::unique_ptr<Network>> PspNetNetwork::fromStateDict(const ModelCard &card, const StateDict &weights,
                                                              c10::Device device, bool optimize, const QString &source)
{
    return build(card, &weights, device, optimize, source);
}

Result<std::unique_ptr<Network>> PspNetNetwork::build(const ModelCard &card, const StateDict *weights, c10::Device device,
                                                      bool optimize, const QString &source, c10::ScalarType dtype)
{
    try {
        const std::vector<int> bins(card.pspnet.bins.begin(), card.pspnet.bins.end());
        auto module = std::make_shared<PspNetModuleImpl>(card.pspnet.layers, card.numClasses, bins, card.pspnet.zoomFactor);
        if (weights) {
            Result<void> applied = StateDictLoader::apply(*module, *weights, source);
            if (!applied)
                return Error{ErrorCategory::Model, QStringLiteral("model %1 (PSPNet-%2, %3 classes): %4")
                                                       .arg(card.name).arg(card.pspnet.layers).arg(card.numClasses)
                                                       .arg(applied.error().message)};
        } else {
            module->randomInit(randomInitSeed);
        }
        module->eval();
        // Move first: folding gives the convolutions bias tensors that are not registered
        // parameters, so Module::to() would not move them.
        module->to(device);
        if (optimize)
            module->foldBatchNorms();
        if (dtype != c10::kFloat)
            module->convertTo(dtype);
        return std::unique_ptr<Network>(new PspNetNetwork(card, device, dtype, std::move(module), weights == nullptr, source, optimize));
    } catch (const c10::Error &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot build PSPNet-%1 for model %2: %3")
                                               .arg(card.pspnet.layers).arg(card.name, PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace()))};
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot build PSPNet-%1 for model %2: %3")
                                               .arg(card.pspnet.layers).arg(card.name, PrintableText::summarise(QStringLiteral("LibTorch"), e.what()))};
    }
}

at::Tensor PspNetNetwork::forward(const at::Tensor &batch) const
{
    c10::InferenceMode guard;
    return m_module->forward(batch);
}

QString PspNetNetwork::describe() const
{
    return QStringLiteral("%1 (PSPNet-%2, %3 classes, %4, %5 parameters%6)")
        .arg(card().name)
        .arg(card().pspnet.layers)
        .arg(card().numClasses)
        .arg(m_untrained ? QStringLiteral("UNTRAINED random init") : m_source)
        .arg(m_parameters)
        .arg(m_folded ? QStringLiteral(", batch norms folded") : QString());
}

} // namespace SegScale::Model
