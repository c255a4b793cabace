#include "base/printabletext.h"

#include <QList>
#include <QStringDecoder>

namespace SegScale {

QString PrintableText::of(const QString &text, qsizetype maxChars, LineBreaks lineBreaks)
{
    QString out;
    out.reserve(qMin(text.size(), maxChars) + 8);
    qsizetype chars = 0;
    for (const char32_t c : text.toUcs4()) {
        if (chars >= maxChars) {
            out += QStringLiteral("...");
            break;
        }
        ++chars;
        if (lineBreaks == LineBreaks::Keep && (c == U'\n' || c == U'\r' || c == U'\t')) {
            out += QChar(char16_t(c));
        } else if (c == U'\n' || c == U'\r' || c == U'\t') {
            // Runs of breaks ("\r\n", blank lines) read as one space.
            if (!out.endsWith(QLatin1Char(' ')))
                out += QLatin1Char(' ');
        } else if (c < 0x80 && (c < 0x20 || c == 0x7f)) {
            out += QStringLiteral("\\x%1").arg(uint(c), 2, 16, QLatin1Char('0'));
        } else if (c >= 0x80 && !QChar::isPrint(c)) {
            out += QStringLiteral("\\u{%1}").arg(uint(c), 4, 16, QLatin1Char('0'));
        } else {
            out += QString::fromUcs4(&c, 1);
        }
    }
    return out;
}

QString PrintableText::fromBytes(const std::string &bytes, qsizetype maxChars)
{
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString decoded = utf8(QByteArrayView(bytes.data(), qsizetype(bytes.size())));
    if (!utf8.hasError())
        return of(decoded, maxChars);
    QString out;
    for (const char ch : bytes) {
        if (out.size() >= maxChars) {
            out += QStringLiteral("...");
            break;
        }
        const auto u = static_cast<unsigned char>(ch);
        if (u >= 0x20 && u < 0x7f)
            out += QLatin1Char(ch);
        else
            out += QStringLiteral("\\x%1").arg(uint(u), 2, 16, QLatin1Char('0'));
    }
    return out;
}

QString PrintableText::summarise(const QString &library, const std::string &what)
{
    QString text = fromBytes(what.substr(0, 4096), 4096);
    // LibTorch: "<message>\nException raised from <function> at <file>:<line> (most recent
    // call first):\n<frames>" and, for a bare TORCH_CHECK, "Expected x to be true, but got
    // false.  (Could this error message be improved?  If so, please report an
    // enhancement request to PyTorch.)".
    for (const QString &cut : {QStringLiteral("Exception raised from"), QStringLiteral("(Could this error message be improved?"),
                               QStringLiteral("frame #0")}) {
        const qsizetype at = text.indexOf(cut);
        if (at >= 0)
            text.truncate(at);
    }
    // fromBytes turned line breaks into spaces; the first line is what remains of
    // multi-line texts after the cuts above.
    text = text.simplified();
    if (text.isEmpty())
        text = QStringLiteral("an error without a message");
    if (text.size() > 300)
        text = text.left(300) + QStringLiteral("...");
    return library + QStringLiteral(": ") + text;
}

} // namespace SegScale
