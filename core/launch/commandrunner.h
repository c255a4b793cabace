#pragma once
// Runs short commands to completion on the machine where a batch system's client tools
// live (sbatch, squeue, scontrol, scancel): this one (LocalCommandRunner) or a login host
// over SSH (SshCommandRunner). The seam that lets SlurmLauncher reach a cluster either
// way, and lets a test substitute a fake.

#include "base/result.h"
#include "launch/commandoutput.h"

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>

namespace SegScale::Launch {

class CommandRunner {
public:
    virtual ~CommandRunner();

    // Runs `program` with `arguments` (never through a shell on this side; quoted for the
    // remote one), feeding `input` to its stdin. A command that ran and exited non-zero is
    // an Output, not an error. Errors: the program does not exist there (Missing; also
    // for exit code 127 of a remote shell), the host cannot be reached (Storage), or the
    // command ran past `timeoutMs` (Internal; it is killed).
    virtual Result<CommandOutput> run(const QString &program, const QStringList &arguments, const QByteArray &input = {},
                                      int timeoutMs = 30000) = 0;
    // Where the commands run, for messages: "localhost" or "user@host:port".
    virtual QString where() const = 0;

    // Added to every command's environment (e.g. SLURM_CONF).
    void setEnvironment(const QMap<QString, QString> &environment) { m_environment = environment; }
    const QMap<QString, QString> &environment() const { return m_environment; }

    // Writes `data` to `path` there (mode 0600 for a new file), creating its folder.
    Result<void> writeFile(const QString &path, const QByteArray &data);

private:
    QMap<QString, QString> m_environment;
};

} // namespace SegScale::Launch
