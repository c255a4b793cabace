#pragma once
// Where label maps go when nobody said: <study>-outputs/ beside a study file, nothing for
// a postgresql:// study (agents then need their own --out). `serve`, `study run` and the
// desktop app's embedded coordinator all use this one rule.

#include <QString>

namespace SegScale::Cluster {

QString defaultOutputs(const QString &database);

} // namespace SegScale::Cluster
