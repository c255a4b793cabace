#pragma once
// How a command run to completion ended: its exit code and what it wrote.

#include <QByteArray>
#include <QList>
#include <QString>

namespace SegScale::Launch {

struct CommandOutput {
    int exitCode = -1;
    QByteArray standardOutput;
    QByteArray standardError;

    // The first non-empty line of stderr (else stdout): what an error message quotes.
    QString firstErrorLine() const;
};

} // namespace SegScale::Launch
