#include "common/postgresfixture.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTcpServer>

#include <unistd.h>

PostgresFixture::PostgresFixture() = default;

PostgresFixture::~PostgresFixture()
{
    stop();
}

QString PostgresFixture::binDir()
{
    // Debian keeps the server tools out of PATH, one folder per major version: the newest.
    for (const QString &version : QDir(QStringLiteral("/usr/lib/postgresql")).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name | QDir::Reversed)) {
        if (QFileInfo::exists(QStringLiteral("/usr/lib/postgresql/%1/bin/initdb").arg(version)))
            return QStringLiteral("/usr/lib/postgresql/%1/bin").arg(version);
    }
    const QString initdb = QStandardPaths::findExecutable(QStringLiteral("initdb"));
    return initdb.isEmpty() ? QString() : QFileInfo(initdb).canonicalPath();
}

QString PostgresFixture::unavailableReason()
{
    if (binDir().isEmpty())
        return QStringLiteral("PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)");
    if (::geteuid() == 0 && (QStandardPaths::findExecutable(QStringLiteral("runuser")).isEmpty() ||
                             QProcess::execute(QStringLiteral("id"), {QStringLiteral("postgres")}) != 0))
        return QStringLiteral("running as root without a 'postgres' user to run initdb as");
    return {};
}

bool PostgresFixture::runTool(const QString &tool, const QStringList &arguments)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    const QString exe = m_bin + QLatin1Char('/') + tool;
    if (m_asUser.isEmpty())
        p.start(exe, arguments);
    else
        p.start(m_asUser.first(), m_asUser.mid(1) + QStringList{exe} + arguments);
    const bool ok = p.waitForFinished(120'000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    if (!ok)
        m_error = QStringLiteral("%1 failed: %2").arg(tool, QString::fromLocal8Bit(p.readAll()));
    return ok;
}

bool PostgresFixture::start()
{
    if (m_started)
        return true;
    if (const QString why = unavailableReason(); !why.isEmpty()) {
        m_error = why;
        return false;
    }
    if (!m_dir.isValid()) {
        m_error = QStringLiteral("cannot create a temporary folder");
        return false;
    }
    m_bin = binDir();
    if (::geteuid() == 0) {
        m_asUser = {QStandardPaths::findExecutable(QStringLiteral("runuser")), QStringLiteral("-u"), QStringLiteral("postgres"),
                    QStringLiteral("--")};
        if (QProcess::execute(QStringLiteral("chown"), {QStringLiteral("postgres"), m_dir.path()}) != 0) {
            m_error = QStringLiteral("cannot give %1 to the postgres user").arg(m_dir.path());
            return false;
        }
    }
    {
        QTcpServer probe; // a free port: bind to 0, read it, let it go
        if (!probe.listen(QHostAddress::LocalHost, 0)) {
            m_error = QStringLiteral("no free port on 127.0.0.1");
            return false;
        }
        m_port = probe.serverPort();
    }
    m_data = m_dir.filePath(QStringLiteral("data"));
    if (!runTool(QStringLiteral("initdb"), {QStringLiteral("-D"), m_data, QStringLiteral("-A"), QStringLiteral("trust"), QStringLiteral("-U"),
                                            userName(), QStringLiteral("-E"), QStringLiteral("UTF8"), QStringLiteral("--no-sync")}))
        return false;
    if (!runTool(QStringLiteral("pg_ctl"),
                 {QStringLiteral("-D"), m_data, QStringLiteral("-l"), m_dir.filePath(QStringLiteral("log")), QStringLiteral("-w"),
                  QStringLiteral("-o"),
                  QStringLiteral("-p %1 -k %2 -c listen_addresses=127.0.0.1 -c fsync=off").arg(m_port).arg(m_dir.path()),
                  QStringLiteral("start")})) {
        m_error += QStringLiteral("\nserver log:\n") + log();
        return false;
    }
    m_started = true;
    return true;
}

void PostgresFixture::stop()
{
    if (!m_started)
        return;
    runTool(QStringLiteral("pg_ctl"), {QStringLiteral("-D"), m_data, QStringLiteral("-m"), QStringLiteral("immediate"), QStringLiteral("stop")});
    m_started = false;
}

QString PostgresFixture::log() const
{
    QFile f(m_dir.filePath(QStringLiteral("log")));
    return f.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(f.readAll().right(4000)) : QString();
}

QString PostgresFixture::createDatabase(const QString &name)
{
    const QString database = name.isEmpty() ? QStringLiteral("study%1").arg(++m_databases) : name;
    const QString connection = QStringLiteral("segscale-postgresfixture-admin");
    bool ok = false;
    {
        QSqlDatabase admin = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connection);
        admin.setHostName(host());
        admin.setPort(m_port);
        admin.setUserName(userName());
        admin.setDatabaseName(QStringLiteral("postgres"));
        if (!admin.open()) {
            m_error = QStringLiteral("cannot connect to the test cluster: %1").arg(admin.lastError().text());
        } else {
            QSqlQuery q(admin);
            ok = q.exec(QStringLiteral("CREATE DATABASE \"%1\"").arg(database));
            if (!ok)
                m_error = QStringLiteral("CREATE DATABASE %1 failed: %2").arg(database, q.lastError().text());
            admin.close();
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return ok ? QStringLiteral("postgresql://%1@%2:%3/%4").arg(userName(), host()).arg(m_port).arg(database) : QString();
}
