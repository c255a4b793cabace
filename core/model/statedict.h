#pragma once
// StateDict: parameter and buffer tensors by name, in file order, as a checkpoint holds
// them (e.g. "layer0.0.weight", "module.cls.4.bias"). Produced by CheckpointReader,
// consumed by the native networks.

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace SegScale::Model {

using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

} // namespace SegScale::Model
