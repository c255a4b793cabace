#include "pipeline/imageprobe.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace SegScale::Pipeline {

namespace {

struct Signature {
    ImageFormat format;
    std::string_view magic;
};

// RIFF....WEBP has a size in the middle; it is matched separately below.
constexpr std::array<Signature, 5> Signatures{{
    {ImageFormat::Jpeg, std::string_view("\xFF\xD8\xFF", 3)},
    {ImageFormat::Png, std::string_view("\x89PNG\r\n\x1A\n", 8)},
    {ImageFormat::Tiff, std::string_view("II*\0", 4)},
    {ImageFormat::Tiff, std::string_view("MM\0*", 4)},
    {ImageFormat::Bmp, std::string_view("BM", 2)},
}};

std::uint32_t le16(const QByteArray &b, qsizetype at)
{
    return std::uint32_t(std::uint8_t(b[at])) | std::uint32_t(std::uint8_t(b[at + 1])) << 8;
}

std::uint32_t le24(const QByteArray &b, qsizetype at)
{
    return le16(b, at) | std::uint32_t(std::uint8_t(b[at + 2])) << 16;
}

std::uint32_t le32(const QByteArray &b, qsizetype at)
{
    return le16(b, at) | le16(b, at + 2) << 16;
}

std::uint32_t be16(const QByteArray &b, qsizetype at)
{
    return std::uint32_t(std::uint8_t(b[at])) << 8 | std::uint32_t(std::uint8_t(b[at + 1]));
}

std::uint32_t be32(const QByteArray &b, qsizetype at)
{
    return be16(b, at) << 16 | be16(b, at + 2);
}

Error corrupt(const QString &name, const QString &format, const QString &what)
{
    return Error{ErrorCategory::Corrupt, QStringLiteral("%1: damaged %2 header: %3").arg(name, format, what)};
}

Result<QSize> bmpDimensions(const QByteArray &b, const QString &name)
{
    // "BM" is a weak signature (text can start with it); a BMP's four reserved bytes
    // after the file size are zero.
    for (qsizetype i = 6; i < 10 && i < b.size(); ++i) {
        if (b[i] != '\0')
            return Error{ErrorCategory::Unsupported,
                         QStringLiteral("%1: not an image (starts with \"BM\" but is no BMP): the content is %2")
                             .arg(name, ImageProbe::describeContent(b))};
    }
    if (b.size() < 18)
        return corrupt(name, QStringLiteral("BMP"), QStringLiteral("file ends inside the header"));
    const std::uint32_t headerSize = le32(b, 14);
    switch (headerSize) {
    case 12: // OS/2 BITMAPCOREHEADER: 16-bit sizes
        if (b.size() < 22)
            return corrupt(name, QStringLiteral("BMP"), QStringLiteral("file ends inside the header"));
        return QSize(int(le16(b, 18)), int(le16(b, 20)));
    case 16: case 40: case 52: case 56: case 64: case 108: case 124: {
        if (b.size() < 26)
            return corrupt(name, QStringLiteral("BMP"), QStringLiteral("file ends inside the header"));
        const auto width = std::int32_t(le32(b, 18));
        const auto height = std::int32_t(le32(b, 22)); // negative: rows stored top-down
        if (width <= 0 || height == 0 || height == INT32_MIN)
            return corrupt(name, QStringLiteral("BMP"), QStringLiteral("impossible size %1 x %2").arg(width).arg(height));
        return QSize(width, height < 0 ? -height : height);
    }
    default:
        return Error{ErrorCategory::Unsupported,
                     QStringLiteral("%1: not an image we can read (starts with \"BM\" but has no BMP header)").arg(name)};
    }
}

Result<QSize> tiffDimensions(const QByteArray &b, const QString &name)
{
    const bool little = b.startsWith("II");
    auto u16 = [&](qsizetype at) { return little ? le16(b, at) : be16(b, at); };
    auto u32 = [&](qsizetype at) { return little ? le32(b, at) : be32(b, at); };
    if (b.size() < 8)
        return corrupt(name, QStringLiteral("TIFF"), QStringLiteral("file ends inside the header"));
    const qint64 ifd = u32(4);
    if (ifd < 8 || ifd + 2 > b.size())
        return corrupt(name, QStringLiteral("TIFF"), QStringLiteral("first directory at %1 is outside the file").arg(ifd));
    const qint64 entries = u16(ifd);
    if (ifd + 2 + entries * 12 > b.size())
        return corrupt(name, QStringLiteral("TIFF"), QStringLiteral("file ends inside the first directory"));
    qint64 width = -1, height = -1;
    for (qint64 i = 0; i < entries; ++i) {
        const qint64 entry = ifd + 2 + i * 12;
        const std::uint32_t tag = u16(entry), type = u16(entry + 2);
        if (tag != 256 && tag != 257)
            continue;
        // SHORT values sit left-aligned in the 4-byte value field, whatever the byte order.
        const qint64 value = type == 3 ? qint64(u16(entry + 8)) : type == 4 ? qint64(u32(entry + 8)) : -1;
        (tag == 256 ? width : height) = value;
    }
    if (width <= 0 || height <= 0 || width > INT32_MAX || height > INT32_MAX)
        return corrupt(name, QStringLiteral("TIFF"), QStringLiteral("no usable image width and length in the first directory"));
    return QSize(int(width), int(height));
}

Result<QSize> webpDimensions(const QByteArray &b, const QString &name)
{
    if (b.size() < 30)
        return corrupt(name, QStringLiteral("WebP"), QStringLiteral("file ends inside the header"));
    const QByteArray chunk = b.mid(12, 4);
    if (chunk == "VP8X") // extended format: canvas size, 24 bits each, minus one
        return QSize(int(le24(b, 24)) + 1, int(le24(b, 27)) + 1);
    if (chunk == "VP8L") { // lossless: 0x2F, then 14 bits each, minus one
        if (std::uint8_t(b[20]) != 0x2F)
            return corrupt(name, QStringLiteral("WebP"), QStringLiteral("bad lossless signature"));
        const std::uint32_t bits = le32(b, 21);
        return QSize(int(bits & 0x3FFF) + 1, int((bits >> 14) & 0x3FFF) + 1);
    }
    if (chunk == "VP8 ") { // lossy: a key frame's start code, then 14-bit sizes
        if (std::uint8_t(b[23]) != 0x9D || std::uint8_t(b[24]) != 0x01 || std::uint8_t(b[25]) != 0x2A)
            return corrupt(name, QStringLiteral("WebP"), QStringLiteral("bad key frame start code"));
        return QSize(int(le16(b, 26) & 0x3FFF), int(le16(b, 28) & 0x3FFF));
    }
    return corrupt(name, QStringLiteral("WebP"), QStringLiteral("unknown first chunk"));
}

} // namespace

ImageFormat ImageProbe::detect(const QByteArray &bytes)
{
    const std::string_view head(bytes.constData(), std::size_t(bytes.size()));
    for (const Signature &s : Signatures) {
        if (head.starts_with(s.magic))
            return s.format;
    }
    if (bytes.size() >= 12 && bytes.startsWith("RIFF") && bytes.mid(8, 4) == "WEBP")
        return ImageFormat::WebP;
    // A file cut off inside a strong signature is a damaged image, not foreign content.
    // (BMP's two letters are too weak to count; "RIFF" alone could be a WAV file.)
    for (const Signature &s : Signatures) {
        if (s.magic.size() > 2 && !head.empty() && head.size() < s.magic.size() && s.magic.starts_with(head))
            return ImageFormat::Truncated;
    }
    return ImageFormat::Unknown;
}

QString ImageProbe::formatName(ImageFormat format)
{
    switch (format) {
    case ImageFormat::Jpeg: return QStringLiteral("JPEG");
    case ImageFormat::Png: return QStringLiteral("PNG");
    case ImageFormat::Bmp: return QStringLiteral("BMP");
    case ImageFormat::Tiff: return QStringLiteral("TIFF");
    case ImageFormat::WebP: return QStringLiteral("WebP");
    case ImageFormat::Truncated: return QStringLiteral("truncated image");
    case ImageFormat::Unknown: break;
    }
    return QStringLiteral("unknown");
}

Result<QSize> ImageProbe::dimensions(ImageFormat format, const QByteArray &bytes, const QString &name)
{
    switch (format) {
    case ImageFormat::Bmp: return bmpDimensions(bytes, name);
    case ImageFormat::Tiff: return tiffDimensions(bytes, name);
    case ImageFormat::WebP: return webpDimensions(bytes, name);
    default: break;
    }
    return Error{ErrorCategory::Internal,
                 QStringLiteral("%1: ImageProbe::dimensions called for %2").arg(name, formatName(format))};
}

QString ImageProbe::describeContent(const QByteArray &bytes)
{
    QByteArray head = bytes.left(512);
    if (head.startsWith("\xEF\xBB\xBF"))
        head.remove(0, 3);
    const QByteArray trimmed = head.trimmed().toLower();
    if (trimmed.startsWith("<!doctype html") || trimmed.startsWith("<html") || trimmed.contains("<body"))
        return QStringLiteral("HTML (perhaps an error page saved in place of the image)");
    if (trimmed.startsWith("<?xml") || trimmed.startsWith("<svg"))
        return QStringLiteral("XML or SVG");
    if (trimmed.startsWith("{") || trimmed.startsWith("["))
        return QStringLiteral("JSON or other text");
    bool text = !head.isEmpty();
    for (char c : std::as_const(head)) {
        const auto u = std::uint8_t(c);
        if (u < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') {
            text = false;
            break;
        }
    }
    return text ? QStringLiteral("text") : QStringLiteral("data of an unknown kind");
}

} // namespace SegScale::Pipeline
