#include "launch/sshcommandrunner.h"

#include "launch/shellcommand.h"

namespace SegScale::Launch {

SshCommandRunner::SshCommandRunner(std::unique_ptr<SshConnection> connection)
    : m_connection(std::move(connection))
{
}

SshCommandRunner::~SshCommandRunner() = default;

Result<CommandOutput> SshCommandRunner::run(const QString &program, const QStringList &arguments, const QByteArray &input,
                                            int timeoutMs)
{
    QStringList words;
    if (!environment().isEmpty()) {
        words << QStringLiteral("env");
        for (auto it = environment().cbegin(); it != environment().cend(); ++it)
            words << it.key() + QLatin1Char('=') + it.value();
    }
    words << program << arguments;
    auto out = m_connection->run(ShellCommand::join(words), input, timeoutMs);
    if (!out)
        return out;
    // env (or the shell) says 127 when the program is not there.
    if (out->exitCode == 127)
        return Error{ErrorCategory::Missing,
                     QStringLiteral("%1 is not installed on %2 (%3)").arg(program, where(), out->firstErrorLine())};
    return out;
}

} // namespace SegScale::Launch
