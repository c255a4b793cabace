#include "launch/linebuffer.h"

namespace SegScale::Launch {

namespace {
// A command that never writes a newline must not grow us without bound.
constexpr qsizetype kMaxLine = 64 * 1024;
} // namespace

QString LineBuffer::decode(QByteArray line)
{
    if (line.endsWith('\r'))
        line.chop(1);
    return QString::fromUtf8(line);
}

QStringList LineBuffer::append(const QByteArray &data)
{
    m_partial += data;
    QStringList lines;
    qsizetype start = 0;
    for (qsizetype newline = m_partial.indexOf('\n'); newline >= 0; newline = m_partial.indexOf('\n', start)) {
        lines.append(decode(m_partial.mid(start, newline - start)));
        start = newline + 1;
    }
    m_partial.remove(0, start);
    if (m_partial.size() > kMaxLine) {
        lines.append(decode(m_partial));
        m_partial.clear();
    }
    return lines;
}

QStringList LineBuffer::flush()
{
    if (m_partial.isEmpty())
        return {};
    QStringList lines{decode(m_partial)};
    m_partial.clear();
    return lines;
}

} // namespace SegScale::Launch
