#include "launch/localcommandrunner.h"

#include <QProcess>
#include <QProcessEnvironment>
#include <QStandardPaths>

namespace SegScale::Launch {

Result<CommandOutput> LocalCommandRunner::run(const QString &program, const QStringList &arguments, const QByteArray &input,
                                              int timeoutMs)
{
    if (!program.contains(QLatin1Char('/')) && QStandardPaths::findExecutable(program).isEmpty())
        return Error{ErrorCategory::Missing, QStringLiteral("%1 is not installed on localhost (not found in PATH)").arg(program)};
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (auto it = environment().cbegin(); it != environment().cend(); ++it)
        env.insert(it.key(), it.value());
    process.setProcessEnvironment(env);
    process.start(program, arguments);
    if (!process.waitForStarted(timeoutMs))
        return Error{ErrorCategory::Missing, QStringLiteral("cannot run %1 on localhost: %2").arg(program, process.errorString())};
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(5000);
        return Error{ErrorCategory::Internal,
                     QStringLiteral("%1 on localhost did not finish within %2 s").arg(program).arg(timeoutMs / 1000)};
    }
    CommandOutput out;
    out.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    out.standardOutput = process.readAllStandardOutput();
    out.standardError = process.readAllStandardError();
    return out;
}

} // namespace SegScale::Launch
