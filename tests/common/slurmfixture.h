#pragma once
// A private Slurm cluster for integration tests: its own munged (socket and key in a
// temporary folder), slurmctld and slurmd for one node named localhost, on free ports,
// with every state, spool, log and pid file in that folder. Nothing of the system's
// Slurm or munge setup (/etc/slurm, /etc/munge, /run/munge) is read or changed; the
// client commands (sbatch, squeue, scontrol, scancel) find it through SLURM_CONF, which
// environment() gives. Needs root (slurmd runs jobs as their owners) and the slurm-wlm
// and munge packages; unavailableReason() says what is missing.
//
// Jobs run with proctrack/linuxproc and task/none, select/cons_tres with CR_Core so
// that as many one-CPU tasks run at once as the machine has CPUs. The controller's
// first scheduling pass comes a few seconds after start: poll, do not expect.

#include <QMap>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <memory>

class SlurmFixture {
public:
    SlurmFixture();
    // Cancels what is left and stops the daemons; nothing it started keeps running.
    ~SlurmFixture();
    SlurmFixture(const SlurmFixture &) = delete;
    SlurmFixture &operator=(const SlurmFixture &) = delete;

    // Why the fixture cannot run here, or empty when it can.
    static QString unavailableReason();

    // Writes the key and configuration, starts munged, slurmctld and slurmd and waits
    // until the node is idle. On false, errorString() says why (with the daemons' logs).
    bool start();
    // Ends every job and every process of this cluster (daemons, slurmstepd, job steps).
    void stop();

    bool isRunning() const;
    QString errorString() const { return m_error; }
    // The daemons' logs, for a failing test's message.
    QString logs() const;

    QString dir() const { return m_dir.path(); }
    QString configPath() const { return m_dir.path() + QStringLiteral("/slurm.conf"); }
    QString partition() const { return QStringLiteral("segscale"); }
    int cpus() const { return m_cpus; }
    // What the client commands need: {"SLURM_CONF": configPath()}.
    QMap<QString, QString> environment() const;
    // Runs a client command (squeue, scontrol ...) against this cluster; its stdout.
    QString run(const QString &program, const QStringList &arguments, int *exitCode = nullptr) const;

private:
    bool writeKey();
    bool writeConfig();
    bool startDaemon(std::unique_ptr<QProcess> &process, const QString &program, const QStringList &arguments,
                     const QString &logName);
    bool waitUntilIdle();
    void killClusterProcesses();

    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_munged;
    std::unique_ptr<QProcess> m_slurmctld;
    std::unique_ptr<QProcess> m_slurmd;
    int m_cpus = 1;
    QString m_error;
};
