#include "model/zipdirectory.h"

#include "model/pickleunpickler.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace SegScale::Model {

namespace {

constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint32_t kDirectoryEntry = 0x02014b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kEntrySize = 46;

class Bytes {
public:
    explicit Bytes(const QByteArray &b) : m_data(reinterpret_cast<const unsigned char *>(b.constData())), m_size(std::size_t(b.size())) {}
    std::size_t size() const { return m_size; }
    bool has(std::uint64_t at, std::uint64_t n) const { return at <= m_size && n <= m_size - at; }
    std::uint64_t le(std::uint64_t at, int n) const
    {
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i)
            v = v << 8 | m_data[at + std::uint64_t(i)];
        return v;
    }
    std::string text(std::uint64_t at, std::uint64_t n) const { return std::string(reinterpret_cast<const char *>(m_data + at), n); }

private:
    const unsigned char *m_data;
    std::size_t m_size;
};

Error corrupt(const QString &what)
{
    return Error{ErrorCategory::Corrupt, QStringLiteral("damaged zip archive: %1").arg(what)};
}

} // namespace

std::uint32_t ZipDirectory::crc32(const void *data, std::size_t size)
{
    uLong crc = ::crc32(0L, Z_NULL, 0);
    const auto *p = static_cast<const Bytef *>(data);
    // zlib takes uInt lengths: feed large records in pieces.
    while (size > 0) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
        crc = ::crc32(crc, p, n);
        p += n;
        size -= n;
    }
    return static_cast<std::uint32_t>(crc);
}

Result<void> ZipDirectory::verifyStoredRecords(const QByteArray &archive) const
{
    const Bytes b(archive);
    for (const auto &[name, record] : m_records) {
        if (!record.stored)
            continue;
        const std::uint64_t at = record.localHeader;
        if (!b.has(at, 30) || b.le(at, 4) != 0x04034b50)
            return corrupt(QStringLiteral("a record's local header is missing"));
        const std::uint64_t data = at + 30 + b.le(at + 26, 2) + b.le(at + 28, 2);
        if (record.size != record.compressedSize || !b.has(data, record.size))
            return corrupt(QStringLiteral("a stored record's sizes disagree, or it lies outside the file"));
        if (crc32(archive.constData() + data, static_cast<std::size_t>(record.size)) != record.crc32)
            return corrupt(QStringLiteral("record %1 fails its CRC-32 check: its bytes changed after it was written")
                               .arg(QString::fromStdString(PickleUnpickler::printable(name))));
    }
    return {};
}

const ZipRecord *ZipDirectory::find(const std::string &name) const
{
    const auto it = m_records.find(name);
    return it == m_records.end() ? nullptr : &it->second;
}

Result<ZipDirectory> ZipDirectory::read(const QByteArray &archive)
{
    const Bytes b(archive);
    if (b.size() < kEndSize)
        return corrupt(QStringLiteral("too short for an end-of-directory record"));
    // The end record sits in the last 22 bytes plus at most a 65,535-byte comment; search
    // backwards as miniz does.
    std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t lowest = b.size() > kEndSize + 0xFFFF ? b.size() - kEndSize - 0xFFFF : 0;
    for (std::uint64_t at = b.size() - kEndSize + 1; at-- > lowest;) {
        if (b.le(at, 4) == kEndOfDirectory) {
            end = at;
            break;
        }
    }
    if (end == std::numeric_limits<std::uint64_t>::max())
        return corrupt(QStringLiteral("no end-of-directory record"));
    std::uint64_t entries = b.le(end + 10, 2);
    std::uint64_t directorySize = b.le(end + 12, 4);
    std::uint64_t directoryOffset = b.le(end + 16, 4);
    if (entries == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF) {
        if (end < 20 || b.le(end - 20, 4) != kZip64Locator)
            return corrupt(QStringLiteral("a ZIP64 archive without its locator"));
        const std::uint64_t end64 = b.le(end - 20 + 8, 8);
        if (!b.has(end64, 56) || b.le(end64, 4) != kZip64End)
            return corrupt(QStringLiteral("the ZIP64 end record is missing"));
        entries = b.le(end64 + 32, 8);
        directorySize = b.le(end64 + 40, 8);
        directoryOffset = b.le(end64 + 48, 8);
    }
    if (!b.has(directoryOffset, directorySize) || entries > directorySize / kEntrySize)
        return corrupt(QStringLiteral("the central directory lies outside the file"));

    ZipDirectory dir;
    std::uint64_t at = directoryOffset;
    const std::uint64_t limit = directoryOffset + directorySize;
    for (std::uint64_t i = 0; i < entries; ++i) {
        if (at + kEntrySize > limit || b.le(at, 4) != kDirectoryEntry)
            return corrupt(QStringLiteral("central directory entry %1 is damaged").arg(i));
        ZipRecord record;
        record.crc32 = static_cast<std::uint32_t>(b.le(at + 16, 4));
        record.size = b.le(at + 24, 4);
        std::uint64_t compressed = b.le(at + 20, 4);
        const std::uint64_t nameLength = b.le(at + 28, 2), extraLength = b.le(at + 30, 2), commentLength = b.le(at + 32, 2);
        if (at + kEntrySize + nameLength + extraLength + commentLength > limit)
            return corrupt(QStringLiteral("central directory entry %1 runs past the directory").arg(i));
        const std::string name = b.text(at + kEntrySize, nameLength);
        // ZIP64 extra field: the 8-byte values of the fields marked 0xFFFFFFFF, in order.
        if (record.size == 0xFFFFFFFF || compressed == 0xFFFFFFFF) {
            std::uint64_t extra = at + kEntrySize + nameLength;
            const std::uint64_t extraEnd = extra + extraLength;
            bool found = false;
            while (extra + 4 <= extraEnd) {
                const std::uint64_t id = b.le(extra, 2), length = b.le(extra + 2, 2);
                if (extra + 4 + length > extraEnd)
                    break;
                if (id == 0x0001) {
                    std::uint64_t field = extra + 4;
                    found = true;
                    for (std::uint64_t *value : {&record.size, &compressed}) {
                        if (*value != 0xFFFFFFFF)
                            continue;
                        if (field + 8 > extra + 4 + length) {
                            found = false;
                            break;
                        }
                        *value = b.le(field, 8);
                        field += 8;
                    }
                    break;
                }
                extra += 4 + length;
            }
            if (!found)
                return corrupt(QStringLiteral("central directory entry %1 lacks its ZIP64 size").arg(i));
        }
        // Refused before LibTorch's reader allocates what a record claims: torch.save
        // stores records uncompressed, and deflate cannot expand more than 1032-fold.
        if (compressed > b.size() || record.size > compressed * 1032 + 65536)
            return corrupt(QStringLiteral("central directory entry %1 claims %2 bytes from %3 compressed ones")
                               .arg(i).arg(record.size).arg(compressed));
        record.compressedSize = compressed;
        record.stored = b.le(at + 10, 2) == 0;
        record.localHeader = b.le(at + 42, 4);
        if (record.localHeader == 0xFFFFFFFF) {
            // The ZIP64 extra field holds it after the sizes it also holds.
            std::uint64_t extra = at + kEntrySize + nameLength;
            const std::uint64_t extraEnd = extra + extraLength;
            while (extra + 4 <= extraEnd) {
                const std::uint64_t id = b.le(extra, 2), length = b.le(extra + 2, 2);
                if (id == 0x0001) {
                    const std::uint64_t skip = 8 * ((b.le(at + 24, 4) == 0xFFFFFFFF) + (b.le(at + 20, 4) == 0xFFFFFFFF));
                    if (skip + 8 <= length && extra + 4 + skip + 8 <= extraEnd)
                        record.localHeader = b.le(extra + 4 + skip, 8);
                    break;
                }
                extra += 4 + length;
            }
        }
        if (i == 0)
            dir.m_firstName = name;
        if (!dir.m_records.emplace(name, record).second)
            return corrupt(QStringLiteral("the archive names a record twice"));
        at += kEntrySize + nameLength + extraLength + commentLength;
    }
    return dir;
}

} // namespace SegScale::Model
