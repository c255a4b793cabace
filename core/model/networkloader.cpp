#include "model/networkloader.h"

#include "base/printabletext.h"
#include "model/espnetnetwork.h"
#include "model/pspnetnetwork.h"
#include "model/torchscriptnetwork.h"

#include <torch/torch.h>

#include <QThread>

#include <mutex>

namespace SegScale::Model {

namespace {

// Lower precisions fail where fp32 works when LibTorch lacks (or has a broken) kernel for
// one of the model's operations: say which precision failed and what to do.
Error probeFailure(const ModelCard &card, c10::ScalarType dtype, const QString &what)
{
    const QString in = dtype == c10::kFloat ? QString() : dtype == c10::kHalf ? QStringLiteral(" in fp16") : QStringLiteral(" in bf16");
    const QString hint = in.isEmpty() ? QString()
                                      : QStringLiteral(" (LibTorch cannot run one of its operations in this precision here; use --precision fp32)");
    return Error{ErrorCategory::Model, QStringLiteral("model %1 fails%2 on a 65x65 probe image: %3%4").arg(card.name, in, what, hint)};
}

} // namespace

void NetworkLoader::configureThreads(int threads)
{
    // Debian's LibTorch starts with ONE intra-op thread, on which 1x1 convolutions take a
    // slow reference path (DESIGN.md): always set the count deliberately.
    const int n = threads > 0 ? threads : std::max(1, QThread::idealThreadCount());
    if (at::get_num_threads() != n)
        at::set_num_threads(n);
}

Result<std::shared_ptr<const Network>> NetworkLoader::load(const ModelCard &card, const LoadOptions &options)
{
    c10::Device device(c10::kCPU);
    try {
        device = c10::Device(options.device.toStdString());
    } catch (const c10::Error &) {
        return Error{ErrorCategory::Usage, QStringLiteral("unknown device \"%1\" (use cpu, cuda or cuda:N)").arg(options.device)};
    }
    if (device.is_cuda() && !torch::cuda::is_available())
        return Error{ErrorCategory::Usage, QStringLiteral("device %1 requested but this build has no usable CUDA device").arg(options.device)};
    if (options.dtype != c10::kFloat && options.dtype != c10::kHalf && options.dtype != c10::kBFloat16)
        return Error{ErrorCategory::Usage, QStringLiteral("unsupported precision %1 (use fp32, fp16 or bf16)").arg(QString::fromLatin1(c10::toString(options.dtype)))};
    if (options.dtype == c10::kHalf && !device.is_cuda())
        return Error{ErrorCategory::Usage, QStringLiteral("precision fp16 needs a CUDA device: LibTorch has no float16 convolutions on the CPU (bf16 runs there)")};
    configureThreads(options.threads);
    // Window shapes repeat (crop x crop, a few batch sizes): let cuDNN time its algorithms
    // once per shape and keep the fastest.
    if (device.is_cuda())
        at::globalContext().setBenchmarkCuDNN(true);

    Result<std::unique_ptr<Network>> loaded = Error{ErrorCategory::Model, QStringLiteral("unknown architecture %1").arg(card.architecture)};
    if (card.architecture == QLatin1StringView("torchscript"))
        loaded = TorchScriptNetwork::load(card, device, options.optimize, options.dtype);
    else if (card.architecture == QLatin1StringView("pspnet"))
        loaded = PspNetNetwork::load(card, device, options.optimize, options.dtype);
    if (card.architecture == QLatin1StringView("espnet"))
        loaded = EspNetNetwork::load(card, device, options.dtype);
    if (!loaded)
        return loaded.error();

    std::shared_ptr<const Network> network(std::move(loaded).value());
    // A probe pass: the class count must agree with the card, or every composition
    // column would be mislabelled.
    try {
        c10::InferenceMode guard;
        const int side = 65;  // 8k+1, small enough to cost milliseconds even for PSPNet
        const auto probe = torch::zeros({1, 3, side, side}, torch::TensorOptions().device(device).dtype(options.dtype));
        const at::Tensor out = network->forward(probe);
        if (out.dim() != 4)
            return Error{ErrorCategory::Model, QStringLiteral("model %1 returns a %2-d tensor; expected N x C x H x W logits")
                                                   .arg(card.name).arg(out.dim())};
        if (out.size(1) != card.numClasses)
            return Error{ErrorCategory::Model, QStringLiteral("model %1 outputs %2 classes but its card says num_classes = %3")
                                                   .arg(card.name).arg(out.size(1)).arg(card.numClasses)};
        if (out.size(2) > side || out.size(3) > side)
            return Error{ErrorCategory::Model, QStringLiteral("model %1 returns an output larger than its input").arg(card.name)};
    } catch (const c10::Error &e) {
        return probeFailure(card, options.dtype, PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace()));
    } catch (const std::exception &e) {
        return probeFailure(card, options.dtype, PrintableText::summarise(QStringLiteral("LibTorch"), e.what()));
    }
    return network;
}

} // namespace SegScale::Model
