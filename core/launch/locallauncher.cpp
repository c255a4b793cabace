#include "launch/locallauncher.h"

#include "launch/linebuffer.h"
#include "launch/shellcommand.h"

#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QTimer>

#include <csignal>
#include <unistd.h>

namespace SegScale::Launch {

struct LocalLauncher::Child {
    QString id;
    std::unique_ptr<QProcess> process;
    LineBuffer out;
    LineBuffer err;
    qint64 pid = 0;
    int graceMs = 5000;
    bool stopRequested = false;
};

LocalLauncher::LocalLauncher(QObject *parent)
    : Launcher(parent)
{
}

LocalLauncher::~LocalLauncher()
{
    for (const auto &child : std::as_const(m_children)) {
        if (child->process->state() == QProcess::NotRunning)
            continue;
        child->process->disconnect(this);
        signalGroup(child.get(), SIGKILL);
        child->process->waitForFinished(5000);
    }
}

Result<QStringList> LocalLauncher::start(const LaunchSpec &spec)
{
    if (spec.program.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("nothing to launch: no program given")};
    if (spec.count < 1)
        return Error{ErrorCategory::Usage, QStringLiteral("cannot launch %1 copies of %2").arg(spec.count).arg(spec.program)};
    const QString program = spec.program.contains(QLatin1Char('/')) ? spec.program : QStandardPaths::findExecutable(spec.program);
    if (program.isEmpty() || !QFileInfo(program).isExecutable())
        return Error{ErrorCategory::Missing, QStringLiteral("cannot launch %1 on localhost: no such program").arg(spec.program)};
    if (!spec.workingDirectory.isEmpty() && !QFileInfo(spec.workingDirectory).isDir())
        return Error{ErrorCategory::Missing,
                     QStringLiteral("cannot launch %1: working folder %2 does not exist").arg(spec.program, spec.workingDirectory)};

    QStringList ids;
    for (int index = 0; index < spec.count; ++index) {
        const QString name = spec.namePrefix + QLatin1Char('-') + QString::number(index);
        auto child = std::make_shared<Child>();
        child->id = QStringLiteral("local:%1").arg(m_nextId++);
        child->graceMs = spec.stopGraceMs;
        child->process = std::make_unique<QProcess>();
        QProcess *process = child->process.get();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (auto it = spec.environment.cbegin(); it != spec.environment.cend(); ++it)
            env.insert(it.key(), ShellCommand::substitute(it.value(), index, name));
        process->setProcessEnvironment(env);
        if (!spec.workingDirectory.isEmpty())
            process->setWorkingDirectory(spec.workingDirectory);
        QStringList arguments;
        for (const QString &a : spec.arguments)
            arguments << ShellCommand::substitute(a, index, name);
        process->setProgram(program);
        process->setArguments(arguments);
        // A group of its own: stop() signals the group, so a shell's children end too.
        process->setChildProcessModifier([] { ::setpgid(0, 0); });

        Child *raw = child.get();
        connect(process, &QProcess::started, this, [this, raw] {
            raw->pid = raw->process->processId();
            updateAgent(raw->id, LaunchedAgent::State::Running, -1, QStringLiteral("pid %1 on localhost").arg(raw->pid));
        });
        connect(process, &QProcess::readyReadStandardOutput, this, [this, raw] { readOutput(raw, false); });
        connect(process, &QProcess::readyReadStandardError, this, [this, raw] { readOutput(raw, true); });
        connect(process, &QProcess::finished, this, [this, raw](int exitCode, QProcess::ExitStatus status) {
            finish(raw, exitCode, status == QProcess::CrashExit);
        });
        connect(process, &QProcess::errorOccurred, this, [this, raw](QProcess::ProcessError error) {
            if (error == QProcess::FailedToStart)
                updateAgent(raw->id, LaunchedAgent::State::Failed, -1,
                            QStringLiteral("cannot start %1: %2").arg(raw->process->program(), raw->process->errorString()));
        });

        m_children.insert(child->id, child);
        addAgent(LaunchedAgent{child->id, name, index, LaunchedAgent::State::Starting, -1, QString()});
        ids << child->id;
        process->start();
    }
    return ids;
}

void LocalLauncher::readOutput(Child *child, bool standardError)
{
    const QByteArray data = standardError ? child->process->readAllStandardError() : child->process->readAllStandardOutput();
    for (const QString &line : (standardError ? child->err : child->out).append(data))
        Q_EMIT logLineReceived(child->id, line);
}

void LocalLauncher::finish(Child *child, int exitCode, bool crashed)
{
    readOutput(child, false);
    readOutput(child, true);
    for (LineBuffer *buffer : {&child->out, &child->err})
        for (const QString &line : buffer->flush())
            Q_EMIT logLineReceived(child->id, line);
    if (child->stopRequested) {
        // Whatever it left behind in its group goes with it.
        signalGroup(child, SIGKILL);
        updateAgent(child->id, LaunchedAgent::State::Stopped, crashed ? -1 : exitCode, QStringLiteral("stopped"));
    } else if (crashed) {
        updateAgent(child->id, LaunchedAgent::State::Failed, -1, QStringLiteral("killed by a signal"));
    } else {
        updateAgent(child->id, LaunchedAgent::State::Exited, exitCode, QStringLiteral("exit code %1").arg(exitCode));
    }
}

void LocalLauncher::signalGroup(const Child *child, int signal) const
{
    const qint64 pid = child->pid > 0 ? child->pid : child->process->processId();
    // Before the child has made its group (just forked), the group does not exist yet.
    if (pid > 0 && ::kill(static_cast<pid_t>(-pid), signal) != 0)
        ::kill(static_cast<pid_t>(pid), signal);
}

Result<void> LocalLauncher::stop(const QString &id)
{
    const auto it = m_children.constFind(id);
    if (it == m_children.constEnd())
        return Error{ErrorCategory::Usage, QStringLiteral("no launched agent %1").arg(id)};
    Child *child = it->get();
    if (child->process->state() == QProcess::NotRunning || child->stopRequested)
        return {};
    child->stopRequested = true;
    signalGroup(child, SIGTERM);
    QTimer::singleShot(child->graceMs, this, [this, id] {
        const auto found = m_children.constFind(id);
        if (found != m_children.constEnd() && (*found)->process->state() != QProcess::NotRunning)
            signalGroup(found->get(), SIGKILL);
    });
    return {};
}

void LocalLauncher::stopAll()
{
    for (const QString &id : m_children.keys())
        (void)stop(id);
}

} // namespace SegScale::Launch
