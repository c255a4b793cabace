#include "pipeline/imagedecoder.h"

#include "pipeline/imageprobe.h"
#include "pipeline/jpegreader.h"
#include "pipeline/pngreader.h"

#include <QFile>
#include <QFileInfo>

#include <opencv2/imgcodecs.hpp>

#include <climits>
#include <new>

namespace SegScale::Pipeline {

namespace {

Result<cv::Mat> imdecodeColor(const QByteArray &bytes, const QString &name, const QString &format)
{
    if (bytes.size() > INT_MAX)
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1: over 2 GiB, more than OpenCV decodes").arg(name)};
    try {
        // A view on the bytes: cv::imdecode only reads its input.
        const cv::Mat buffer(1, int(bytes.size()), CV_8U, const_cast<char *>(bytes.constData()));
        cv::Mat bgr = cv::imdecode(buffer, cv::IMREAD_COLOR);
        if (bgr.empty() || bgr.type() != CV_8UC3)
            return Error{ErrorCategory::Corrupt, QStringLiteral("%1: damaged %2: OpenCV could not decode it").arg(name, format)};
        return bgr;
    } catch (const cv::Exception &e) {
        return Error{ErrorCategory::Corrupt,
                     QStringLiteral("%1: damaged %2: OpenCV: %3").arg(name, format, QString::fromStdString(e.msg))};
    } catch (const std::bad_alloc &) {
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1: out of memory while decoding").arg(name)};
    }
}

QString jpegWarningText(const JpegReport &report)
{
    QString text = report.warning;
    if (report.warningCount == 2)
        text += QStringLiteral(" (and 1 more warning)");
    else if (report.warningCount > 2)
        text += QStringLiteral(" (and %1 more warnings)").arg(report.warningCount - 1);
    return text;
}

Result<DecodedImage> decodeJpeg(const QByteArray &bytes, const QString &name, const DecodeOptions &options)
{
    const Result<JpegReport> check = JpegReader::check(bytes, name, options.maxPixels);
    if (!check)
        return check.error();
    if (check->warningCount == 0) {
        // Clean: let OpenCV decode it, so that pixels (EXIF orientation included) are
        // exactly what the rest of the world gets from cv::imdecode.
        Result<cv::Mat> bgr = imdecodeColor(bytes, name, QStringLiteral("JPEG"));
        if (!bgr)
            return bgr.error();
        return DecodedImage{std::move(bgr).value(), false, {}};
    }
    const QString warning = jpegWarningText(*check);
    if (!options.acceptDamaged)
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: damaged JPEG: %2").arg(name, warning)};
    // cv::imdecode would print libjpeg's warning to stderr; our own decode does the same
    // work quietly.
    Result<cv::Mat> bgr = JpegReader::decode(bytes, name, options.maxPixels);
    if (!bgr)
        return bgr.error();
    return DecodedImage{std::move(bgr).value(), true, warning};
}

Result<DecodedImage> decodePng(const QByteArray &bytes, const QString &name, const DecodeOptions &options)
{
    PngReport report;
    Result<cv::Mat> bgr = PngReader::decode(bytes, name, options.maxPixels, options.acceptDamaged, &report);
    if (!bgr)
        return bgr.error();
    return DecodedImage{std::move(bgr).value(), !report.damage.isEmpty(), report.damage};
}

Result<DecodedImage> decodeOther(ImageFormat format, const QByteArray &bytes, const QString &name,
                                 const DecodeOptions &options)
{
    const Result<QSize> size = ImageProbe::dimensions(format, bytes, name);
    if (!size)
        return size.error();
    if (qint64(size->width()) * size->height() > options.maxPixels) {
        return Error{ErrorCategory::TooLarge,
                     QStringLiteral("%1: %2 x %3 pixels is over the limit of %4 pixels (a decompression bomb?)")
                         .arg(name).arg(size->width()).arg(size->height()).arg(options.maxPixels)};
    }
    Result<cv::Mat> bgr = imdecodeColor(bytes, name, ImageProbe::formatName(format));
    if (!bgr)
        return bgr.error();
    return DecodedImage{std::move(bgr).value(), false, {}};
}

} // namespace

Result<QByteArray> ImageDecoder::readFile(const QString &path, const DecodeOptions &options)
{
    const QFileInfo info(path);
    if (!info.exists()) {
        if (info.isSymLink()) {
            return Error{ErrorCategory::Missing,
                         QStringLiteral("%1: dangling symbolic link (its target %2 does not exist)")
                             .arg(path, info.symLinkTarget())};
        }
        return Error{ErrorCategory::Missing, QStringLiteral("%1: no such file").arg(path)};
    }
    if (!info.isFile()) {
        // Checked before opening: opening a FIFO would block until someone writes to it.
        const QString what = info.isDir() ? QStringLiteral("a directory") : QStringLiteral("a device, pipe or socket");
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1: not a regular file but %2").arg(path, what)};
    }
    auto tooLarge = [&](qint64 size) {
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1: %2 bytes is over the limit of %3 bytes")
                                                  .arg(path).arg(size).arg(options.maxFileBytes)};
    };
    if (info.size() > options.maxFileBytes)
        return tooLarge(info.size());

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (!QFileInfo::exists(path)) // removed between the checks and the open
            return Error{ErrorCategory::Missing, QStringLiteral("%1: no such file").arg(path)};
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1: cannot be opened: %2").arg(path, file.errorString())};
    }
    // Sizes again from the open file: it may have changed since the first look.
    const qint64 size = file.size();
    if (size > options.maxFileBytes)
        return tooLarge(size);
    if (size == 0)
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: empty file (0 bytes)").arg(path)};
    QByteArray bytes = file.read(size);
    if (file.error() != QFileDevice::NoError)
        return Error{ErrorCategory::Unreadable, QStringLiteral("%1: read error: %2").arg(path, file.errorString())};
    if (bytes.isEmpty())
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: empty file (0 bytes)").arg(path)};
    return bytes;
}

Result<DecodedImage> ImageDecoder::decode(const QByteArray &bytes, const QString &name, const DecodeOptions &options)
{
    if (bytes.isEmpty())
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: empty file (0 bytes)").arg(name)};
    if (bytes.size() > options.maxFileBytes) {
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1: %2 bytes is over the limit of %3 bytes")
                                                  .arg(name).arg(bytes.size()).arg(options.maxFileBytes)};
    }
    const ImageFormat format = ImageProbe::detect(bytes);
    switch (format) {
    case ImageFormat::Jpeg:
        return decodeJpeg(bytes, name, options);
    case ImageFormat::Png:
        return decodePng(bytes, name, options);
    case ImageFormat::Bmp:
    case ImageFormat::Tiff:
    case ImageFormat::WebP:
        return decodeOther(format, bytes, name, options);
    case ImageFormat::Truncated:
        return Error{ErrorCategory::Corrupt,
                     QStringLiteral("%1: truncated: only %2 bytes, it ends inside an image signature").arg(name).arg(bytes.size())};
    case ImageFormat::Unknown:
        break;
    }
    return Error{ErrorCategory::Unsupported, QStringLiteral("%1: not an image (JPEG, PNG, BMP, TIFF or WebP): the content is %2")
                                                 .arg(name, ImageProbe::describeContent(bytes))};
}

Result<DecodedImage> ImageDecoder::load(const QString &path, const DecodeOptions &options)
{
    Result<QByteArray> bytes = readFile(path, options);
    if (!bytes)
        return bytes.error();
    return decode(bytes.value(), path, options);
}

} // namespace SegScale::Pipeline
