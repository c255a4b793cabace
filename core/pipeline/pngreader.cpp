#include "pipeline/pngreader.h"

#include <QStringList>

#include <algorithm>
#include <csetjmp>
#include <optional>
#include <cstring>
#include <vector>

#include <png.h>
#include <zlib.h>

namespace SegScale::Pipeline {

namespace {

constexpr png_uint_32 ChunkIdat = 0x49444154; // "IDAT", as png_get_io_chunk_type gives it
constexpr qsizetype SignatureSize = 8;

png_uint_32 be32(const QByteArray &b, qsizetype at)
{
    const auto *p = reinterpret_cast<const unsigned char *>(b.constData()) + at;
    return png_uint_32(p[0]) << 24 | png_uint_32(p[1]) << 16 | png_uint_32(p[2]) << 8 | png_uint_32(p[3]);
}

bool crcMatches(const QByteArray &b, qsizetype chunk, png_uint_32 length)
{
    const auto *typeAndData = reinterpret_cast<const Bytef *>(b.constData()) + chunk + 4;
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), typeAndData, uInt(length + 4));
    return crc == be32(b, chunk + 8 + qsizetype(length));
}

struct Ihdr {
    png_uint_32 width = 0;
    png_uint_32 height = 0;
};

// The first chunk must be an intact IHDR; its size is all we need to refuse a bomb.
Result<Ihdr> readIhdr(const QByteArray &b, const QString &name)
{
    auto corrupt = [&](const QString &why) {
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: unreadable PNG: %2").arg(name, why)};
    };
    if (b.size() < SignatureSize + 8 + 13 + 4)
        return corrupt(QStringLiteral("the file ends inside the IHDR chunk"));
    if (be32(b, SignatureSize) != 13 || b.mid(SignatureSize + 4, 4) != "IHDR")
        return corrupt(QStringLiteral("the first chunk is not an IHDR chunk"));
    if (!crcMatches(b, SignatureSize, 13))
        return corrupt(QStringLiteral("CRC error in the IHDR chunk: the image size cannot be trusted"));
    Ihdr h;
    h.width = be32(b, SignatureSize + 8);
    h.height = be32(b, SignatureSize + 12);
    if (h.width == 0 || h.height == 0 || h.width > 0x7FFFFFFFu || h.height > 0x7FFFFFFFu)
        return corrupt(QStringLiteral("impossible size %1 x %2 in IHDR").arg(h.width).arg(h.height));
    return h;
}

// Walks every chunk, checking its length and CRC, up to IEND. libpng checks CRCs too but
// only warns about ancillary chunks and stops at the first error; this gives one clear
// account of the damage before any pixel is decoded, and a missing IEND is noticed even
// though libpng would have all the pixels by then.
QStringList structuralDamage(const QByteArray &b)
{
    QStringList damage;
    qsizetype pos = SignatureSize;
    bool sawIend = false;
    while (pos < b.size()) {
        if (b.size() - pos < 12) {
            damage << QStringLiteral("the file ends inside a chunk header at byte %1 (truncated)").arg(pos);
            return damage;
        }
        const png_uint_32 length = be32(b, pos);
        const QByteArray type = b.mid(pos + 4, 4);
        bool typeOk = true;
        for (char c : type)
            typeOk = typeOk && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
        if (!typeOk || length > 0x7FFFFFFFu) {
            damage << QStringLiteral("no valid chunk at byte %1 (garbled data)").arg(pos);
            return damage;
        }
        const QString typeName = QString::fromLatin1(type);
        if (qint64(b.size()) - pos - 12 < qint64(length)) {
            damage << QStringLiteral("the file ends inside the %1 chunk at byte %2 (truncated: %3 of its %4 bytes present)")
                          .arg(typeName).arg(pos).arg(qMax<qint64>(0, qint64(b.size()) - pos - 8)).arg(length);
            return damage;
        }
        if (!crcMatches(b, pos, length))
            damage << QStringLiteral("CRC error in the %1 chunk at byte %2").arg(typeName).arg(pos);
        pos += 12 + qsizetype(length);
        if (type == "IEND") {
            sawIend = true;
            break; // what follows IEND is not part of the image, and libpng never reads it
        }
    }
    if (!sawIend)
        damage << QStringLiteral("no IEND chunk (the file was cut short)");
    return damage;
}

// The first intact chunk (valid CRC) before IEND whose type says "critical" (upper-case
// first letter) but that PNG does not define. The standard says a decoder must not show
// such an image, which depends on the chunk; libpng and OpenCV refuse it. Our decode
// stops reading at the last row and would never see a chunk after the image data.
std::optional<QString> unknownCriticalChunk(const QByteArray &b)
{
    static const QByteArrayList known{"IHDR", "PLTE", "IDAT", "IEND"};
    qsizetype pos = SignatureSize;
    while (b.size() - pos >= 12) {
        const png_uint_32 length = be32(b, pos);
        if (length > 0x7FFFFFFFu || qint64(b.size()) - pos - 12 < qint64(length))
            return std::nullopt;  // damage: structuralDamage reports it
        const QByteArray type = b.mid(pos + 4, 4);
        if (type == "IEND")
            return std::nullopt;
        const bool letters = std::all_of(type.begin(), type.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
        if (letters && type[0] >= 'A' && type[0] <= 'Z' && !known.contains(type) && crcMatches(b, pos, length))
            return QStringLiteral("%1 at byte %2").arg(QString::fromLatin1(type)).arg(pos);
        pos += 12 + qsizetype(length);
    }
    return std::nullopt;
}

// All libpng state of one call. Plain data only, and the functions that call setjmp
// below hold no C++ object with a destructor: libpng leaves through longjmp.
struct Session {
    png_structp png = nullptr;
    png_infop info = nullptr;
    const unsigned char *data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
    bool rowsDone = false;
    int dataWarnings = 0;
    char firstDataWarning[256] = {};
    char fatal[256] = {};

    Session() = default;
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session()
    {
        if (png)
            png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    }
};

void copyMessage(char (&to)[256], png_const_charp message)
{
    std::strncpy(to, message ? message : "", sizeof to - 1);
    to[sizeof to - 1] = '\0';
}

void onError(png_structp png, png_const_charp message)
{
    auto *s = static_cast<Session *>(png_get_error_ptr(png));
    copyMessage(s->fatal, message);
    png_longjmp(png, 1);
}

// Warnings about the image data (extra or missing compressed data) mean damaged pixels;
// warnings about metadata chunks (an odd ICC profile, bad text) do not change a pixel of
// what we decode, and flagging them would fail many good photos.
void onWarning(png_structp png, png_const_charp message)
{
    auto *s = static_cast<Session *>(png_get_error_ptr(png));
    if (png_get_io_chunk_type(png) != ChunkIdat)
        return;
    if (s->dataWarnings++ == 0)
        copyMessage(s->firstDataWarning, message);
}

void onRead(png_structp png, png_bytep out, std::size_t length)
{
    auto *s = static_cast<Session *>(png_get_io_ptr(png));
    if (length > s->size - s->pos)
        png_error(png, "the file ends early (truncated)");
    std::memcpy(out, s->data + s->pos, length);
    s->pos += length;
}

// Sets up the transformations of OpenCV's PngDecoder::readData for IMREAD_COLOR.
bool readInfo(Session &s)
{
    if (setjmp(png_jmpbuf(s.png)))
        return false;
    png_set_read_fn(s.png, &s, onRead);
    // The structural walk has judged the CRCs already; here they would only stop us
    // decoding a file the caller agreed to accept damaged.
    png_set_crc_action(s.png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_read_info(s.png, s.info);
    const int colorType = png_get_color_type(s.png, s.info);
    const int bitDepth = png_get_bit_depth(s.png, s.info);
    if (bitDepth == 16)
        png_set_strip_16(s.png);
    png_set_strip_alpha(s.png);
    if (colorType == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(s.png);
    if ((colorType & PNG_COLOR_MASK_COLOR) == 0 && bitDepth < 8)
        png_set_expand_gray_1_2_4_to_8(s.png);
    if (colorType & PNG_COLOR_MASK_COLOR)
        png_set_bgr(s.png);
    else
        png_set_gray_to_rgb(s.png);
    png_set_interlace_handling(s.png);
    png_read_update_info(s.png, s.info);
    return true;
}

bool readRows(Session &s, png_bytepp rows)
{
    if (setjmp(png_jmpbuf(s.png)))
        return false;
    png_read_image(s.png, rows);
    s.rowsDone = true;
    png_read_end(s.png, nullptr);
    return true;
}

} // namespace

Result<cv::Mat> PngReader::decode(const QByteArray &bytes, const QString &name, qint64 maxPixels, bool acceptDamaged,
                                  PngReport *report)
{
    auto corrupt = [&](const QString &why) {
        return Error{ErrorCategory::Corrupt, QStringLiteral("%1: damaged PNG: %2").arg(name, why)};
    };
    if (bytes.size() < SignatureSize || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.constData()), 0, 8) != 0)
        return corrupt(QStringLiteral("no PNG signature"));
    const Result<Ihdr> ihdr = readIhdr(bytes, name);
    if (!ihdr)
        return ihdr.error();
    const qint64 width = ihdr->width, height = ihdr->height;
    if (width * height > maxPixels) {
        return Error{ErrorCategory::TooLarge,
                     QStringLiteral("%1: %2 x %3 pixels is over the limit of %4 pixels (a decompression bomb?)")
                         .arg(name).arg(width).arg(height).arg(maxPixels)};
    }

    if (const auto chunk = unknownCriticalChunk(bytes))
        return Error{ErrorCategory::Unsupported,
                     QStringLiteral("%1: PNG with an unknown critical chunk %2: the image depends on something this "
                                    "decoder does not know (libpng and OpenCV refuse it too)")
                         .arg(name, *chunk)};

    QStringList damage = structuralDamage(bytes);
    if (!damage.isEmpty() && !acceptDamaged)
        return corrupt(damage.join(QStringLiteral("; ")));

    Session s;
    s.data = reinterpret_cast<const unsigned char *>(bytes.constData());
    s.size = std::size_t(bytes.size());
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, onError, onWarning);
    if (s.png)
        s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info)
        return Error{ErrorCategory::Internal, QStringLiteral("%1: libpng could not allocate its state").arg(name)};
    // Our own limit was checked above; libpng's default (a million per side) must not be
    // the stricter one.
    png_set_user_limits(s.png, 0x7FFFFFFF, 0x7FFFFFFF);

    auto failure = [&](const char *libpngSays) {
        damage << QStringLiteral("libpng: %1").arg(QString::fromLatin1(libpngSays));
        return corrupt(damage.join(QStringLiteral("; ")));
    };
    if (!readInfo(s))
        return failure(s.fatal);
    if (png_get_rowbytes(s.png, s.info) != std::size_t(width) * 3)
        return Error{ErrorCategory::Internal,
                     QStringLiteral("%1: PNG rows are %2 bytes after conversion, expected %3")
                         .arg(name).arg(png_get_rowbytes(s.png, s.info)).arg(width * 3)};

    cv::Mat bgr(int(height), int(width), CV_8UC3);
    std::vector<png_bytep> rows(static_cast<std::size_t>(height));
    for (int y = 0; y < bgr.rows; ++y)
        rows[std::size_t(y)] = bgr.ptr<png_byte>(y);
    if (!readRows(s, rows.data())) {
        if (!s.rowsDone)
            return failure(s.fatal);
        // All pixels are in; only what follows them is broken (usually a missing IEND,
        // which the walk has reported already).
        if (damage.isEmpty())
            damage << QStringLiteral("libpng: %1").arg(QString::fromLatin1(s.fatal));
    }
    if (s.dataWarnings > 0)
        damage << QStringLiteral("libpng: %1").arg(QString::fromLatin1(s.firstDataWarning));
    if (!damage.isEmpty() && !acceptDamaged)
        return corrupt(damage.join(QStringLiteral("; ")));

    if (report) {
        report->width = int(width);
        report->height = int(height);
        report->damage = damage.join(QStringLiteral("; "));
    }
    return bgr;
}

} // namespace SegScale::Pipeline
