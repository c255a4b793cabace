#pragma once
// Where label maps go when nobody said: <study>-outputs/ beside a study file, nothing for
// a postgresql:// study (agents then need their own --out). `serve` and the desktop app's
// embedded coordinator use this rule; `study run` names the same folder for a study file
// itself (for a postgresql:// study it still derives a folder from the URL; unchanged).

#include <QString>

namespace SegScale::Cluster {

QString defaultOutputs(const QString &database);

} // namespace SegScale::Cluster
