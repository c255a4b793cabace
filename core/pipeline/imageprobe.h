#pragma once
// ImageProbe: tells what a byte buffer is from its first bytes (never from a file name,
// which lies: an HTML error page saved as photo.jpg is common in scraped collections),
// and reads the pixel dimensions of the formats we hand to OpenCV unchecked (BMP, TIFF,
// WebP) from their headers, so that a decompression bomb is refused before OpenCV
// allocates for it. JPEG and PNG headers are read by JpegReader and PngReader.
// Pure functions on the bytes given: thread-safe.

#include "base/result.h"

#include <QByteArray>
#include <QSize>
#include <QString>

namespace SegScale::Pipeline {

enum class ImageFormat {
    Unknown,   // not an image we know
    Truncated, // starts like an image signature but ends before the signature does
    Jpeg,
    Png,
    Bmp,
    Tiff,
    WebP,
};

class ImageProbe {
public:
    static ImageFormat detect(const QByteArray &bytes);
    static QString formatName(ImageFormat format);

    // Width and height from a BMP, TIFF or WebP header. Corrupt when the header does not
    // parse, Unsupported for variants we do not look into (BigTIFF, a BMP with an unknown
    // header: "BM" is a weak signature that plain text can start with).
    static Result<QSize> dimensions(ImageFormat format, const QByteArray &bytes, const QString &name);

    // A short description of non-image content for error messages ("HTML", "text"), so
    // that a user sees at once that an error page was saved in place of a photo.
    static QString describeContent(const QByteArray &bytes);
};

} // namespace SegScale::Pipeline
