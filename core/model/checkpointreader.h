#pragma once
// CheckpointReader: reads PyTorch checkpoints without Python and without executing
// anything — both the zip format (torch >= 1.6) and the legacy one (pickle protocol 2
// followed by raw storages). A restricted unpickler accepts only tensors, storages,
// OrderedDict and plain containers/scalars; any other global (os.system, ...) is refused
// with an Error naming it. A dict {epoch, state_dict, optimizer} is unwrapped to its
// "state_dict" (also "model" / "net" when it is the only tensor dict); a bare state dict
// is returned as is.

#include "base/result.h"
#include "model/statedict.h"

#include <QByteArray>
#include <QString>

namespace SegScale::Model {

class ModelCard;

class CheckpointReader {
public:
    static Result<StateDict> readStateDict(const QString &path);
    // The same from bytes in memory; `name` is used in messages. Zip records must match
    // the CRC-32 the archive's directory records for them; the unpickler's limits
    // (PickleLimits) apply. Never throws; any failure is a Model error.
    static Result<StateDict> readStateDict(const QByteArray &bytes, const QString &name);
    // The weights a native model's card names (card.weightsPath()), checked against the
    // card's SHA-256 when it records one (WeightsFile), every failure a Model error. Never falls back to random weights: an untrained network would
    // produce plausible-looking nonsense for a whole study.
    static Result<StateDict> readCardWeights(const ModelCard &card);
};

} // namespace SegScale::Model
