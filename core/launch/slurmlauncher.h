#pragma once
// Starts copies of a command as one Slurm job array: renders the batch script
// (BatchScript), writes it on the login host, submits it with `sbatch --parsable
// --array=0-(count-1)`, follows every task with `squeue -h -r -j JOB -o '%i %T %R'` and,
// once a task has left the queue, `scontrol -o show job JOB` for how it ended (sacct is
// not assumed to exist). stop() is `scancel JOB_TASK`.
//
// The commands run through a CommandRunner: on this machine, or on the login host over
// SSH when spec.ssh.host is set (the runner is made by the first start(); one launcher
// talks to one cluster). spec.slurm.commandEnvironment (e.g. SLURM_CONF) is added to
// their environment. Polling runs on a timer in the launcher's thread; each poll is one
// squeue call (plus scontrol when a task has ended, and one sh call that reads what the
// running tasks added to their log files, which come back as logLineReceived lines).

#include "launch/commandrunner.h"
#include "launch/launcher.h"
#include "launch/linebuffer.h"

#include <QList>
#include <QSet>
#include <QTimer>

#include <memory>

namespace SegScale::Launch {

class SlurmLauncher final : public Launcher {
    Q_OBJECT

public:
    explicit SlurmLauncher(QObject *parent = nullptr);
    // Running tasks are left running: they are cluster jobs, not our children. Call
    // stopAll() first to end them.
    ~SlurmLauncher() override;

    // Uses `runner` for every command instead of one made from the spec (tests, or a
    // caller that already holds a connection to the login host).
    void setCommandRunner(std::unique_ptr<CommandRunner> runner);

    Result<QStringList> start(const LaunchSpec &spec) override;
    Result<void> stop(const QString &id) override;
    void stopAll() override;

    // Asks the queue now (it is also asked every spec.slurm.pollIntervalMs).
    void poll();

private:
    struct Job {
        QString jobId;
        QStringList agentIds; // by array index
        QSet<int> stopRequested;
        QString logDirectory;
        LaunchSpec spec;
        QHash<int, qint64> logOffsets; // bytes of each task's log already announced
        QHash<int, std::shared_ptr<LineBuffer>> logLines;
        QSet<int> logsDone;            // ended, and its log read to the end
    };
    void pollJob(Job &job);
    void readLogs(Job &job);
    void settleEndedTasks(Job &job, const QList<int> &tasks);
    QString agentId(const Job &job, int task) const { return job.agentIds.value(task); }

    std::unique_ptr<CommandRunner> m_runner;
    QList<Job> m_jobs;
    QTimer m_poll;
};

} // namespace SegScale::Launch
