#pragma once
// ImageDecoder: the one door through which a photo enters the pipeline. It reads files
// with every check a large, messy collection needs (missing, dangling links, not a file,
// empty, too big) and decodes them into the BGR picture cv::imdecode(IMREAD_COLOR) gives,
// except that damage is never "repaired" in silence: a truncated or garbled JPEG, which
// OpenCV returns with a grey lower half and a line on stderr, fails here as Corrupt (or,
// with acceptDamaged, decodes and is marked damaged), so no study composition is computed
// from half a picture without anyone knowing. A decompression bomb is refused from its
// header before any pixel memory is allocated. Nothing is printed to stderr.
//
// JPEG and PNG get full damage detection (JpegReader, PngReader). BMP, TIFF and WebP have
// their size checked from the header and then go to cv::imdecode as they are.
// All functions are thread-safe: no global state.

#include "base/result.h"

#include <QByteArray>
#include <QString>

#include <opencv2/core/mat.hpp>

namespace SegScale::Pipeline {

struct DecodeOptions {
    bool acceptDamaged = false;        // --accept-damaged: decode with warnings, mark damaged
    qint64 maxPixels = 120'000'000;    // width*height above this -> TooLarge, checked from the header BEFORE allocating
    qint64 maxFileBytes = 512LL << 20; // larger files -> TooLarge without reading them
};

struct DecodedImage {
    cv::Mat bgr;          // CV_8UC3, exactly what cv::imdecode(bytes, cv::IMREAD_COLOR) returns for a good file
    bool damaged = false; // only possible with acceptDamaged
    QString warning;      // the decoder's warning text when damaged
};

class ImageDecoder {
public:
    // Reads a local file with all the checks: missing (a dangling symlink included) ->
    // Missing; not a regular file or permission denied -> Unreadable; zero bytes ->
    // Corrupt ("empty file"); over maxFileBytes -> TooLarge, without reading it.
    static Result<QByteArray> readFile(const QString &path, const DecodeOptions &options);

    // Decodes bytes; `name` is used in messages. Unsupported: not an image (text, HTML,
    // unknown signature). Corrupt: truncated, garbled, bad CRC, header unparsable, empty.
    // TooLarge: header dimensions over maxPixels.
    static Result<DecodedImage> decode(const QByteArray &bytes, const QString &name, const DecodeOptions &options);

    // readFile + decode.
    static Result<DecodedImage> load(const QString &path, const DecodeOptions &options);
};

} // namespace SegScale::Pipeline
