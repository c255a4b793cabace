#pragma once
// The network's arithmetic by name, as the command line, the study file and the
// coordinator's settings spell it: fp32, fp16, bf16.

#include "base/result.h"
#include "pipeline/segmentoptions.h"

namespace SegScale::Pipeline {

Result<Precision> parsePrecision(const QString &text);
QString precisionName(Precision p);

} // namespace SegScale::Pipeline
