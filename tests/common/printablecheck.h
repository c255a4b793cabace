#pragma once
// What the hostile-input tests demand of every message a user sees: one printable line,
// no control bytes, nothing invisible.

#include <QString>

namespace SegScale::Tests {

inline bool printable(const QString &message)
{
    for (const char32_t c : message.toUcs4())
        if (c < 0x20 || c == 0x7f || !QChar::isPrint(c))
            return false;
    return true;
}

} // namespace SegScale::Tests
