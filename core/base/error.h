#pragma once
// An expected failure as a value: a closed category users can filter on, plus a message
// that says what happened and to which file. Exceptions never cross a job boundary;
// they are turned into one of these.

#include <QString>
#include <optional>

namespace SegScale {

enum class ErrorCategory {
    Missing,     // the file or object does not exist (dangling link included)
    Unreadable,  // exists but cannot be read (permissions, I/O error, not a regular file)
    Corrupt,     // content is damaged: truncated, garbled, bad checksum
    TooLarge,    // over a configured limit (pixels, bytes): a decompression bomb
    Unsupported, // readable but not an image format we decode (text, HTML, ...)
    Storage,     // a remote storage failed (network, authentication, host key)
    Model,       // the model cannot be loaded or disagrees with its card
    Usage,       // bad arguments or settings given by the user
    Internal,    // a bug or an unexpected exception; please report
};

QString categoryName(ErrorCategory category);
std::optional<ErrorCategory> categoryFromName(const QString &name);
// Whether retrying the same work later may succeed (a network hiccup, a dead worker).
bool isRetryable(ErrorCategory category);

struct Error {
    ErrorCategory category = ErrorCategory::Internal;
    QString message;

    QString toString() const { return categoryName(category) + QStringLiteral(": ") + message; }
};

} // namespace SegScale
