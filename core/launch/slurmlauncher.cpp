#include "launch/slurmlauncher.h"

#include "launch/batchscript.h"
#include "launch/localcommandrunner.h"
#include "launch/sshcommandrunner.h"
#include "launch/sshconnection.h"

#include <QDateTime>
#include <QDir>
#include <QRegularExpression>

namespace SegScale::Launch {

namespace {

// Task indices in a squeue job id: "123_4" -> {4}; "123_[0-3,7%2]" -> {0,1,2,3,7}.
QList<int> taskIndices(const QString &jobField, const QString &jobId)
{
    const QString rest = jobField.mid(jobId.size() + 1);
    QList<int> tasks;
    if (!rest.startsWith(QLatin1Char('['))) {
        bool ok = false;
        const int task = rest.toInt(&ok);
        if (ok)
            tasks << task;
        return tasks;
    }
    const QString list = rest.mid(1).section(QLatin1Char(']'), 0, 0).section(QLatin1Char('%'), 0, 0);
    for (const QString &range : list.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const int from = range.section(QLatin1Char('-'), 0, 0).toInt();
        const int to = range.contains(QLatin1Char('-')) ? range.section(QLatin1Char('-'), 1, 1).toInt() : from;
        for (int t = from; t <= to && t - from < 100000; ++t)
            tasks << t;
    }
    return tasks;
}

bool isQueuedState(const QString &state)
{
    return state == QLatin1StringView("PENDING") || state == QLatin1StringView("REQUEUED") ||
           state == QLatin1StringView("REQUEUE_HOLD") || state == QLatin1StringView("REQUEUE_FED");
}

bool isActiveState(const QString &state)
{
    static const QSet<QString> active{QStringLiteral("RUNNING"),   QStringLiteral("CONFIGURING"), QStringLiteral("COMPLETING"),
                                      QStringLiteral("SUSPENDED"), QStringLiteral("STOPPED"),     QStringLiteral("SIGNALING"),
                                      QStringLiteral("RESIZING"),  QStringLiteral("STAGE_OUT"),   QStringLiteral("RESV_DEL_HOLD")};
    return active.contains(state);
}

QHash<QString, QString> keyValues(const QString &line)
{
    static const QRegularExpression pair(QStringLiteral("(\\w+)=(\\S*)"));
    QHash<QString, QString> values;
    for (auto it = pair.globalMatch(line); it.hasNext();) {
        const auto m = it.next();
        values.insert(m.captured(1), m.captured(2));
    }
    return values;
}

} // namespace

SlurmLauncher::SlurmLauncher(QObject *parent)
    : Launcher(parent)
{
    connect(&m_poll, &QTimer::timeout, this, &SlurmLauncher::poll);
}

SlurmLauncher::~SlurmLauncher() = default;

void SlurmLauncher::setCommandRunner(std::unique_ptr<CommandRunner> runner)
{
    m_runner = std::move(runner);
}

Result<QStringList> SlurmLauncher::start(const LaunchSpec &spec)
{
    if (spec.program.isEmpty())
        return Error{ErrorCategory::Usage, QStringLiteral("nothing to launch: no program given")};
    if (spec.count < 1)
        return Error{ErrorCategory::Usage, QStringLiteral("cannot launch %1 copies of %2").arg(spec.count).arg(spec.program)};
    if (!m_runner) {
        if (spec.ssh.host.isEmpty()) {
            m_runner = std::make_unique<LocalCommandRunner>();
        } else {
            auto connection = SshConnection::open(spec.ssh);
            if (!connection)
                return Error{connection.error().category,
                             QStringLiteral("cannot reach the Slurm login host %1: %2")
                                 .arg(SshConnection::displayHost(spec.ssh.host), connection.error().message)};
            m_runner = std::make_unique<SshCommandRunner>(std::move(*connection));
        }
    }
    m_runner->setEnvironment(spec.slurm.commandEnvironment);

    QString directory = spec.slurm.scriptDirectory;
    if (directory.isEmpty())
        directory = spec.ssh.host.isEmpty() ? QDir::homePath() + QStringLiteral("/.segscale/slurm") : QStringLiteral(".segscale/slurm");
    const auto script = BatchScript::render(spec, directory);
    if (!script)
        return script.error();
    const QString scriptPath = directory + QLatin1Char('/') + spec.namePrefix + QLatin1Char('-') +
                               QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz")) +
                               QStringLiteral(".sbatch");
    if (auto written = m_runner->writeFile(scriptPath, *script); !written)
        return written.error();

    const QString array = QStringLiteral("--array=0-%1").arg(spec.count - 1);
    const auto submitted = m_runner->run(QStringLiteral("sbatch"), {QStringLiteral("--parsable"), array, scriptPath});
    if (!submitted)
        return Error{submitted.error().category, QStringLiteral("cannot submit to Slurm: %1").arg(submitted.error().message)};
    if (submitted->exitCode != 0)
        return Error{ErrorCategory::Usage, QStringLiteral("sbatch on %1 refused %2: %3")
                                               .arg(m_runner->where(), scriptPath, submitted->firstErrorLine())};
    // --parsable: "jobid" or "jobid;cluster"
    const QString jobId = QString::fromUtf8(submitted->standardOutput).trimmed().section(QLatin1Char(';'), 0, 0);
    if (jobId.isEmpty() || !jobId.contains(QRegularExpression(QStringLiteral("^[0-9]+$"))))
        return Error{ErrorCategory::Internal, QStringLiteral("sbatch on %1 answered \"%2\", not a job id")
                                                  .arg(m_runner->where(), QString::fromUtf8(submitted->standardOutput).trimmed())};

    Job job;
    job.jobId = jobId;
    job.logDirectory = directory;
    job.spec = spec;
    for (int task = 0; task < spec.count; ++task) {
        const QString id = QStringLiteral("slurm:%1_%2").arg(jobId).arg(task);
        job.agentIds << id;
        addAgent(LaunchedAgent{id, spec.namePrefix + QLatin1Char('-') + QString::number(task), task, LaunchedAgent::State::Pending, -1,
                               QStringLiteral("submitted as job %1_%2 on %3").arg(jobId).arg(task).arg(m_runner->where())});
    }
    m_jobs.append(job);
    m_poll.setInterval(std::max(100, spec.slurm.pollIntervalMs));
    if (!m_poll.isActive())
        m_poll.start();
    return job.agentIds;
}

void SlurmLauncher::poll()
{
    bool anyLeft = false;
    for (Job &job : m_jobs) {
        bool open = job.logsDone.size() < job.agentIds.size();
        for (const QString &id : std::as_const(job.agentIds))
            open = open || !isFinished(id);
        if (!open)
            continue;
        pollJob(job);
        for (const QString &id : std::as_const(job.agentIds))
            anyLeft = anyLeft || !isFinished(id);
        // One more round for the logs of tasks that have just ended.
        anyLeft = anyLeft || job.logsDone.size() < job.agentIds.size();
    }
    if (!anyLeft)
        m_poll.stop();
}

void SlurmLauncher::pollJob(Job &job)
{
    const auto out = m_runner->run(QStringLiteral("squeue"), {QStringLiteral("-h"), QStringLiteral("-r"), QStringLiteral("-j"), job.jobId,
                                                              QStringLiteral("-o"), QStringLiteral("%i %T %R")});
    if (!out || (out->exitCode != 0 && !out->standardError.contains("Invalid job id"))) {
        // The controller may be restarting: keep the states we know and ask again.
        const QString why = out ? out->firstErrorLine() : out.error().message;
        for (const QString &id : std::as_const(job.agentIds))
            if (!isFinished(id)) {
                const LaunchedAgent a = agent(id);
                updateAgent(id, a.state, a.exitCode, QStringLiteral("squeue on %1 failed: %2").arg(m_runner->where(), why));
            }
        return;
    }
    QSet<int> listed;
    QList<int> ended;
    const QString prefix = job.jobId + QLatin1Char('_');
    for (const QString &line : QString::fromUtf8(out->standardOutput).split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        const QString field = line.section(QLatin1Char(' '), 0, 0);
        const QString state = line.section(QLatin1Char(' '), 1, 1);
        const QString reason = line.section(QLatin1Char(' '), 2).trimmed();
        if (!field.startsWith(prefix))
            continue;
        for (const int task : taskIndices(field, job.jobId)) {
            const QString id = agentId(job, task);
            if (id.isEmpty())
                continue;
            listed.insert(task);
            if (isQueuedState(state))
                updateAgent(id, LaunchedAgent::State::Pending, -1, QStringLiteral("pending %1").arg(reason));
            else if (isActiveState(state))
                updateAgent(id, LaunchedAgent::State::Running, -1,
                            QStringLiteral("%1 on %2; log %3")
                                .arg(state.toLower(), reason, BatchScript::logFile(job.spec, job.logDirectory, job.jobId, task)));
            else
                ended << task; // COMPLETED, FAILED, CANCELLED... shown briefly: ask scontrol how
        }
    }
    for (int task = 0; task < job.agentIds.size(); ++task)
        if (!listed.contains(task) && !isFinished(agentId(job, task)))
            ended << task;
    if (!ended.isEmpty())
        settleEndedTasks(job, ended);
    readLogs(job);
}

void SlurmLauncher::readLogs(Job &job)
{
    // One sh call for all tasks that ran: for each file it prints "SIZE\n" and then the
    // bytes from our offset up to SIZE, so the output is cut by counts, never by
    // looking for markers in what the command wrote.
    QStringList arguments{QStringLiteral("-c"),
                          QStringLiteral("while [ $# -gt 1 ]; do f=$1; o=$2; shift 2; s=$(wc -c < \"$f\" 2>/dev/null || echo 0); "
                                         "s=${s:-0}; [ \"$s\" -lt \"$o\" ] && s=$o; echo \"$s\"; "
                                         "[ \"$s\" -gt \"$o\" ] && tail -c +$((o + 1)) \"$f\" | head -c $((s - o)); done; true"),
                          QStringLiteral("sh")};
    QList<int> tasks;
    for (int task = 0; task < job.agentIds.size(); ++task) {
        if (job.logsDone.contains(task))
            continue;
        const LaunchedAgent a = agent(job.agentIds.at(task));
        if (a.state == LaunchedAgent::State::Pending || a.state == LaunchedAgent::State::Starting)
            continue;
        tasks << task;
        arguments << BatchScript::logFile(job.spec, job.logDirectory, job.jobId, task) << QString::number(job.logOffsets.value(task));
    }
    if (tasks.isEmpty())
        return;
    const auto out = m_runner->run(QStringLiteral("sh"), arguments);
    if (!out || out->exitCode != 0) {
        // The next poll tries again; once every task has ended there is none.
        for (const int task : std::as_const(tasks))
            if (isFinished(job.agentIds.at(task)))
                job.logsDone.insert(task);
        return;
    }
    const QByteArray &data = out->standardOutput;
    qsizetype at = 0;
    for (const int task : std::as_const(tasks)) {
        const qsizetype newline = data.indexOf('\n', at);
        if (newline < 0)
            break;
        const qint64 size = data.mid(at, newline - at).trimmed().toLongLong();
        at = newline + 1;
        const qint64 offset = job.logOffsets.value(task);
        const qsizetype length = static_cast<qsizetype>(std::max<qint64>(0, size - offset));
        if (at + length > data.size())
            break;
        auto &buffer = job.logLines[task];
        if (!buffer)
            buffer = std::make_shared<LineBuffer>();
        const QString id = job.agentIds.at(task);
        for (const QString &line : buffer->append(data.mid(at, length)))
            Q_EMIT logLineReceived(id, line);
        at += length;
        job.logOffsets[task] = offset + length;
        if (isFinished(id)) {
            // Slurm has closed the file by the time the task left the queue.
            for (const QString &line : buffer->flush())
                Q_EMIT logLineReceived(id, line);
            job.logsDone.insert(task);
        }
    }
}

void SlurmLauncher::settleEndedTasks(Job &job, const QList<int> &tasks)
{
    const auto out = m_runner->run(QStringLiteral("scontrol"), {QStringLiteral("-o"), QStringLiteral("show"), QStringLiteral("job"), job.jobId});
    QHash<int, QHash<QString, QString>> records;
    if (out && out->exitCode == 0) {
        for (const QString &line : QString::fromUtf8(out->standardOutput).split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
            const auto values = keyValues(line);
            bool ok = false;
            const int task = values.value(QStringLiteral("ArrayTaskId")).toInt(&ok);
            if (ok)
                records.insert(task, values);
        }
    }
    for (const int task : tasks) {
        const QString id = agentId(job, task);
        const bool stopAsked = job.stopRequested.contains(task);
        const auto it = records.constFind(task);
        if (it == records.constEnd()) {
            // Purged from the controller's memory (MinJobAge) or never known.
            if (stopAsked)
                updateAgent(id, LaunchedAgent::State::Stopped, -1, QStringLiteral("cancelled"));
            else
                updateAgent(id, LaunchedAgent::State::Exited, -1,
                            QStringLiteral("left the queue; Slurm no longer records how it ended"));
            continue;
        }
        const QString state = it->value(QStringLiteral("JobState"));
        const QString exitField = it->value(QStringLiteral("ExitCode"));
        const int exitCode = exitField.section(QLatin1Char(':'), 0, 0).toInt();
        const int signal = exitField.section(QLatin1Char(':'), 1, 1).toInt();
        const QString reason = it->value(QStringLiteral("Reason"));
        if (isQueuedState(state) || isActiveState(state))
            continue; // between squeue and scontrol it was still finishing: next poll
        if (state == QLatin1StringView("CANCELLED") || stopAsked) {
            updateAgent(id, LaunchedAgent::State::Stopped, exitCode,
                        stopAsked ? QStringLiteral("cancelled") : QStringLiteral("cancelled by someone else (scancel)"));
        } else if ((state == QLatin1StringView("COMPLETED") || state == QLatin1StringView("FAILED")) && signal == 0) {
            updateAgent(id, LaunchedAgent::State::Exited, exitCode, QStringLiteral("%1, exit code %2").arg(state.toLower()).arg(exitCode));
        } else {
            updateAgent(id, LaunchedAgent::State::Failed, exitCode,
                        QStringLiteral("Slurm says %1 (reason %2, exit code %3)").arg(state, reason, exitField));
        }
    }
}

Result<void> SlurmLauncher::stop(const QString &id)
{
    for (Job &job : m_jobs) {
        const auto task = job.agentIds.indexOf(id);
        if (task < 0)
            continue;
        if (isFinished(id))
            return {};
        const QString target = QStringLiteral("%1_%2").arg(job.jobId).arg(task);
        const auto out = m_runner->run(QStringLiteral("scancel"), {target});
        if (!out)
            return out.error();
        if (out->exitCode != 0)
            return Error{ErrorCategory::Usage,
                         QStringLiteral("scancel %1 on %2 failed: %3").arg(target, m_runner->where(), out->firstErrorLine())};
        job.stopRequested.insert(static_cast<int>(task));
        return {};
    }
    return Error{ErrorCategory::Usage, QStringLiteral("no launched agent %1").arg(id)};
}

void SlurmLauncher::stopAll()
{
    for (Job &job : m_jobs) {
        bool open = false;
        for (int task = 0; task < job.agentIds.size(); ++task)
            if (!isFinished(job.agentIds.at(task))) {
                job.stopRequested.insert(task);
                open = true;
            }
        if (open)
            (void)m_runner->run(QStringLiteral("scancel"), {job.jobId});
    }
}

} // namespace SegScale::Launch
