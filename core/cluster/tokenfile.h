#pragma once
// Reads a token file: one token on one line (trailing newline and spaces ignored). A
// token shorter than 16 characters is refused: it would be guessable.

#include "base/result.h"

#include <QByteArray>
#include <QString>

namespace SegScale::Cluster {

Result<QByteArray> readTokenFile(const QString &path);

} // namespace SegScale::Cluster
