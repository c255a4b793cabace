#pragma once
// CsvWriter: streams RFC 4180 CSV (UTF-8, CRLF line ends, fields quoted only when they
// hold a comma, a quote or a line break) into a device through a buffer, so exports of
// a million rows neither hold the rows in memory nor pay a write() per field.

#include <QByteArray>
#include <QStringView>

class QIODevice;

namespace SegScale::Jobs {

class CsvWriter {
public:
    explicit CsvWriter(QIODevice *device);
    ~CsvWriter();

    void field(QStringView text);
    void field(qint64 value);
    // Fixed notation with `decimals` digits, '.' as separator whatever the locale.
    void field(double value, int decimals);
    void endRow();
    // Writes what is buffered; false when the device refused (disk full, closed).
    bool flush();
    bool ok() const { return m_ok; }

    static QByteArray quoted(QStringView text);

private:
    void separator();
    QIODevice *m_device;
    QByteArray m_buffer;
    bool m_rowStarted = false;
    bool m_ok = true;
};

} // namespace SegScale::Jobs
