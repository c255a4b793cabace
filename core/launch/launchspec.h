#pragma once
// What to launch and where: any command line (the agent is just one), how many copies,
// and the settings of the SSH host or Slurm cluster that runs them. A value the CLI, the
// GUI and tests fill in; the launchers never change it. It holds no secret: SSH keys and
// passwords stay in the credentials file (Storage::Credentials), as for SFTP storage.
//
// Placeholders in `arguments` and in `environment` values are replaced per copy:
//   {index}  0 .. count-1 (under Slurm: the array task id, $SLURM_ARRAY_TASK_ID)
//   {name}   namePrefix-index, e.g. "agent-3"
// so `--name {name}` gives every agent a name of its own.

#include <QMap>
#include <QString>
#include <QStringList>

namespace SegScale::Launch {

struct LaunchSpec {
    QString program;                  // a name looked up in PATH, or a path
    QStringList arguments;
    QMap<QString, QString> environment; // added to (or replacing in) the launching environment
    QString workingDirectory;         // empty: the launcher's own (local) or the login directory (SSH, Slurm)
    int count = 1;                    // how many copies to start
    QString namePrefix = QStringLiteral("agent");

    // SSH: where SshLauncher runs the command, and where SlurmLauncher finds the login
    // host (empty host: Slurm's commands run on this machine).
    struct Ssh {
        QString host;             // ssh://user@host:port (user and port optional)
        QString knownHostsPath;   // empty: ~/.ssh/known_hosts; an unknown or changed key is refused
        QString credentialsPath;  // empty: ~/.config/segscale/credentials.json when it exists
        int connectTimeoutMs = 10000;
    } ssh;

    // Slurm: one job array of `count` tasks.
    struct Slurm {
        QString partition;        // empty: the cluster's default partition
        QString timeLimit;        // sbatch --time, e.g. "02:00:00"; empty: the partition's default
        int cpusPerTask = 0;      // 0: not asked for
        QStringList extraSbatchLines; // e.g. "--gres=gpu:1", "--mem=8G" (a leading "#SBATCH " is optional)
        // The batch script; empty: defaultBatchTemplate(). Placeholders: see BatchScript.
        QString batchTemplate;
        // Where the script and the tasks' logs go (on the login host). Empty: ~/.segscale/slurm.
        QString scriptDirectory;
        // Added to the environment of sbatch, squeue, scontrol and scancel (e.g. SLURM_CONF).
        QMap<QString, QString> commandEnvironment;
        int pollIntervalMs = 3000; // how often squeue is asked
    } slurm;

    // Stop: time between SIGTERM and SIGKILL.
    int stopGraceMs = 5000;
};

} // namespace SegScale::Launch
