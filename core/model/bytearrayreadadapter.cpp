#include "model/bytearrayreadadapter.h"

#include <algorithm>
#include <cstring>

namespace SegScale::Model {

size_t ByteArrayReadAdapter::size() const
{
    return static_cast<size_t>(m_bytes.size());
}

size_t ByteArrayReadAdapter::read(uint64_t pos, void *buf, size_t n, const char *) const
{
    // Like a file: a read past the end returns what there is (the zip reader treats a
    // short read as a damaged archive).
    const auto total = static_cast<uint64_t>(m_bytes.size());
    if (pos >= total)
        return 0;
    const size_t available = static_cast<size_t>(std::min<uint64_t>(n, total - pos));
    std::memcpy(buf, m_bytes.constData() + pos, available);
    return available;
}

} // namespace SegScale::Model
