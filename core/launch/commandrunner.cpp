#include "launch/commandrunner.h"

namespace SegScale::Launch {

CommandRunner::~CommandRunner() = default;

Result<void> CommandRunner::writeFile(const QString &path, const QByteArray &data)
{
    // Through sh and cat, so that it works the same on this machine and over an exec
    // channel; the path is an argument, never spliced into the script.
    const auto out = run(QStringLiteral("sh"),
                         {QStringLiteral("-c"), QStringLiteral("umask 077 && mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\""),
                          QStringLiteral("sh"), path},
                         data);
    if (!out)
        return out.error();
    if (out->exitCode != 0)
        return Error{ErrorCategory::Unreadable,
                     QStringLiteral("cannot write %1 on %2: %3").arg(path, where(), out->firstErrorLine())};
    return {};
}

} // namespace SegScale::Launch
