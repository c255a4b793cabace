#pragma once
// Cuts a byte stream into lines as it arrives in pieces (a pipe, an SSH channel), so a
// log line is announced whole even when it came in two reads. A line without its end
// is given out by flush() when the stream ends. Lines are decoded as UTF-8.

#include <QByteArray>
#include <QStringList>

namespace SegScale::Launch {

class LineBuffer {
public:
    // The complete lines in `data` plus what was kept from before, without newlines.
    QStringList append(const QByteArray &data);
    // What is left (a last line without a newline), or nothing.
    QStringList flush();

private:
    static QString decode(QByteArray line);
    QByteArray m_partial;
};

} // namespace SegScale::Launch
