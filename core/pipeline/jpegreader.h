#pragma once
// JpegReader: libjpeg-turbo behind an error manager of our own, so that every warning the
// library gives ("Premature end of JPEG file", "Corrupt JPEG data: ...") reaches the
// caller instead of stderr, and a damaged photo is never "repaired" in silence (libjpeg
// fills what it could not decode with grey and carries on; OpenCV only prints the warning).
// Thread-safe: every call owns its libjpeg state; there is no global state.

#include "base/result.h"

#include <QByteArray>
#include <QString>

#include <opencv2/core/mat.hpp>

namespace SegScale::Pipeline {

struct JpegReport {
    int width = 0;  // as stored, before any EXIF orientation
    int height = 0;
    int warningCount = 0;
    QString warning; // libjpeg's first warning; empty when the file is clean
};

class JpegReader {
public:
    // Decodes every scan at 1/8 scale without keeping pixels: the entropy decoder and the
    // marker reader, where all damage shows, run in full, the costly inverse DCT and
    // colour conversion hardly at all. Damage comes back as warnings in the report.
    // Errors: TooLarge (header over maxPixels, refused before any pixel memory is
    // allocated, or a side over libjpeg's limit of 65500), Corrupt (libjpeg gave up: no
    // image, bad header, bad structure; or the file is too small to hold the pixels its
    // header promises, see checkPlausibleSize). Damage after the last row (a repeated
    // scan) is a warning: the picture is whole.
    static Result<JpegReport> check(const QByteArray &bytes, const QString &name, qint64 maxPixels);

    // A full decode into CV_8UC3 BGR, converted (grey, CMYK) and turned by the EXIF
    // orientation as cv::imdecode(IMREAD_COLOR) does, warnings into *report instead of
    // stderr. For damaged files, where cv::imdecode would print to stderr.
    static Result<cv::Mat> decode(const QByteArray &bytes, const QString &name, qint64 maxPixels,
                                  JpegReport *report = nullptr);
};

} // namespace SegScale::Pipeline
