#include "launch/agentlaunchers.h"

#include "cluster/protocol.h"
#include "launch/locallauncher.h"
#include "launch/slurmlauncher.h"
#include "launch/sshlauncher.h"

#include <QCoreApplication>
#include <QJsonArray>

namespace SegScale::Launch {
namespace {

constexpr int kLogLines = 40;  // last lines kept per agent for the admin view

// Ids are made unique across launches ("2/local:1"): every launch has a launcher of its
// own, and each launcher numbers its agents from 1.
QString externalId(int launch, const QString &id)
{
    return QString::number(launch) + QLatin1Char('/') + id;
}

QJsonObject toJson(int launch, const QString &kind, const LaunchedAgent &a)
{
    return QJsonObject{{QStringLiteral("id"), externalId(launch, a.id)},
                       {QStringLiteral("name"), a.name},
                       {QStringLiteral("kind"), kind},
                       {QStringLiteral("state"), stateName(a.state)},
                       {QStringLiteral("exit_code"), a.exitCode},
                       {QStringLiteral("detail"), a.detail}};
}

QJsonObject failure(const Error &e)
{
    return Cluster::Protocol::error(categoryName(e.category), e.message);
}

} // namespace

AgentLaunchers::AgentLaunchers(Options options) : m_options(std::move(options))
{
    if (m_options.localProgram.isEmpty())
        m_options.localProgram = QCoreApplication::applicationFilePath();
    m_thread.setObjectName(QStringLiteral("launchers"));
    m_context = new QObject;
    m_context->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_context, &QObject::deleteLater);
    m_thread.start();
}

AgentLaunchers::~AgentLaunchers()
{
    QMetaObject::invokeMethod(m_context, [this] {
        for (Launcher *l : m_launchers)
            l->stopAll();
    }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

void AgentLaunchers::setLogSink(std::function<void(const QString &, const QString &)> sink)
{
    std::lock_guard lock(m_mutex);
    m_logSink = std::move(sink);
}

void AgentLaunchers::launch(const QJsonObject &request, Reply reply)
{
    QMetaObject::invokeMethod(m_context, [this, request, reply = std::move(reply)] {
        const QString kind = request.value(QStringLiteral("kind")).toString();
        LaunchSpec spec;
        spec.count = request.value(QStringLiteral("count")).toInt(1);
        spec.namePrefix = request.value(QStringLiteral("name_prefix")).toString(kind + QStringLiteral("-agent"));
        const bool local = kind == QLatin1StringView("local");
        spec.program = request.value(QStringLiteral("program")).toString(local ? m_options.localProgram : m_options.remoteProgram);
        spec.arguments = {QStringLiteral("agent"), QStringLiteral("--connect"), m_options.connectUrl, QStringLiteral("--token-file"),
                          m_options.tokenFile, QStringLiteral("--name"), QStringLiteral("{name}")};
        spec.arguments += m_options.agentArguments;
        for (const QJsonValue &a : request.value(QStringLiteral("args")).toArray())
            spec.arguments << a.toString();
        spec.ssh.host = request.value(QStringLiteral("host")).toString();
        spec.ssh.knownHostsPath = m_options.knownHostsPath;
        spec.ssh.credentialsPath = m_options.credentialsPath;
        spec.slurm.partition = request.value(QStringLiteral("partition")).toString();
        spec.slurm.timeLimit = request.value(QStringLiteral("time_limit")).toString();
        spec.slurm.batchTemplate = request.value(QStringLiteral("template")).toString();
        spec.slurm.scriptDirectory = m_options.slurmScriptDirectory;
        spec.slurm.commandEnvironment = m_options.slurmEnvironment;
        spec.slurm.pollIntervalMs = m_options.slurmPollMs;

        Launcher *launcher = nullptr;
        if (local)
            launcher = new LocalLauncher(m_context);
        else if (kind == QLatin1StringView("ssh")) {
            if (spec.ssh.host.isEmpty()) {
                reply(failure(Error{ErrorCategory::Usage, QStringLiteral("an ssh launch needs a \"host\" (ssh://user@host:port)")}));
                return;
            }
            launcher = new SshLauncher(m_context);
        } else if (kind == QLatin1StringView("slurm"))
            launcher = new SlurmLauncher(m_context);
        else {
            reply(failure(Error{ErrorCategory::Usage, QStringLiteral("\"kind\" must be local, ssh or slurm, not \"%1\"").arg(kind)}));
            return;
        }
        const int number = ++m_launches;
        QObject::connect(launcher, &Launcher::agentStateChanged, m_context,
                         [this, kind, number](const LaunchedAgent &a) { onState(kind, toJson(number, kind, a)); });
        QObject::connect(launcher, &Launcher::logLineReceived, m_context, [this, number](const QString &innerId, const QString &line) {
            const QString id = externalId(number, innerId);
            std::function<void(const QString &, const QString &)> sink;
            {
                std::lock_guard lock(m_mutex);
                QStringList &lines = m_logs[id];
                lines.append(line);
                if (lines.size() > kLogLines)
                    lines.removeFirst();
                sink = m_logSink;
            }
            if (sink)
                sink(id, line);
        });
        auto ids = launcher->start(spec);
        if (!ids) {
            launcher->deleteLater();
            reply(failure(ids.error()));
            return;
        }
        m_launchers.push_back(launcher);
        QStringList external;
        for (const QString &id : *ids) {
            external << externalId(number, id);
            m_byId.insert(external.last(), {launcher, id});
            onState(kind, toJson(number, kind, launcher->agent(id)));
        }
        reply(QJsonObject{{QStringLiteral("type"), QStringLiteral("launched")}, {QStringLiteral("ids"), QJsonArray::fromStringList(external)}});
    }, Qt::QueuedConnection);
}

void AgentLaunchers::stop(const QString &id, Reply reply)
{
    QMetaObject::invokeMethod(m_context, [this, id, reply = std::move(reply)] {
        const auto it = m_byId.constFind(id);
        if (it == m_byId.constEnd()) {
            reply(failure(Error{ErrorCategory::Missing, QStringLiteral("no launched agent \"%1\"").arg(id)}));
            return;
        }
        auto stopped = it->first->stop(it->second);
        reply(stopped ? QJsonObject{{QStringLiteral("type"), QStringLiteral("ok")}} : failure(stopped.error()));
    }, Qt::QueuedConnection);
}

void AgentLaunchers::onState(const QString &, const QJsonObject &state)
{
    std::lock_guard lock(m_mutex);
    const QString id = state.value(QStringLiteral("id")).toString();
    if (!m_states.contains(id))
        m_order.append(id);
    m_states.insert(id, state);
}

QJsonArray AgentLaunchers::launched() const
{
    std::lock_guard lock(m_mutex);
    QJsonArray out;
    for (const QString &id : m_order) {
        QJsonObject o = m_states.value(id);
        o.insert(QStringLiteral("log"), QJsonArray::fromStringList(m_logs.value(id)));
        out.append(o);
    }
    return out;
}

} // namespace SegScale::Launch
