#include "model/torchscriptnetwork.h"

#include "base/printabletext.h"
#include "model/bytearrayreadadapter.h"
#include "model/weightsfile.h"
#include "model/zipdirectory.h"

#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

namespace SegScale::Model {

TorchScriptNetwork::TorchScriptNetwork(ModelCard card, c10::Device device, c10::ScalarType dtype, torch::jit::Module module,
                                       qint64 parameters)
    : Network(std::move(card), device, dtype), m_module(std::move(module)), m_parameters(parameters)
{
}

Result<std::unique_ptr<Network>> TorchScriptNetwork::load(const ModelCard &card, c10::Device device, bool optimize,
                                                         c10::ScalarType dtype)
{
    const QString path = card.weightsPath();
    // LibTorch reads the very bytes whose SHA-256 was checked against the card.
    Result<QByteArray> bytes = WeightsFile::readVerified(card);
    if (!bytes)
        return bytes.error();
    // LibTorch's zip reader checks no CRC: without a hash in the card, this is what
    // catches a damaged archive.
    if (Result<ZipDirectory> directory = ZipDirectory::read(*bytes); !directory)
        return Error{ErrorCategory::Model, QStringLiteral("cannot load TorchScript model %1: %2").arg(path, directory.error().message)};
    else if (Result<void> intact = directory->verifyStoredRecords(*bytes); !intact)
        return Error{ErrorCategory::Model, QStringLiteral("cannot load TorchScript model %1: %2").arg(path, intact.error().message)};
    try {
        torch::jit::Module module = torch::jit::load(std::make_shared<ByteArrayReadAdapter>(std::move(bytes).value()), device);
        module.eval();
        qint64 parameters = 0;
        for (const auto &p : module.parameters())
            parameters += p.numel();
        // Before freezing: a frozen graph holds its weights as constants that to() no
        // longer reaches.
        if (dtype != c10::kFloat)
            module.to(dtype);
        if (optimize) {
            // Freezing inlines the weights as constants and folds conv + batch norm:
            // ESPNet on Debian's LibTorch runs ~3x faster per window frozen (9-10.6 s vs
            // 3.3-3.7 s for a 2x3x512x512 batch on this 2-core machine); DESIGN.md saw
            // 12-15% for PSPNet.
            module = torch::jit::freeze(module);
        }
        return std::unique_ptr<Network>(new TorchScriptNetwork(card, device, dtype, std::move(module), parameters));
    } catch (const c10::Error &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot load TorchScript model %1: %2")
                                               .arg(path, PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace()))};
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot load TorchScript model %1: %2")
                                               .arg(path, PrintableText::summarise(QStringLiteral("LibTorch"), e.what()))};
    }
}

at::Tensor TorchScriptNetwork::forward(const at::Tensor &batch) const
{
    c10::InferenceMode guard;
    auto out = m_module.forward({batch});
    if (out.isTensor())
        return out.toTensor();
    if (out.isTuple())
        return out.toTuple()->elements().at(0).toTensor();
    if (out.isGenericDict()) {
        auto dict = out.toGenericDict();
        if (dict.contains(std::string("out")))
            return dict.at(std::string("out")).toTensor();
    }
    throw std::runtime_error("the TorchScript model returned neither a tensor, a tuple nor a dict with \"out\"");
}

QString TorchScriptNetwork::describe() const
{
    return QStringLiteral("%1 (TorchScript %2, %3 parameters)")
        .arg(card().name, card().weightsPath())
        .arg(m_parameters);
}

} // namespace SegScale::Model
