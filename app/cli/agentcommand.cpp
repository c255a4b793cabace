// `segscale agent`: pulls images from a coordinator (`segscale serve`), segments them and
// reports back until the study has no work left (or, with --stay, for ever). Ctrl-C or
// SIGTERM drains (in-flight images finish); a second signal stops at once (they go back).

#include "command.h"
#include "commandline.h"
#include "inferenceoptions.h"
#include "interruptwatcher.h"

#include "agent/agent.h"
#include "cluster/tokenfile.h"
#include "cluster/websocketclient.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTextStream>
#include <QUrl>

namespace SegScale::Cli {
namespace {

const QString kCommand = QStringLiteral("agent");

int agent(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Works for a coordinator: leases images, fetches them from the storage the study names\n"
        "(local path or SFTP, with this machine's credentials), segments them with the study's\n"
        "model and settings and reports each result. The model comes from the coordinator (cached\n"
        "by content hash) unless --model names a local copy, which must be the study's exact model.\n"
        "Exit codes: 0 the study has no work left or the agent was stopped, 2 token, version or\n"
        "model refused, 1 other failures."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("connect"), QStringLiteral("The coordinator: ws://HOST:PORT or wss://HOST:PORT (required)."), QStringLiteral("URL")},
        {QStringLiteral("token-file"), QStringLiteral("File holding the agents' token (required)."), QStringLiteral("F")},
        {QStringLiteral("name"), QStringLiteral("This agent's name, unique in the cluster (default <host>-<pid>)."), QStringLiteral("N")},
        {QStringLiteral("device"), QStringLiteral("cpu or cuda[:i] (default cpu)."), QStringLiteral("DEV")},
        {QStringLiteral("threads"), QStringLiteral("LibTorch threads (default: all cores)."), QStringLiteral("N")},
        {QStringLiteral("stay"), QStringLiteral("Keep waiting for new work when the study is finished.")},
        {QStringLiteral("model"), QStringLiteral("Use this local model folder (refused unless it is the study's model)."), QStringLiteral("PATH")},
        {QStringLiteral("model-cache"), QStringLiteral("Where models fetched from the coordinator are kept (default ~/.cache/segscale/models)."), QStringLiteral("DIR")},
        {QStringLiteral("out"), QStringLiteral("Write label maps here instead of where the coordinator says."), QStringLiteral("DIR")},
        {QStringLiteral("overlays"), QStringLiteral("Also write overlays.")},
        {QStringLiteral("prefetch"), QStringLiteral("Images leased ahead of the engine (default 4)."), QStringLiteral("N")},
        {QStringLiteral("precision"), QStringLiteral("Run in fp32, fp16 or bf16 instead of the study's precision (for testing: results may differ)."), QStringLiteral("P")},
        {QStringLiteral("ca-cert"), QStringLiteral("PEM certificate to trust for wss:// (a self-signed coordinator)."), QStringLiteral("FILE")},
    });
    addStorageAccessOptions(parser);
    if (auto stop = parseCommandLine(parser, args, kCommand, 0))
        return *stop;
    const QUrl url(parser.value(QStringLiteral("connect")));
    if (!parser.isSet(QStringLiteral("connect")) || !url.isValid() || (url.scheme() != QLatin1StringView("ws") && url.scheme() != QLatin1StringView("wss")) ||
        url.host().isEmpty() || url.port() <= 0)
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--connect wants ws://HOST:PORT or wss://HOST:PORT"));
    if (!parser.isSet(QStringLiteral("token-file")))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--token-file is required"));
    auto token = Cluster::readTokenFile(parser.value(QStringLiteral("token-file")));
    if (!token)
        return commandFailure(kCommand, ExitUsage, token.error().message);

    Agent::AgentOptions options;
    options.token = *token;
    options.name = parser.value(QStringLiteral("name"));
    options.stay = parser.isSet(QStringLiteral("stay"));
    options.overlays = parser.isSet(QStringLiteral("overlays"));
    options.out = parser.value(QStringLiteral("out"));
    if (parser.isSet(QStringLiteral("device")))
        options.device = parser.value(QStringLiteral("device"));
    if (options.device != QLatin1StringView("cpu") && !options.device.startsWith(QLatin1StringView("cuda")))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--device must be cpu or cuda[:i], not \"%1\"").arg(options.device));
    for (const auto &[name, target, min] : {std::tuple{QStringLiteral("threads"), &options.threads, 1}, std::tuple{QStringLiteral("prefetch"), &options.prefetch, 1}}) {
        if (!parser.isSet(name))
            continue;
        bool ok = false;
        *target = parser.value(name).toInt(&ok);
        if (!ok || *target < min)
            return commandFailure(kCommand, ExitUsage, QStringLiteral("--%1 wants an integer >= %2").arg(name).arg(min));
    }
    if (parser.isSet(QStringLiteral("precision"))) {
        auto p = parsePrecision(parser.value(QStringLiteral("precision")));
        if (!p)
            return commandFailure(kCommand, ExitUsage, p.error().message);
        options.precision = *p;
    }
    options.modelPath = parser.value(QStringLiteral("model"));
    if (!options.modelPath.isEmpty() && !QFileInfo::exists(options.modelPath))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--model %1 does not exist").arg(options.modelPath));
    options.modelCache = parser.isSet(QStringLiteral("model-cache"))
                             ? parser.value(QStringLiteral("model-cache"))
                             : QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation) + QStringLiteral("/segscale/models");
    auto access = readStorageAccess(parser);
    if (!access)
        return commandFailure(kCommand, ExitUsage, access.error().message);
    options.credentials = access->credentials;
    options.storage = access->options;
    const QString ca = parser.value(QStringLiteral("ca-cert"));
    if (!ca.isEmpty() && !QFileInfo::exists(ca))
        return commandFailure(kCommand, ExitUsage, QStringLiteral("--ca-cert %1 does not exist").arg(ca));

    QTextStream err(stderr);
    Agent::Agent worker(options, std::make_unique<Cluster::WebSocketClient>(url, ca));
    QObject::connect(&worker, &Agent::Agent::logged, &worker, [](const QString &line) {
        QTextStream(stderr) << QDateTime::currentDateTime().toString(Qt::ISODate) << ' ' << line << Qt::endl;
    });
    int exitCode = ExitFailure;
    QObject::connect(&worker, &Agent::Agent::finished, &worker, [&](const Agent::AgentSummary &s) {
        exitCode = s.exitCode;
        if (s.exitCode != 0)
            QTextStream(stderr) << "segscale agent: " << s.message << Qt::endl;
        QCoreApplication::exit(s.exitCode);
    });
    InterruptWatcher watcher([&] { QMetaObject::invokeMethod(&worker, [&] { worker.drain(); }, Qt::QueuedConnection); },
                             [&] { QMetaObject::invokeMethod(&worker, [&] { worker.stop(); }, Qt::QueuedConnection); });
    worker.start();
    QCoreApplication::exec();
    return exitCode;
}

const CommandRegistration registration({"agent", "Work for a coordinator: lease, segment, report (see serve)", agent});

} // namespace
} // namespace SegScale::Cli
