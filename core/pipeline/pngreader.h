#pragma once
// PngReader: decodes PNG with libpng into exactly what cv::imdecode(IMREAD_COLOR) gives
// (same libpng, same transformations: 16 bits stripped, alpha stripped, palette and grey
// expanded to BGR), in one pass, with damage found rather than papered over: before
// decoding, every chunk's length and CRC is checked and the file must end with IEND.
// Nothing is printed; libpng's errors and warnings come back as text.
// Thread-safe: every call owns its libpng state; there is no global state.

#include "base/result.h"

#include <QByteArray>
#include <QString>

#include <opencv2/core/mat.hpp>

namespace SegScale::Pipeline {

struct PngReport {
    int width = 0;
    int height = 0;
    QString damage; // what is wrong with a damaged file that was decoded anyway; else empty
};

class PngReader {
public:
    // Errors: TooLarge (IHDR over maxPixels: checked before anything is allocated),
    // Corrupt (no IHDR, a truncated image data stream, undecodable data; and, unless
    // acceptDamaged, any CRC error, a missing IEND or a libpng warning about image data).
    // With acceptDamaged a file whose pixels can still be decoded in full comes back with
    // report->damage set. A file whose image data is cut short is Corrupt either way:
    // libpng cannot deliver the rows, and a partial picture would skew a composition.
    static Result<cv::Mat> decode(const QByteArray &bytes, const QString &name, qint64 maxPixels,
                                  bool acceptDamaged, PngReport *report = nullptr);
};

} // namespace SegScale::Pipeline
