#include "common/slurmfixture.h"

#include "common/sshdfixture.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QThread>

#include <csignal>
#include <unistd.h>

namespace {
const QStringList kDaemons{QStringLiteral("/usr/sbin/munged"), QStringLiteral("/usr/sbin/slurmctld"), QStringLiteral("/usr/sbin/slurmd")};
const QStringList kClients{QStringLiteral("sbatch"), QStringLiteral("squeue"), QStringLiteral("scontrol"), QStringLiteral("scancel"),
                           QStringLiteral("sinfo")};
} // namespace

SlurmFixture::SlurmFixture() = default;

SlurmFixture::~SlurmFixture()
{
    stop();
}

QString SlurmFixture::unavailableReason()
{
    for (const QString &daemon : kDaemons)
        if (!QFileInfo(daemon).isExecutable())
            return QStringLiteral("%1 is not installed (packages slurm-wlm and munge)").arg(daemon);
    for (const QString &client : kClients)
        if (QStandardPaths::findExecutable(client).isEmpty())
            return QStringLiteral("%1 is not installed (package slurm-client)").arg(client);
    if (::geteuid() != 0)
        return QStringLiteral("a private Slurm cluster needs root (slurmd runs jobs as their owners)");
    return {};
}

QMap<QString, QString> SlurmFixture::environment() const
{
    return {{QStringLiteral("SLURM_CONF"), configPath()}};
}

QString SlurmFixture::run(const QString &program, const QStringList &arguments, int *exitCode) const
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SLURM_CONF"), configPath());
    p.setProcessEnvironment(env);
    p.start(program, arguments);
    p.waitForFinished(20000);
    if (exitCode)
        *exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    return QString::fromLocal8Bit(p.readAllStandardOutput() + p.readAllStandardError());
}

bool SlurmFixture::writeKey()
{
    QFile key(m_dir.path() + QStringLiteral("/munge.key"));
    if (!key.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        m_error = QStringLiteral("cannot write %1").arg(key.fileName());
        return false;
    }
    QByteArray bytes(1024, Qt::Uninitialized);
    QRandomGenerator::system()->generate(reinterpret_cast<quint32 *>(bytes.data()),
                                         reinterpret_cast<quint32 *>(bytes.data() + bytes.size()));
    key.write(bytes);
    key.close();
    key.setPermissions(QFileDevice::ReadOwner); // munged insists on 0400
    return true;
}

bool SlurmFixture::writeConfig()
{
    // CPUs and memory as slurmd measures them, or slurmd drains the node as "low cpus".
    QProcess probe;
    probe.start(kDaemons.at(2), {QStringLiteral("-C")});
    probe.waitForFinished(20000);
    const QString measured = QString::fromLocal8Bit(probe.readAllStandardOutput());
    int memory = 1000;
    for (const QString &field : measured.section(QLatin1Char('\n'), 0, 0).split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (field.startsWith(QLatin1StringView("CPUs=")))
            m_cpus = std::max(1, field.mid(5).toInt());
        else if (field.startsWith(QLatin1StringView("RealMemory=")))
            memory = std::max(1, field.mid(11).toInt());
    }
    const QString d = m_dir.path();
    for (const QString &sub : {QStringLiteral("state"), QStringLiteral("spool"), QStringLiteral("jobs")})
        QDir().mkpath(d + QLatin1Char('/') + sub);
    const int ctldPort = SshdFixture::unusedPort();
    int slurmdPort = SshdFixture::unusedPort();
    while (slurmdPort == ctldPort)
        slurmdPort = SshdFixture::unusedPort();
    const QString text = QStringLiteral("ClusterName=segscaletest\n"
                                        "SlurmctldHost=localhost\n"
                                        "SlurmctldPort=%1\n"
                                        "SlurmdPort=%2\n"
                                        "AuthType=auth/munge\n"
                                        "CredType=cred/munge\n"
                                        "AuthInfo=socket=%3/munge.socket\n"
                                        "SlurmUser=root\n"
                                        "SlurmdUser=root\n"
                                        "StateSaveLocation=%3/state\n"
                                        "SlurmdSpoolDir=%3/spool\n"
                                        "SlurmctldPidFile=%3/slurmctld.pid\n"
                                        "SlurmdPidFile=%3/slurmd.pid\n"
                                        "SlurmctldLogFile=%3/slurmctld.log\n"
                                        "SlurmdLogFile=%3/slurmd.log\n"
                                        "SlurmctldDebug=info\n"
                                        "SlurmdDebug=info\n"
                                        "SelectType=select/cons_tres\n"
                                        "SelectTypeParameters=CR_Core\n"
                                        "ProctrackType=proctrack/linuxproc\n"
                                        "TaskPlugin=task/none\n"
                                        "MpiDefault=none\n"
                                        "ReturnToService=2\n"
                                        "SchedulerType=sched/backfill\n"
                                        "JobCompType=jobcomp/none\n"
                                        "AccountingStorageType=accounting_storage/none\n"
                                        "JobAcctGatherType=jobacct_gather/none\n"
                                        "NodeName=localhost CPUs=%4 RealMemory=%5 State=UNKNOWN\n"
                                        "PartitionName=%6 Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n")
                             .arg(ctldPort)
                             .arg(slurmdPort)
                             .arg(d)
                             .arg(m_cpus)
                             .arg(memory)
                             .arg(partition());
    QFile config(configPath());
    if (!config.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        m_error = QStringLiteral("cannot write %1").arg(configPath());
        return false;
    }
    config.write(text.toUtf8());
    return true;
}

bool SlurmFixture::startDaemon(std::unique_ptr<QProcess> &process, const QString &program, const QStringList &arguments,
                               const QString &logName)
{
    process = std::make_unique<QProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SLURM_CONF"), configPath());
    process->setProcessEnvironment(env);
    process->setStandardOutputFile(m_dir.path() + QLatin1Char('/') + logName, QIODevice::Append);
    process->setStandardErrorFile(m_dir.path() + QLatin1Char('/') + logName, QIODevice::Append);
    process->start(program, arguments);
    if (!process->waitForStarted(10000)) {
        m_error = QStringLiteral("cannot start %1: %2").arg(program, process->errorString());
        return false;
    }
    return true;
}

bool SlurmFixture::start()
{
    if (isRunning())
        return true;
    if (const QString why = unavailableReason(); !why.isEmpty()) {
        m_error = why;
        return false;
    }
    if (!m_dir.isValid()) {
        m_error = QStringLiteral("cannot create a temporary folder");
        return false;
    }
    const QString d = m_dir.path();
    if (!writeKey() || !writeConfig())
        return false;
    if (!startDaemon(m_munged, kDaemons.at(0),
                     {QStringLiteral("-F"), QStringLiteral("--force"), QStringLiteral("--socket=%1/munge.socket").arg(d),
                      QStringLiteral("--key-file=%1/munge.key").arg(d), QStringLiteral("--pid-file=%1/munged.pid").arg(d),
                      QStringLiteral("--log-file=%1/munged.log").arg(d), QStringLiteral("--seed-file=%1/munged.seed").arg(d)},
                     QStringLiteral("munged.out")))
        return false;
    // slurmctld asks munge at once; give munged its socket first.
    const QDeadlineTimer mungeUp(10000);
    while (!QFileInfo::exists(d + QStringLiteral("/munge.socket")) && !mungeUp.hasExpired() && m_munged->state() == QProcess::Running)
        QThread::msleep(10);
    if (!QFileInfo::exists(d + QStringLiteral("/munge.socket"))) {
        m_error = QStringLiteral("munged did not start; logs:\n%1").arg(logs());
        stop();
        return false;
    }
    if (!startDaemon(m_slurmctld, kDaemons.at(1), {QStringLiteral("-D"), QStringLiteral("-i")}, QStringLiteral("slurmctld.out")) ||
        !startDaemon(m_slurmd, kDaemons.at(2), {QStringLiteral("-D"), QStringLiteral("-N"), QStringLiteral("localhost")},
                     QStringLiteral("slurmd.out"))) {
        stop();
        return false;
    }
    if (!waitUntilIdle()) {
        m_error = QStringLiteral("the private Slurm cluster did not come up; logs:\n%1").arg(logs());
        stop();
        return false;
    }
    return true;
}

bool SlurmFixture::waitUntilIdle()
{
    const QDeadlineTimer deadline(30000);
    while (!deadline.hasExpired()) {
        if (!isRunning())
            return false;
        int rc = -1;
        const QString state = run(QStringLiteral("sinfo"), {QStringLiteral("-h"), QStringLiteral("-n"), QStringLiteral("localhost"),
                                                            QStringLiteral("-o"), QStringLiteral("%T")},
                                  &rc)
                                  .trimmed();
        if (rc == 0 && (state == QLatin1StringView("idle") || state == QLatin1StringView("mixed")))
            return true;
        QThread::msleep(100);
    }
    return false;
}

bool SlurmFixture::isRunning() const
{
    for (const auto *p : {m_munged.get(), m_slurmctld.get(), m_slurmd.get()})
        if (!p || p->state() != QProcess::Running)
            return false;
    return true;
}

QString SlurmFixture::logs() const
{
    QString text;
    for (const QString &name : {QStringLiteral("munged.log"), QStringLiteral("munged.out"), QStringLiteral("slurmctld.log"),
                                QStringLiteral("slurmctld.out"), QStringLiteral("slurmd.log"), QStringLiteral("slurmd.out")}) {
        QFile f(m_dir.path() + QLatin1Char('/') + name);
        if (f.open(QIODevice::ReadOnly))
            text += QStringLiteral("--- %1\n").arg(name) + QString::fromLocal8Bit(f.readAll().right(4000));
    }
    return text;
}

void SlurmFixture::killClusterProcesses()
{
    // Every process of this cluster carries our SLURM_CONF in its environment: the
    // daemons (we set it), slurmstepd (slurmd's child) and the jobs (sbatch exports the
    // submitter's environment). slurmstepd and the jobs are not our children, so this
    // is the one way to find them all.
    const QByteArray marker = "SLURM_CONF=" + QFile::encodeName(configPath());
    const qint64 self = ::getpid();
    for (int round = 0; round < 20; ++round) {
        bool found = false;
        const QStringList procs = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        for (const QString &entry : procs) {
            bool numeric = false;
            const qint64 pid = entry.toLongLong(&numeric);
            if (!numeric || pid == self)
                continue;
            QFile environ(QStringLiteral("/proc/%1/environ").arg(pid));
            if (!environ.open(QIODevice::ReadOnly))
                continue;
            if (environ.readAll().split('\0').contains(marker)) {
                ::kill(static_cast<pid_t>(pid), SIGKILL);
                found = true;
            }
        }
        if (!found)
            return;
        QThread::msleep(50);
    }
}

void SlurmFixture::stop()
{
    if (m_slurmctld && m_slurmctld->state() == QProcess::Running) {
        int rc = 0;
        run(QStringLiteral("scancel"), {QStringLiteral("--full"), QStringLiteral("--partition=%1").arg(partition())}, &rc);
    }
    for (auto *p : {&m_slurmd, &m_slurmctld, &m_munged}) {
        if (!*p)
            continue;
        if ((*p)->state() == QProcess::Running) {
            (*p)->terminate();
            if (!(*p)->waitForFinished(3000)) {
                (*p)->kill();
                (*p)->waitForFinished(3000);
            }
        }
        p->reset();
    }
    if (m_dir.isValid())
        killClusterProcesses();
}
