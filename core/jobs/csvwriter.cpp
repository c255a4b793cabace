#include "jobs/csvwriter.h"

#include "base/csv.h"

#include <QIODevice>

#include <charconv>

namespace SegScale::Jobs {

namespace {
constexpr qsizetype kFlushAt = 1 << 16;
}

CsvWriter::CsvWriter(QIODevice *device) : m_device(device)
{
    m_buffer.reserve(kFlushAt + 4096);
}

CsvWriter::~CsvWriter()
{
    flush();
}

QByteArray CsvWriter::quoted(QStringView text)
{
    // One quoting rule for every CSV SegScale writes (segment's files and study exports).
    return Csv::field(text.toString()).toUtf8();
}

void CsvWriter::separator()
{
    if (m_rowStarted)
        m_buffer += ',';
    m_rowStarted = true;
}

void CsvWriter::field(QStringView text)
{
    separator();
    m_buffer += quoted(text);
}

void CsvWriter::field(qint64 value)
{
    separator();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    m_buffer.append(buf, r.ptr - buf);
}

void CsvWriter::field(double value, int decimals)
{
    separator();
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
    if (r.ec == std::errc())
        m_buffer.append(buf, r.ptr - buf);
    else
        m_buffer += QByteArray::number(value, 'f', decimals);  // only for absurd magnitudes
}

void CsvWriter::endRow()
{
    m_buffer += "\r\n";
    m_rowStarted = false;
    if (m_buffer.size() >= kFlushAt)
        flush();
}

bool CsvWriter::flush()
{
    if (!m_buffer.isEmpty() && m_ok) {
        if (m_device->write(m_buffer) != m_buffer.size())
            m_ok = false;
    }
    m_buffer.clear();
    return m_ok;
}

} // namespace SegScale::Jobs
