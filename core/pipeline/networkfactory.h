#pragma once
// Loads a card's network the way a run's options want it: device, threads, graph and
// precision. One place for `segment`, `study run` and the agent.

#include "base/result.h"
#include "pipeline/segmentoptions.h"

#include <memory>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Pipeline {

Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const SegmentOptions &options);

} // namespace SegScale::Pipeline
