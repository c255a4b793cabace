#include "model/statedictloader.h"

#include "base/printabletext.h"

#include <torch/torch.h>

#include <QStringList>

#include <map>
#include <sstream>

namespace SegScale::Model {

namespace {

QString shapeText(const at::Tensor &t)
{
    std::ostringstream s;
    s << t.sizes();
    return QString::fromStdString(s.str());
}

bool startsWith(const std::string &s, const std::string &prefix)
{
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

StateDict StateDictLoader::extract(const torch::nn::Module &module)
{
    StateDict out;
    for (const auto &p : module.named_parameters(true))
        if (p.value().defined())
            out.emplace_back(p.key(), p.value());
    for (const auto &b : module.named_buffers(true))
        if (b.value().defined())
            out.emplace_back(b.key(), b.value());
    return out;
}

Result<void> StateDictLoader::apply(torch::nn::Module &module, const StateDict &weights, const QString &source,
                                    const std::vector<std::string> &ignoredPrefixes)
{
    const std::string dataParallel = "module.";
    const StateDict own = extract(module);
    std::map<std::string, at::Tensor> targets(own.begin(), own.end());

    QStringList unexpected, mismatched, duplicated;
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (target, source)
    std::map<std::string, bool> seen;
    for (const auto &[rawName, tensor] : weights) {
        std::string name = rawName;
        if (startsWith(name, dataParallel))
            name.erase(0, dataParallel.size());
        bool ignored = false;
        for (const auto &prefix : ignoredPrefixes)
            ignored = ignored || startsWith(name, prefix);
        if (ignored)
            continue;
        const auto it = targets.find(name);
        if (it == targets.end()) {
            unexpected << QString::fromStdString(rawName);
            continue;
        }
        if (seen[name]) {
            duplicated << QString::fromStdString(name);
            continue;
        }
        seen[name] = true;
        const at::Tensor &target = it->second;
        if (!tensor.defined() || tensor.sizes() != target.sizes()) {
            mismatched << QStringLiteral("%1 (checkpoint %2, model %3)")
                              .arg(QString::fromStdString(rawName), tensor.defined() ? shapeText(tensor) : QStringLiteral("undefined"),
                                   shapeText(target));
            continue;
        }
        if (target.is_floating_point() && !tensor.is_floating_point() && !tensor.is_complex()) {
            mismatched << QStringLiteral("%1 (checkpoint dtype %2, model %3)")
                              .arg(QString::fromStdString(rawName), QString::fromUtf8(c10::toString(tensor.scalar_type())),
                                   QString::fromUtf8(c10::toString(target.scalar_type())));
            continue;
        }
        copies.emplace_back(target, tensor);
    }
    QStringList missing;
    for (const auto &[name, tensor] : own) {
        // Checkpoints from before PyTorch 0.4.1 have no batch counter; eval never reads it.
        if (!seen.count(name) && !endsWith(name, ".num_batches_tracked"))
            missing << QString::fromStdString(name);
    }

    if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty() || !duplicated.isEmpty()) {
        QStringList parts;
        if (!missing.isEmpty())
            parts << QStringLiteral("%1 missing key(s): %2").arg(missing.size()).arg(missing.join(QStringLiteral(", ")));
        if (!unexpected.isEmpty())
            parts << QStringLiteral("%1 unexpected key(s): %2").arg(unexpected.size()).arg(unexpected.join(QStringLiteral(", ")));
        if (!mismatched.isEmpty())
            parts << QStringLiteral("%1 shape mismatch(es): %2").arg(mismatched.size()).arg(mismatched.join(QStringLiteral(", ")));
        if (!duplicated.isEmpty())
            parts << QStringLiteral("key(s) given twice (with and without \"module.\"): %1").arg(duplicated.join(QStringLiteral(", ")));
        return Error{ErrorCategory::Model, QStringLiteral("weights %1 do not fit the network: %2").arg(source, parts.join(QStringLiteral("; ")))};
    }

    try {
        torch::NoGradGuard noGrad;
        for (auto &[target, tensor] : copies)
            target.copy_(tensor.to(target.device(), target.scalar_type()));
    } catch (const c10::Error &e) {
        return Error{ErrorCategory::Model, QStringLiteral("cannot copy weights %1 into the network: %2")
                                               .arg(source, PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace()))};
    }
    return {};
}

} // namespace SegScale::Model
