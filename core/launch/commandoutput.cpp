#include "launch/commandoutput.h"

#include <QString>

namespace SegScale::Launch {

QString CommandOutput::firstErrorLine() const
{
    for (const QByteArray &stream : {standardError, standardOutput}) {
        for (const QByteArray &line : stream.split('\n')) {
            if (!line.trimmed().isEmpty())
                return QString::fromUtf8(line.trimmed());
        }
    }
    return QStringLiteral("no output");
}

} // namespace SegScale::Launch
