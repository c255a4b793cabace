#include "common/sshdfixture.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <csignal>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

namespace {
const QString kSshd = QStringLiteral("/usr/sbin/sshd"); // sshd insists on an absolute path
const QString kKeygen = QStringLiteral("/usr/bin/ssh-keygen");
} // namespace

SshdFixture::SshdFixture() = default;

SshdFixture::~SshdFixture()
{
    stop();
}

QString SshdFixture::unavailableReason()
{
    if (!QFileInfo(kSshd).isExecutable())
        return QStringLiteral("%1 is not installed (package openssh-server)").arg(kSshd);
    if (!QFileInfo(kKeygen).isExecutable())
        return QStringLiteral("%1 is not installed (package openssh-client)").arg(kKeygen);
    // The privilege separation folder; harmless to create, sshd refuses to start without it.
    if (::geteuid() == 0 && !QDir(QStringLiteral("/run/sshd")).exists() && !QDir().mkpath(QStringLiteral("/run/sshd")))
        return QStringLiteral("cannot create /run/sshd, which sshd needs");
    return {};
}

int SshdFixture::unusedPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    return server.serverPort();
}

QString SshdFixture::userName() const
{
    const passwd *pw = ::getpwuid(::geteuid());
    return pw ? QString::fromLocal8Bit(pw->pw_name) : QString();
}

QString SshdFixture::url(const QString &absolutePath) const
{
    return QStringLiteral("sftp://%1@%2:%3%4").arg(userName(), host()).arg(m_port).arg(absolutePath);
}

bool SshdFixture::keygen(const QStringList &arguments)
{
    QProcess p;
    p.start(kKeygen, arguments);
    if (!p.waitForFinished(30000) || p.exitCode() != 0) {
        m_error = QStringLiteral("ssh-keygen %1 failed: %2").arg(arguments.join(QLatin1Char(' ')), QString::fromLocal8Bit(p.readAllStandardError()));
        return false;
    }
    return true;
}

QString SshdFixture::makeClientKey(const QString &name, bool authorise, const QString &passphrase)
{
    const QString path = m_dir.path() + QLatin1Char('/') + name;
    QFile::remove(path);
    QFile::remove(path + QStringLiteral(".pub"));
    if (!keygen({QStringLiteral("-q"), QStringLiteral("-t"), QStringLiteral("ed25519"), QStringLiteral("-N"), passphrase,
                 QStringLiteral("-C"), name, QStringLiteral("-f"), path}))
        return {};
    if (authorise) {
        QFile pub(path + QStringLiteral(".pub"));
        QFile authorized(m_dir.path() + QStringLiteral("/authorized_keys"));
        if (!pub.open(QIODevice::ReadOnly) || !authorized.open(QIODevice::Append))
            return {};
        authorized.write(pub.readAll());
    }
    return path;
}

bool SshdFixture::regenerateHostKey()
{
    const QString key = m_dir.path() + QStringLiteral("/host_key");
    QFile::remove(key);
    QFile::remove(key + QStringLiteral(".pub"));
    return keygen({QStringLiteral("-q"), QStringLiteral("-t"), QStringLiteral("ed25519"), QStringLiteral("-N"), QString(),
                   QStringLiteral("-C"), QStringLiteral("segscale-test-host"), QStringLiteral("-f"), key});
}

QString SshdFixture::hostKeyFingerprint() const
{
    QProcess p;
    p.start(kKeygen, {QStringLiteral("-l"), QStringLiteral("-E"), QStringLiteral("sha256"), QStringLiteral("-f"),
                      m_dir.path() + QStringLiteral("/host_key.pub")});
    p.waitForFinished(10000);
    // "256 SHA256:abc... comment (ED25519)"
    return QString::fromLatin1(p.readAllStandardOutput()).section(QLatin1Char(' '), 1, 1);
}

QString SshdFixture::writeKnownHosts(const QString &fileName) const
{
    QFile pub(m_dir.path() + QStringLiteral("/host_key.pub"));
    if (!pub.open(QIODevice::ReadOnly))
        return {};
    const QList<QByteArray> fields = pub.readAll().trimmed().split(' ');
    const QString path = m_dir.path() + QLatin1Char('/') + fileName;
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    out.write(QStringLiteral("[%1]:%2 ").arg(host()).arg(m_port).toLatin1() + fields.value(0) + ' ' + fields.value(1) + '\n');
    return path;
}

QString SshdFixture::writeCredentials(const QJsonObject &entry, const QString &fileName) const
{
    const QString path = m_dir.path() + QLatin1Char('/') + fileName;
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    out.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    QJsonObject hosts;
    hosts.insert(QStringLiteral("[%1]:%2").arg(host()).arg(m_port), entry);
    out.write(QJsonDocument(QJsonObject{{QStringLiteral("hosts"), hosts}}).toJson());
    return path;
}

bool SshdFixture::writeConfig()
{
    const QString d = m_dir.path();
    QFile config(d + QStringLiteral("/sshd_config"));
    if (!config.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        m_error = QStringLiteral("cannot write %1").arg(config.fileName());
        return false;
    }
    const QString text = QStringLiteral("ListenAddress %1:%2\n"
                                        "HostKey %3/host_key\n"
                                        "AuthorizedKeysFile %3/authorized_keys\n"
                                        "PidFile %3/sshd.pid\n"
                                        "Subsystem sftp internal-sftp\n"
                                        "StrictModes no\n"
                                        "UsePAM no\n"
                                        "PermitRootLogin yes\n"
                                        "PubkeyAuthentication yes\n"
                                        "PasswordAuthentication %4\n"
                                        "KbdInteractiveAuthentication no\n"
                                        "MaxStartups 100\n"
                                        "MaxSessions 100\n"
                                        "LogLevel ERROR\n")
                             .arg(host())
                             .arg(m_port)
                             .arg(d, m_passwordAuth ? QStringLiteral("yes") : QStringLiteral("no"));
    config.write(text.toUtf8());
    return true;
}

bool SshdFixture::start()
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
    QDir().mkpath(dataDir());
    if (!QFileInfo::exists(m_dir.path() + QStringLiteral("/host_key")) && !regenerateHostKey())
        return false;
    if (!QFileInfo::exists(clientKey()) && makeClientKey(QStringLiteral("client_key"), true).isEmpty()) {
        m_error = QStringLiteral("cannot create the client key: ") + m_error;
        return false;
    }
    if (m_port == 0)
        m_port = unusedPort();
    if (!writeConfig())
        return false;

    m_sshd = std::make_unique<QProcess>();
    m_sshd->setProcessChannelMode(QProcess::SeparateChannels);
    m_sshd->setStandardOutputFile(m_dir.path() + QStringLiteral("/sshd.log"), QIODevice::Append);
    m_sshd->setStandardErrorFile(m_dir.path() + QStringLiteral("/sshd.log"), QIODevice::Append);
    m_sshd->start(kSshd, {QStringLiteral("-D"), QStringLiteral("-e"), QStringLiteral("-f"), m_dir.path() + QStringLiteral("/sshd_config")});
    if (!m_sshd->waitForStarted(10000)) {
        m_error = QStringLiteral("cannot start sshd: ") + m_sshd->errorString();
        return false;
    }
    if (!waitUntilListening()) {
        m_error = QStringLiteral("sshd did not start listening on port %1; its log:\n%2").arg(m_port).arg(log());
        stop();
        return false;
    }
    return true;
}

bool SshdFixture::waitUntilListening()
{
    const QDeadlineTimer deadline(10000);
    while (!deadline.hasExpired()) {
        if (m_sshd->state() != QProcess::Running)
            return false;
        QTcpSocket probe;
        probe.connectToHost(QHostAddress::LocalHost, static_cast<quint16>(m_port));
        if (probe.waitForConnected(200)) {
            probe.abort();
            return true;
        }
        QThread::msleep(50);
    }
    return false;
}

bool SshdFixture::isRunning() const
{
    return m_sshd && m_sshd->state() == QProcess::Running;
}

QString SshdFixture::log() const
{
    QFile f(m_dir.path() + QStringLiteral("/sshd.log"));
    return f.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(f.readAll()) : QString();
}

QList<qint64> SshdFixture::sessionPids() const
{
    // Every descendant of our listener. Sessions call setsid(), so they are not in its
    // process group; their parent links are the only reliable way to find them.
    QList<qint64> found;
    if (!isRunning())
        return found;
    QList<qint64> frontier{m_sshd->processId()};
    const QStringList procs = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QHash<qint64, qint64> parentOf;
    for (const QString &entry : procs) {
        bool numeric = false;
        const qint64 pid = entry.toLongLong(&numeric);
        if (!numeric)
            continue;
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray line = stat.readAll();
        // "pid (comm) state ppid ..."; comm may hold spaces, so parse after the last ')'.
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        parentOf.insert(pid, fields.value(1).toLongLong());
    }
    while (!frontier.isEmpty()) {
        const qint64 parent = frontier.takeLast();
        for (auto it = parentOf.cbegin(); it != parentOf.cend(); ++it)
            if (it.value() == parent) {
                found.append(it.key());
                frontier.append(it.key());
            }
    }
    return found;
}

void SshdFixture::freezeSessions(bool frozen)
{
    for (const qint64 pid : sessionPids())
        ::kill(static_cast<pid_t>(pid), frozen ? SIGSTOP : SIGCONT);
}

void SshdFixture::signalAll(int signal)
{
    if (!isRunning())
        return;
    const auto listener = static_cast<pid_t>(m_sshd->processId());
    ::kill(listener, SIGSTOP); // no new sessions while we collect the current ones
    for (const qint64 pid : sessionPids()) {
        ::kill(static_cast<pid_t>(pid), signal);
        ::kill(static_cast<pid_t>(pid), SIGCONT);
    }
    ::kill(listener, signal);
    ::kill(listener, SIGCONT);
    if (!m_sshd->waitForFinished(5000)) {
        m_sshd->kill();
        m_sshd->waitForFinished(5000);
    }
}

void SshdFixture::stop()
{
    signalAll(SIGTERM);
    m_sshd.reset();
}

void SshdFixture::kill()
{
    signalAll(SIGKILL);
    m_sshd.reset();
}

bool SshdFixture::restart()
{
    stop();
    return start();
}
