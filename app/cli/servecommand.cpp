// `segscale serve`: a study's coordinator behind a WebSocket listener, for agents on
// other machines and for admin clients (the desktop app attached to it). SIGTERM or
// Ctrl-C drains the agents, commits and exits 0; a second signal exits at once.

#include "command.h"
#include "commandline.h"
#include "interruptwatcher.h"

#include "cluster/coordinatorserver.h"
#include "cluster/coordinatorthread.h"
#include "cluster/defaultoutputs.h"
#include "cluster/tokenfile.h"
#include "launch/agentlaunchers.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QSysInfo>
#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QTextStream>
#include <QTimer>

namespace SegScale::Cli {
namespace {

const QString kCommand = QStringLiteral("serve");

void logLine(const QString &line)
{
    QTextStream(stderr) << QDateTime::currentDateTime().toString(Qt::ISODate) << ' ' << line << Qt::endl;
}

int serve(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Serves a study to agents (`segscale agent --connect ws://HOST:PORT`) and admin clients.\n"
        "Agents present the token of --token-file; admin clients (status, the desktop app) the\n"
        "one of --admin-token-file. With --tls-cert/--tls-key the listener speaks wss://.\n"
        "Stop with SIGTERM or Ctrl-C: agents finish what they hold, results are committed, exit 0.\n"
        "A PostgreSQL study (postgresql://user@host:port/db) may be served by several coordinators at once."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("listen"), QStringLiteral("Address and port to listen on (default 127.0.0.1:8765; port 0 picks a free one)."), QStringLiteral("HOST:PORT")},
        {QStringLiteral("token-file"), QStringLiteral("File holding the agents' token (required)."), QStringLiteral("F")},
        {QStringLiteral("admin-token-file"), QStringLiteral("File holding the admin token (no admin access without it)."), QStringLiteral("A")},
        {QStringLiteral("tls-cert"), QStringLiteral("PEM certificate: serve wss://."), QStringLiteral("C")},
        {QStringLiteral("tls-key"), QStringLiteral("PEM private key of --tls-cert."), QStringLiteral("K")},
        {QStringLiteral("lease-seconds"), QStringLiteral("How long a lease lasts without a heartbeat (default 300)."), QStringLiteral("N")},
        {QStringLiteral("max-attempts"), QStringLiteral("Attempts before a lost or retryable image fails (default 3)."), QStringLiteral("N")},
        {QStringLiteral("out"), QStringLiteral("Where agents write label maps unless they have their own --out (local path or sftp://)."), QStringLiteral("DIR")},
        {QStringLiteral("launch-local"), QStringLiteral("Start N agents on this machine."), QStringLiteral("N")},
        {QStringLiteral("launch-ssh"), QStringLiteral("Start an agent on this SSH host (repeat for more; `segscale` must be in its PATH)."), QStringLiteral("ssh://USER@HOST:PORT")},
        {QStringLiteral("launch-slurm"), QStringLiteral("Submit N agents as one Slurm job array."), QStringLiteral("N")},
        {QStringLiteral("slurm-login"), QStringLiteral("Run sbatch/squeue on this SSH login host (default: here)."), QStringLiteral("ssh://USER@HOST:PORT")},
        {QStringLiteral("slurm-partition"), QStringLiteral("Partition for --launch-slurm."), QStringLiteral("P")},
        {QStringLiteral("slurm-time"), QStringLiteral("Time limit for --launch-slurm (sbatch --time)."), QStringLiteral("T")},
        {QStringLiteral("slurm-template"), QStringLiteral("Batch script template for --launch-slurm (see /usr/share/segscale/segscale-agent.sbatch)."), QStringLiteral("FILE")},
        {QStringLiteral("agent-arg"), QStringLiteral("Extra argument for every launched agent (repeat), e.g. --agent-arg=--device --agent-arg=cuda."), QStringLiteral("ARG")},
        {QStringLiteral("advertise"), QStringLiteral("The URL launched agents connect to (default: ws[s]://<this host>:<port>)."), QStringLiteral("URL")},
    });
    addStorageAccessOptions(parser);  // for SSH launches too
    parser.addPositionalArgument(QStringLiteral("STUDY"), QStringLiteral("The study: a database file or a postgresql:// URL."));
    if (auto stop = parseCommandLine(parser, args, kCommand, 1))
        return *stop;
    const QString database = parser.positionalArguments().first();
    if (!database.contains(QLatin1StringView("://")) && !QFileInfo::exists(database))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("%1 does not exist; create it with `segscale study create`").arg(database));
    if (!parser.isSet(QStringLiteral("token-file")))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--token-file is required: agents must prove who they are"));
    Cluster::CoordinatorOptions options;
    options.database = database;
    auto token = Cluster::readTokenFile(parser.value(QStringLiteral("token-file")));
    if (!token)
        return commandFailure(kCommand, ExitUsage, token.error().message);
    options.agentToken = *token;
    if (parser.isSet(QStringLiteral("admin-token-file"))) {
        auto admin = Cluster::readTokenFile(parser.value(QStringLiteral("admin-token-file")));
        if (!admin)
            return commandFailure(kCommand, ExitUsage, admin.error().message);
        if (*admin == *token)
            return commandFailure(kCommand, ExitUsage, QStringLiteral("the admin token must differ from the agents' token"));
        options.adminToken = *admin;
    }
    auto intOption = [&](const QString &name, int def, int min) -> std::optional<int> {
        if (!parser.isSet(name))
            return def;
        bool ok = false;
        const int v = parser.value(name).toInt(&ok);
        return ok && v >= min ? std::optional<int>(v) : std::nullopt;
    };
    const auto leaseSeconds = intOption(QStringLiteral("lease-seconds"), 300, 2);
    const auto maxAttempts = intOption(QStringLiteral("max-attempts"), 3, 1);
    if (!leaseSeconds || !maxAttempts)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--lease-seconds wants an integer >= 2 and --max-attempts >= 1"));
    options.leaseSeconds = *leaseSeconds;
    options.maxAttempts = *maxAttempts;
    options.sweepMs = std::min(5000, options.leaseSeconds * 1000 / 2);
    options.outputs = parser.isSet(QStringLiteral("out")) ? parser.value(QStringLiteral("out")) : Cluster::defaultOutputs(database);

    Cluster::CoordinatorServer::Options listen;
    const QString where = parser.isSet(QStringLiteral("listen")) ? parser.value(QStringLiteral("listen")) : QStringLiteral("127.0.0.1:8765");
    const qsizetype colon = where.lastIndexOf(QLatin1Char(':'));
    bool portOk = false;
    const int port = colon > 0 ? where.mid(colon + 1).toInt(&portOk) : -1;
    QString host = colon > 0 ? where.left(colon) : QString();
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    if (!portOk || port < 0 || port > 65535 || !listen.address.setAddress(host == QLatin1StringView("localhost") ? QStringLiteral("127.0.0.1") : host))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--listen wants HOST:PORT with a numeric address, e.g. 0.0.0.0:8765, not \"%1\"").arg(where));
    listen.port = static_cast<quint16>(port);
    if (parser.isSet(QStringLiteral("tls-cert")) != parser.isSet(QStringLiteral("tls-key")))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--tls-cert and --tls-key go together"));
    listen.tlsCertificate = parser.value(QStringLiteral("tls-cert"));
    listen.tlsKey = parser.value(QStringLiteral("tls-key"));

    Cluster::CoordinatorThread host_(options);
    QObject::connect(host_.coordinator(), &Cluster::Coordinator::logged, host_.coordinator(), [](const QString &l) { logLine(l); });
    if (auto opened = host_.start(); !opened)
        return commandFailure(kCommand, opened.error().category == ErrorCategory::Internal ? ExitFailure : ExitUsage, opened.error().message);
    Cluster::CoordinatorServer server(host_);
    QObject::connect(&server, &Cluster::CoordinatorServer::logged, &server, [](const QString &l) { logLine(l); });
    if (auto r = server.listen(listen); !r)
        return commandFailure(kCommand, ExitUsage, r.error().message);
    // Tests and scripts read this line to learn the port when --listen asked for 0.
    logLine(QStringLiteral("serving %1 on %2://%3:%4 (lease %5 s)")
                .arg(database, server.secure() ? QStringLiteral("wss") : QStringLiteral("ws"), listen.address.toString())
                .arg(server.port())
                .arg(options.leaseSeconds));

    // Agents this coordinator starts itself, now or later on an admin client's request.
    auto intValue = [&](const QString &name) -> std::optional<int> {
        if (!parser.isSet(name))
            return 0;
        bool ok = false;
        const int v = parser.value(name).toInt(&ok);
        return ok && v >= 0 && v <= 1000 ? std::optional<int>(v) : std::nullopt;
    };
    const auto launchLocal = intValue(QStringLiteral("launch-local"));
    const auto launchSlurm = intValue(QStringLiteral("launch-slurm"));
    if (!launchLocal || !launchSlurm)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--launch-local and --launch-slurm want a count from 0 to 1000"));
    Launch::AgentLaunchers::Options launchOptions;
    const QString scheme = server.secure() ? QStringLiteral("wss") : QStringLiteral("ws");
    const bool anyAddress = listen.address == QHostAddress::AnyIPv4 || listen.address == QHostAddress::Any || listen.address == QHostAddress::AnyIPv6;
    launchOptions.connectUrl = parser.isSet(QStringLiteral("advertise"))
                                   ? parser.value(QStringLiteral("advertise"))
                                   : QStringLiteral("%1://%2:%3").arg(scheme, anyAddress ? QSysInfo::machineHostName() : listen.address.toString()).arg(server.port());
    launchOptions.tokenFile = QFileInfo(parser.value(QStringLiteral("token-file"))).absoluteFilePath();
    launchOptions.agentArguments = parser.values(QStringLiteral("agent-arg"));
    launchOptions.knownHostsPath = parser.value(QStringLiteral("known-hosts"));
    launchOptions.credentialsPath = parser.value(QStringLiteral("credentials"));
    auto launchers = std::make_shared<Launch::AgentLaunchers>(launchOptions);
    launchers->setLogSink([](const QString &id, const QString &line) { logLine(QStringLiteral("[%1] %2").arg(id, line)); });
    host_.call([&](Cluster::Coordinator &c) { c.setLaunchControl(launchers); });
    const auto report = [](const QJsonObject &r) {
        if (r.value(QStringLiteral("type")).toString() == QLatin1StringView("error"))
            logLine(QStringLiteral("launch failed: ") + r.value(QStringLiteral("message")).toString());
        else
            logLine(QStringLiteral("launched: ") + r.value(QStringLiteral("ids")).toVariant().toStringList().join(QStringLiteral(", ")));
    };
    if (*launchLocal > 0)
        launchers->launch(QJsonObject{{QStringLiteral("kind"), QStringLiteral("local")}, {QStringLiteral("count"), *launchLocal}}, report);
    for (const QString &host : parser.values(QStringLiteral("launch-ssh")))
        launchers->launch(QJsonObject{{QStringLiteral("kind"), QStringLiteral("ssh")}, {QStringLiteral("count"), 1}, {QStringLiteral("host"), host}}, report);
    QString slurmTemplate;
    if (parser.isSet(QStringLiteral("slurm-template"))) {
        QFile f(parser.value(QStringLiteral("slurm-template")));
        if (!f.open(QIODevice::ReadOnly))
            return commandFailure(kCommand, ExitUsage, QStringLiteral("cannot read %1: %2").arg(f.fileName(), f.errorString()));
        slurmTemplate = QString::fromUtf8(f.read(65536));
    }
    if (*launchSlurm > 0)
        launchers->launch(QJsonObject{{QStringLiteral("kind"), QStringLiteral("slurm")},
                                      {QStringLiteral("template"), slurmTemplate},
                                      {QStringLiteral("count"), *launchSlurm},
                                      {QStringLiteral("host"), parser.value(QStringLiteral("slurm-login"))},
                                      {QStringLiteral("partition"), parser.value(QStringLiteral("slurm-partition"))},
                                      {QStringLiteral("time_limit"), parser.value(QStringLiteral("slurm-time"))}},
                          report);

    // First signal: ask every agent to drain, then leave once they are gone (or after
    // 60 s); second signal: leave now. Committed results are safe either way.
    QTimer drainPoll;
    int drainTicks = 0;
    QObject::connect(&drainPoll, &QTimer::timeout, &server, [&] {
        int agents = 0;
        host_.call([&](Cluster::Coordinator &c) { agents = c.agentSessions(); });
        if (agents == 0 || ++drainTicks > 600)
            QCoreApplication::exit(ExitOk);
    });
    InterruptWatcher watcher(
        [&] {
            QMetaObject::invokeMethod(&server, [&] {
                logLine(QStringLiteral("stopping: agents drain, then the coordinator exits (signal again to exit now)"));
                host_.post([](Cluster::Coordinator &c) { c.drainAll(); });
                drainPoll.start(100);
            }, Qt::QueuedConnection);
        },
        [&] { QMetaObject::invokeMethod(&server, [] { QCoreApplication::exit(ExitOk); }, Qt::QueuedConnection); });
    const int code = QCoreApplication::exec();
    host_.call([](Cluster::Coordinator &c) {
        c.flush();
        c.setLaunchControl(nullptr);
    });
    launchers.reset();  // launched agents still running are stopped
    logLine(QStringLiteral("stopped"));
    return code;
}

const CommandRegistration registration({"serve", "Serve a study to remote agents and admin clients over WebSocket", serve});

} // namespace
} // namespace SegScale::Cli
