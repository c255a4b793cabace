#pragma once
// BadInputs: writes a folder holding the ways a real photo collection goes wrong (an
// empty file, a truncated and a garbled JPEG, PNGs with a bad CRC or cut off in the
// middle of their image data, text and an HTML error page saved as .jpg, a decompression
// bomb, a dangling symlink) next to two good images, and says what each must give.
// Shared by the decoder's unit test and the segment CLI tests. Header-only, Qt and
// OpenCV only, so any test can include it.

#include "base/error.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QList>
#include <QString>
#include <QtEndian>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <optional>
#include <vector>

namespace SegScale::Tests {

struct BadInput {
    QString fileName;
    std::optional<ErrorCategory> expected; // empty: a good image that must decode
};

class BadInputs {
public:
    // A good JPEG: the first photo of $SEGSCALE_SHARED_DIR/samples/streets when there is
    // one, else a synthetic 640 x 480 street-like picture encoded with cv::imencode.
    static QByteArray sampleJpeg()
    {
        const QByteArray shared = qgetenv("SEGSCALE_SHARED_DIR");
        if (!shared.isEmpty()) {
            const QDir streets(QString::fromLocal8Bit(shared) + QStringLiteral("/samples/streets"));
            const QStringList jpegs = streets.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
            if (!jpegs.isEmpty()) {
                QFile f(streets.filePath(jpegs.first()));
                if (f.open(QIODevice::ReadOnly))
                    return f.readAll();
            }
        }
        return syntheticJpeg();
    }

    static QByteArray syntheticJpeg(int width = 640, int height = 480)
    {
        cv::Mat img(height, width, CV_8UC3);
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x)
                img.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / width), uchar(y * 255 / height), uchar((x ^ y) & 0xFF));
        }
        cv::rectangle(img, {width / 8, height / 3}, {width / 3, height - 10}, {40, 40, 200}, cv::FILLED);
        cv::circle(img, {width * 2 / 3, height / 2}, height / 5, {220, 220, 30}, cv::FILLED);
        return encode(img, ".jpg");
    }

    static QByteArray encode(const cv::Mat &img, const char *ext, const std::vector<int> &params = {})
    {
        std::vector<uchar> out;
        if (!cv::imencode(ext, img, out, params))
            return {};
        return QByteArray(reinterpret_cast<const char *>(out.data()), qsizetype(out.size()));
    }

    static cv::Mat decode(const QByteArray &bytes)
    {
        const cv::Mat buffer(1, int(bytes.size()), CV_8U, const_cast<char *>(bytes.constData()));
        return cv::imdecode(buffer, cv::IMREAD_COLOR);
    }

    // Writes the folder and returns every file with what decoding it must give.
    static QList<BadInput> write(const QString &dir, const QByteArray &goodJpeg)
    {
        QDir().mkpath(dir);
        const QDir d(dir);
        auto put = [&](const QString &name, const QByteArray &bytes) {
            QFile f(d.filePath(name));
            if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
                f.write(bytes);
        };
        const QByteArray goodPng = encode(decode(goodJpeg), ".png");

        QList<BadInput> list;
        put(QStringLiteral("good.jpg"), goodJpeg);
        list.append({QStringLiteral("good.jpg"), std::nullopt});
        put(QStringLiteral("good.png"), goodPng);
        list.append({QStringLiteral("good.png"), std::nullopt});

        put(QStringLiteral("empty.jpg"), {});
        list.append({QStringLiteral("empty.jpg"), ErrorCategory::Corrupt});
        put(QStringLiteral("truncated.jpg"), goodJpeg.left(goodJpeg.size() / 2));
        list.append({QStringLiteral("truncated.jpg"), ErrorCategory::Corrupt});
        put(QStringLiteral("garbled.jpg"), garbledJpeg(goodJpeg));
        list.append({QStringLiteral("garbled.jpg"), ErrorCategory::Corrupt});
        put(QStringLiteral("bad-crc.png"), badCrcPng(goodPng));
        list.append({QStringLiteral("bad-crc.png"), ErrorCategory::Corrupt});
        put(QStringLiteral("truncated-idat.png"), truncatedIdatPng(goodPng));
        list.append({QStringLiteral("truncated-idat.png"), ErrorCategory::Corrupt});
        put(QStringLiteral("text.jpg"), QByteArrayLiteral("Street survey notes\nimage 1515: lens fogged, retake\n"));
        list.append({QStringLiteral("text.jpg"), ErrorCategory::Unsupported});
        put(QStringLiteral("html.jpg"),
            QByteArrayLiteral("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
                              "<body><h1>Not Found</h1><p>The requested image was not found.</p></body></html>\n"));
        list.append({QStringLiteral("html.jpg"), ErrorCategory::Unsupported});
        put(QStringLiteral("bomb.png"), bombPng(100000, 100000));
        list.append({QStringLiteral("bomb.png"), ErrorCategory::TooLarge});
        QFile::remove(d.filePath(QStringLiteral("dangling.jpg")));
        QFile::link(QStringLiteral("does-not-exist.jpg"), d.filePath(QStringLiteral("dangling.jpg")));
        list.append({QStringLiteral("dangling.jpg"), ErrorCategory::Missing});
        return list;
    }

    // Puts a restart marker and junk in the middle of the entropy-coded data, where
    // libjpeg does not expect one: it warns "Corrupt JPEG data: premature end of data
    // segment" and "... extraneous bytes before marker", fills grey, and carries on.
    static QByteArray garbledJpeg(const QByteArray &jpeg)
    {
        QByteArray out = jpeg;
        // Walk the marker segments to the first scan (an EXIF thumbnail has FF DA too).
        qsizetype sos = 2;
        while (sos + 4 <= out.size() && quint8(out[sos]) == 0xFF && quint8(out[sos + 1]) != 0xDA)
            sos += 2 + qFromBigEndian<quint16>(out.constData() + sos + 2);
        if (sos + 4 > out.size() || quint8(out[sos]) != 0xFF)
            return out.left(out.size() / 3); // not a JPEG we understand: truncate instead
        const qsizetype eoi = out.lastIndexOf(QByteArrayLiteral("\xFF\xD9"));
        if (eoi < sos + 200)
            return out.left(out.size() / 3);
        const qsizetype dataStart = sos + 2 + qFromBigEndian<quint16>(out.constData() + sos + 2);
        const qsizetype at = dataStart + (eoi - dataStart) / 2;
        out[at] = char(0xFF);
        out[at + 1] = char(0xD3);
        for (qsizetype i = at + 2; i < at + 64 && i < eoi; ++i)
            out[i] = char(0xA5);
        return out;
    }

    // Flips one byte in the middle of the first IDAT chunk's data: its CRC no longer fits.
    static QByteArray badCrcPng(const QByteArray &png)
    {
        QByteArray out = png;
        const qsizetype idat = out.indexOf("IDAT") - 4;
        const quint32 length = qFromBigEndian<quint32>(out.constData() + idat);
        out[idat + 8 + length / 2] = char(out[idat + 8 + length / 2] ^ 0xFF);
        return out;
    }

    // Cuts the file in the middle of the first IDAT chunk's data.
    static QByteArray truncatedIdatPng(const QByteArray &png)
    {
        const qsizetype idat = png.indexOf("IDAT") - 4;
        const quint32 length = qFromBigEndian<quint32>(png.constData() + idat);
        return png.left(idat + 8 + length / 2);
    }

    // A valid PNG signature and IHDR (correct CRC) claiming width x height RGB pixels, a
    // little image data and IEND: tiny on disk, tens of gigabytes once decoded.
    static QByteArray bombPng(quint32 width, quint32 height)
    {
        QByteArray ihdr(13, '\0');
        qToBigEndian(width, ihdr.data());
        qToBigEndian(height, ihdr.data() + 4);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        const QByteArray zlib = qCompress(QByteArray(4096, '\0')).mid(4); // qCompress prefixes a length
        return QByteArrayLiteral("\x89PNG\r\n\x1A\n") + pngChunk("IHDR", ihdr) + pngChunk("IDAT", zlib)
            + pngChunk("IEND", {});
    }

    // The offset of the first SOFn marker segment (FF C0..CF but not C4, C8, CC), or -1.
    static qsizetype sofOffset(const QByteArray &jpeg)
    {
        qsizetype at = 2;
        while (at + 4 <= jpeg.size() && quint8(jpeg[at]) == 0xFF) {
            const quint8 marker = quint8(jpeg[at + 1]);
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
                return at;
            if (marker == 0xDA)
                return -1;
            at += 2 + qFromBigEndian<quint16>(jpeg.constData() + at + 2);
        }
        return -1;
    }

    // The same file with a header claiming width x height: the image data stays that of
    // the small original, so almost all of the claimed picture is missing
    // (../shared/hostile/jpeg-header-10954x10954.jpg; and, at 65535 wide, a side over
    // libjpeg's limit of 65500, ../shared/hostile/jpeg-65535-wide.jpg).
    static QByteArray resizedHeaderJpeg(const QByteArray &jpeg, quint16 width, quint16 height)
    {
        QByteArray out = jpeg;
        const qsizetype sof = sofOffset(out);
        if (sof < 0)
            return {};
        qToBigEndian(height, out.data() + sof + 5);
        qToBigEndian(width, out.data() + sof + 7);
        return out;
    }

    // A baseline JPEG whose one scan follows itself again before EOI: every row decodes
    // as in the original, then libjpeg stops: "Didn't expect more than one scan"
    // (../shared/hostile/jpeg-duplicated-scan.jpg).
    static QByteArray duplicatedScanJpeg(const QByteArray &jpeg)
    {
        qsizetype sos = 2;
        while (sos + 4 <= jpeg.size() && quint8(jpeg[sos]) == 0xFF && quint8(jpeg[sos + 1]) != 0xDA)
            sos += 2 + qFromBigEndian<quint16>(jpeg.constData() + sos + 2);
        const qsizetype eoi = jpeg.lastIndexOf(QByteArrayLiteral("\xFF\xD9"));
        if (sos + 4 > jpeg.size() || eoi < sos)
            return {};
        return jpeg.left(eoi) + jpeg.mid(sos, eoi - sos) + QByteArrayLiteral("\xFF\xD9");
    }

    // A valid-CRC critical chunk the PNG standard does not define, after the image data
    // (../shared/hostile/png-unknown-critical-chunk.png).
    static QByteArray unknownCriticalChunkPng(const QByteArray &png)
    {
        const qsizetype iend = png.lastIndexOf("IEND") - 4;
        return png.left(iend) + pngChunk("ABCD", QByteArrayLiteral("critical to something")) + png.mid(iend);
    }

    static QByteArray pngChunk(const char (&type)[5], const QByteArray &data)
    {
        QByteArray chunk(4, '\0');
        qToBigEndian(quint32(data.size()), chunk.data());
        const QByteArray typeAndData = QByteArray(type, 4) + data;
        QByteArray crc(4, '\0');
        qToBigEndian(crc32(typeAndData), crc.data());
        return chunk + typeAndData + crc;
    }

    // The CRC-32 of PNG (ISO 3309), bitwise: tests only hash a few bytes.
    static quint32 crc32(const QByteArray &bytes)
    {
        quint32 crc = 0xFFFFFFFFu;
        for (char c : bytes) {
            crc ^= quint8(c);
            for (int k = 0; k < 8; ++k)
                crc = (crc & 1u) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
};

} // namespace SegScale::Tests
