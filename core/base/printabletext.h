#pragma once
// PrintableText: makes text fit for one line of errors.csv, the study database or stderr.
// Messages quote things that come from hostile files (names inside a checkpoint, a
// library's complaint about a damaged image) and file names that may hold control bytes;
// a message must never carry raw binary, terminal escapes or invisible direction marks,
// nor a foreign library's backtrace. Pure functions; thread-safe.

#include <QString>

#include <string>

namespace SegScale {

class PrintableText {
public:
    enum class LineBreaks { ToSpaces, Keep };
    // Line breaks and tabs become spaces (or, with Keep, stay: the study database keeps
    // multi-line messages, CSV quoting carries them); other control and non-printable
    // characters (format marks, unassigned code points) become \xNN or \u{NNNN}; cut to
    // maxChars characters (then "...").
    static QString of(const QString &text, qsizetype maxChars = 1000, LineBreaks lineBreaks = LineBreaks::ToSpaces);

    // A foreign library's exception text reduced to what a user can act on, prefixed
    // with the library ("LibTorch: ..."): its message without a backtrace or the
    // "please report an enhancement request" boilerplate, at most 300 characters,
    // printable. Bytes that are not UTF-8 are shown as \xNN.
    static QString summarise(const QString &library, const std::string &what);

    // Bytes of unknown encoding: UTF-8 when valid, else printable ASCII with \xNN escapes.
    static QString fromBytes(const std::string &bytes, qsizetype maxChars = 1000);
};

} // namespace SegScale
