#pragma once
// StateDictLoader: copies a checkpoint's StateDict into a torch::nn::Module by name, the
// way PyTorch's strict load_state_dict does, plus what real checkpoints need: a leading
// "module." (DataParallel) is stripped, training-only heads ("aux.") are ignored, half and
// double tensors are converted to the module's dtype, and a missing num_batches_tracked
// (older checkpoints) is accepted. Any other disagreement is ONE Model error that names
// every missing key, every unexpected key and every shape mismatch with both shapes, so
// a user sees at once which checkpoint belongs to which architecture.

#include "base/result.h"
#include "model/statedict.h"

#include <QString>

#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace SegScale::Model {

class StateDictLoader {
public:
    // source names the checkpoint in messages (a path, or "in-memory weights").
    // Nothing is copied unless everything matches.
    static Result<void> apply(torch::nn::Module &module, const StateDict &weights, const QString &source,
                              const std::vector<std::string> &ignoredPrefixes = {"aux."});
    // The module's parameters and buffers under their state-dict names (undefined ones,
    // like a bias-free convolution's bias, left out).
    static StateDict extract(const torch::nn::Module &module);
};

} // namespace SegScale::Model
