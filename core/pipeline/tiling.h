#pragma once
// The pipeline sees the procedure's geometry (core/procedure/tiling.h) under its own
// namespace: one definition, shared with the Qt-free device code.

#include "procedure/tiling.h"

#include <QList>

namespace SegScale::Pipeline {

using Procedure::ImagePlan;
using Procedure::ScalePlan;
using Procedure::Tiling;
using Procedure::TilingParams;
using Procedure::Window;

inline std::vector<double> toScaleVector(const QList<double> &scales)
{
    return std::vector<double>(scales.begin(), scales.end());
}

} // namespace SegScale::Pipeline
