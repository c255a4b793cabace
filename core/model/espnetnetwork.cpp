#include "model/espnetnetwork.h"

#include "base/printabletext.h"

#include "model/checkpointreader.h"
#include "model/espnetmodule.h"
#include "model/statedictloader.h"

#include <torch/torch.h>


namespace SegScale::Model {

namespace {

// The authors' VisualizeResults.py divides the standardised image by 255 once more; the
// trained weights expect it.
constexpr double kAuthorsDivisor = 255.0;
// Three stride-2 stages: H and W must be multiples of 8 for the decoder's concatenations.
constexpr std::int64_t kMultiple = 8;

struct Depth {
    int p = 2;
    int q = 8;
};

Depth depthOf(const ModelCard &card)
{
    const QJsonObject e = card.raw.value(QStringLiteral("espnet")).toObject();
    return Depth{e.value(QStringLiteral("p")).toInt(2), e.value(QStringLiteral("q")).toInt(8)};
}

} // namespace

EspNetNetwork::EspNetNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, std::shared_ptr<EspNetModuleImpl> module,
                             bool untrained, QString source)
    : Network(std::move(card), device, dtype), m_module(std::move(module)), m_untrained(untrained), m_source(std::move(source))
{
    for (const auto &p : m_module->parameters())
        m_parameters += p.numel();
}

Result<std::unique_ptr<Network>> EspNetNetwork::load(const ModelCard &card, c10::Device device, c10::ScalarType dtype)
{
    if (card.randomInit)
        return build(card, nullptr, device, QStringLiteral("random init"), dtype);
    Result<StateDict> weights = CheckpointReader::readCardWeights(card);
    if (!weights)
        return weights.error();
    return build(card, &weights.value(), device, card.weightsPath(), dtype);
}

Result<std::unique_ptr<Network>> EspNetNetwork::fromStateDict(const ModelCard &card, const StateDict &weights,
                                                              c10::Device device, const QString &source)
{
    return build(card, &weights, device, source);
}

Result<std::unique_ptr<Network>> EspNetNetwork::build(const ModelCard &card, const StateDict *weights, c10::Device device,
                                                      const QString &source, c10::ScalarType dtype)
{
    const Depth depth = depthOf(card);
    try {
        auto module = std::make_shared<EspNetModuleImpl>(card.numClasses, depth.p, depth.q);
        if (weights) {
            Result<void> applied = StateDictLoader::apply(*module, *weights, source);
            if (!applied)
                return Error{ErrorCategory::Model, QStringLiteral("model %1 (ESPNet p=%2 q=%3, %4 classes): %5")
                                                       .arg(card.name).arg(depth.p).arg(depth.q).arg(card.numClasses)
                                                       .arg(applied.error().message)};
        } else {
            module->randomInit(randomInitSeed);
        }
        module->eval();
        module->to(device, dtype);
        return std::unique_ptr<Network>(new EspNetNetwork(card, device, dtype, std::move(module), weights == nullptr, source));
    } catch (const c10::Error &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot build ESPNet for model %1: %2")
                                               .arg(card.name, PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace()))};
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot build ESPNet for model %1: %2").arg(card.name, PrintableText::summarise(QStringLiteral("LibTorch"), e.what()))};
    }
}

at::Tensor EspNetNetwork::forward(const at::Tensor &batch) const
{
    c10::InferenceMode guard;
    const std::int64_t h = batch.size(2);
    const std::int64_t w = batch.size(3);
    at::Tensor x = batch / kAuthorsDivisor;
    const std::int64_t padH = (kMultiple - h % kMultiple) % kMultiple;
    const std::int64_t padW = (kMultiple - w % kMultiple) % kMultiple;
    if (padH == 0 && padW == 0)
        return m_module->forward(x);
    // Zeros after standardisation are the mean colour, as the export pads.
    x = torch::constant_pad_nd(x, {0, padW, 0, padH}, 0.0);
    return m_module->forward(x).slice(2, 0, h).slice(3, 0, w).contiguous();
}

QString EspNetNetwork::describe() const
{
    const Depth depth = depthOf(card());
    return QStringLiteral("%1 (ESPNet p=%2 q=%3, %4 classes, %5, %6 parameters)")
        .arg(card().name)
        .arg(depth.p)
        .arg(depth.q)
        .arg(card().numClasses)
        .arg(m_untrained ? QStringLiteral("UNTRAINED random init") : m_source)
        .arg(m_parameters);
}

} // namespace SegScale::Model
