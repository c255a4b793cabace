#include "pipeline/networkfactory.h"

#include "model/networkloader.h"

namespace SegScale::Pipeline {

Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const SegmentOptions &o)
{
    Model::LoadOptions load;
    load.device = o.device;
    load.threads = o.threads;
    load.optimize = o.optimizedGraph();
    load.dtype = o.precision == Precision::Float16    ? c10::kHalf
                 : o.precision == Precision::BFloat16 ? c10::kBFloat16
                                                      : c10::kFloat;
    return Model::NetworkLoader::load(card, load);
}

} // namespace SegScale::Pipeline
