#pragma once
// Csv: RFC 4180 output — fields quoted when they hold a comma, quote, CR or LF, quotes
// doubled, CRLF line ends, UTF-8. Every CSV SegScale writes (segment's files, study
// exports through Jobs::CsvWriter) uses this rule, so an image named "a,b.jpg" never
// shifts a column and the two kinds of file are byte-compatible.

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
