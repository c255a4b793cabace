#pragma once
// Path rules shared by every Storage: turn a caller's path into a clean path relative to
// the storage root, refusing anything that could climb out of it.

#include "base/result.h"

#include <QString>

namespace SegScale::Storage::StoragePath {

// "a/./b//c.jpg" -> "a/b/c.jpg"; "" or "." -> "". Refuses ".." segments (Usage) and
// absolute paths that are not under `root`; an absolute path under `root` is accepted
// and made relative.
Result<QString> relative(const QString &root, const QString &path);
// root + "/" + relative, without doubling slashes.
QString join(const QString &root, const QString &relative);
// Whether `resolved` (a canonical absolute path) is `root` itself or inside it.
bool isInside(const QString &root, const QString &resolved);

} // namespace SegScale::Storage::StoragePath
