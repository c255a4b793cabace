#pragma once
// WeightsFile: the bytes of a model's weights, read once and checked against the SHA-256
// its card records ("weights_sha256"), so that weights which changed after import (a
// flipped bit on a disk, a copy cut short, a file replaced) are refused instead of
// segmenting with them. The loaders parse exactly the bytes that were hashed: nothing can
// change between the check and the use. A card without a hash loads unverified (cards
// written by hand, the shared TorchScript model); `segscale segment` says so on stderr.
// No LibTorch here; thread-safe.

#include "base/result.h"

#include <QByteArray>
#include <QString>

namespace SegScale::Model {

class ModelCard;

class WeightsFile {
public:
    // Model error when the file is missing, unreadable, or its SHA-256 differs from the
    // card's (the message names both hashes).
    static Result<QByteArray> readVerified(const ModelCard &card);
    // Hex, lower case.
    static QByteArray sha256(const QByteArray &bytes);
    // The same over a file, read in pieces (what `segscale model` prints and `model
    // import` records): Missing when it does not exist, Unreadable when it cannot be read.
    static Result<QByteArray> sha256OfFile(const QString &path);
};

} // namespace SegScale::Model
