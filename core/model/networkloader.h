#pragma once
// Loads the network a ModelCard describes, on a device, and checks it against the card
// (a probe forward pass: the output's class count must equal num_classes). Every
// failure is a Model error that names the file and the problem; LibTorch exceptions do
// not escape.

#include "base/result.h"
#include "model/modelcard.h"

#include <c10/core/ScalarType.h>

#include <memory>

namespace SegScale::Model {

class Network;

struct LoadOptions {
    QString device = QStringLiteral("cpu");  // "cpu", "cuda", "cuda:1"
    int threads = 0;                         // intra-op threads; 0 = all cores
    bool optimize = true;                    // freeze / fold batch norms where supported
    c10::ScalarType dtype = c10::kFloat;     // kHalf needs CUDA; kBFloat16 works anywhere
};

class NetworkLoader {
public:
    static Result<std::shared_ptr<const Network>> load(const ModelCard &card, const LoadOptions &options = {});
    // Sets LibTorch's intra-op thread count once per process (0 = number of cores).
    static void configureThreads(int threads);
};

} // namespace SegScale::Model
