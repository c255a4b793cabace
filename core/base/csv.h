#pragma once
// Csv: RFC 4180 output — fields quoted when they hold a comma, quote, CR or LF, quotes
// doubled, CRLF-free (LF line ends, which every CSV reader accepts), UTF-8. Used by every
// CSV SegScale writes so that an image named "a,b.jpg" never shifts a column.

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <vector>

namespace SegScale {

class Csv {
public:
    static QString field(const QString &value);
    static QByteArray row(const QStringList &fields);
    // Fractions as the CLI contract fixes them: 6 decimals.
    static QString fraction(double value) { return QString::number(value, 'f', 6); }
    // Parses one CSV document (for tests and for reading exports back).
    static std::vector<QStringList> parse(const QByteArray &document);
};

} // namespace SegScale
