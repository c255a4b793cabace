#pragma once
// ZipDirectory: the central directory of a zip archive (the torch.save format), as the
// archive records it: every record's CRC-32 and uncompressed size by name (ZIP64
// included). LibTorch's zip reader is built without CRC checks (miniz with
// MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS): a damaged record reads as if intact. The
// checkpoint reader checks each record it uses against this directory.
// A plain value; no LibTorch; thread-safe.

#include "base/result.h"

#include <QByteArray>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace SegScale::Model {

struct ZipRecord {
    std::uint32_t crc32 = 0;
    std::uint64_t size = 0;  // uncompressed
    std::uint64_t compressedSize = 0;
    std::uint64_t localHeader = 0;  // offset of the record's local header
    bool stored = false;            // method 0: the data lies in the archive as is
};

class ZipDirectory {
public:
    // Corrupt when the directory cannot be found or parsed, or names a record twice (two
    // readers could then disagree about which one a name means).
    static Result<ZipDirectory> read(const QByteArray &archive);

    const ZipRecord *find(const std::string &name) const;
    // The first record's name, from which LibTorch takes the archive's folder prefix.
    const std::string &firstName() const { return m_firstName; }
    std::size_t size() const { return m_records.size(); }

    // Checks every stored record of `archive` (the bytes this directory was read from)
    // against its CRC-32 — for TorchScript archives, which LibTorch reads whole. Compressed
    // records are left to whoever inflates them (torch never compresses records).
    Result<void> verifyStoredRecords(const QByteArray &archive) const;

    static std::uint32_t crc32(const void *data, std::size_t size);

private:
    std::unordered_map<std::string, ZipRecord> m_records;
    std::string m_firstName;
};

} // namespace SegScale::Model
