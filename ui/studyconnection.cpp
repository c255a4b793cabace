#include "ui/studyconnection.h"

#include "cluster/coordinatorserver.h"
#include "cluster/coordinatorthread.h"
#include "cluster/defaultoutputs.h"
#include "cluster/inprocessclient.h"
#include "cluster/protocol.h"
#include "cluster/tokenfile.h"
#include "cluster/websocketclient.h"
#include "launch/agentlaunchers.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QStandardPaths>

namespace SegScale::Ui {
namespace {

constexpr int kPollMs = 2000;       // re-read even without a "changed" push
constexpr int kSubscribeMs = 500;   // how often the coordinator may push "changed"
constexpr int kStatisticsMs = 5000; // per-dataset counts and throughput: at most this often

QString type(const QJsonObject &m)
{
    return m.value(QStringLiteral("type")).toString();
}

bool isError(const QJsonObject &m)
{
    return type(m) == QLatin1StringView("error");
}

QString errorText(const QJsonObject &m)
{
    const QString message = m.value(QStringLiteral("message")).toString();
    return message.isEmpty() ? QStringLiteral("the coordinator answered with an error (%1)").arg(m.value(QStringLiteral("code")).toString())
                             : message;
}

// 32 random bytes as hex: the embedded coordinator's agent token, new for every open.
QByteArray randomToken()
{
    QByteArray bytes(32, Qt::Uninitialized);
    QRandomGenerator::system()->generate(bytes.begin(), bytes.end());
    return bytes.toHex();
}

} // namespace

StudyConnection::StudyConnection(QObject *parent) : QObject(parent)
{
    m_agentProgram = QCoreApplication::applicationDirPath() + QStringLiteral("/segscale");
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &StudyConnection::refresh);
}

StudyConnection::~StudyConnection()
{
    teardown();
}

QString StudyConnection::describe() const
{
    if (m_thread)
        return tr("%1 (embedded coordinator)").arg(QDir::toNativeSeparators(m_database));
    return m_client ? m_client->describe() : tr("not connected");
}

void StudyConnection::openEmbedded(const QString &database)
{
    close();
    if (!QFileInfo::exists(database)) {
        fail(tr("%1 does not exist; create it with `segscale study create`").arg(database));
        return;
    }
    m_database = QFileInfo(database).absoluteFilePath();

    // Local agents (and any `segscale agent` started by hand) join through a socket on
    // this machine only, with a token made for this session and kept in a private file.
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (!QDir().mkpath(dir)) {
        fail(tr("cannot create %1 for the agents' token").arg(dir));
        return;
    }
    const QByteArray agentToken = randomToken();
    m_agentTokenFile = dir + QStringLiteral("/agent-token-%1").arg(QCoreApplication::applicationPid());
    {
        QFile f(m_agentTokenFile);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            !f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner) || f.write(agentToken + '\n') < 0) {
            fail(tr("cannot write the agents' token file %1: %2").arg(m_agentTokenFile, f.errorString()));
            return;
        }
    }

    Cluster::CoordinatorOptions options;
    options.database = m_database;
    options.agentToken = agentToken;
    options.outputs = Cluster::defaultOutputs(m_database);
    m_thread = std::make_unique<Cluster::CoordinatorThread>(options);
    if (auto started = m_thread->start(); !started) {
        const QString why = started.error().message;
        teardown();
        fail(tr("cannot open %1: %2").arg(database, why));
        return;
    }
    m_server = std::make_unique<Cluster::CoordinatorServer>(*m_thread);
    if (auto listening = m_server->listen(Cluster::CoordinatorServer::Options{}); !listening) {
        const QString why = listening.error().message;
        teardown();
        fail(tr("cannot listen for agents on 127.0.0.1: %1").arg(why));
        return;
    }
    m_agentUrl = QStringLiteral("ws://127.0.0.1:%1").arg(m_server->port());

    Launch::AgentLaunchers::Options launch;
    launch.connectUrl = m_agentUrl;
    launch.tokenFile = m_agentTokenFile;
    launch.localProgram = m_agentProgram;
    m_launchers = std::make_shared<Launch::AgentLaunchers>(launch);
    std::shared_ptr<Launch::AgentLaunchers> launchers = m_launchers;
    m_thread->call([&](Cluster::Coordinator &c) { c.setLaunchControl(launchers); });

    attach(new Cluster::InProcessClient(*m_thread, this), {});
}

void StudyConnection::openRemote(const QUrl &url, const QString &tokenFile)
{
    close();
    if (!url.isValid() || (url.scheme() != QLatin1StringView("ws") && url.scheme() != QLatin1StringView("wss")) || url.host().isEmpty()) {
        fail(tr("\"%1\" is not a coordinator address: use ws://HOST:PORT or wss://HOST:PORT").arg(url.toString()));
        return;
    }
    auto token = Cluster::readTokenFile(tokenFile);
    if (!token) {
        fail(tr("admin token: %1").arg(token.error().message));
        return;
    }
    attach(new Cluster::WebSocketClient(url, {}, this), *token);
}

void StudyConnection::attach(Cluster::CoordinatorClient *client, const QByteArray &token)
{
    m_client = client;
    m_refusedAtHello = false;
    connect(client, &Cluster::CoordinatorClient::opened, this, [this, token] { sayHello(token); });
    connect(client, &Cluster::CoordinatorClient::received, this, &StudyConnection::onReceived);
    connect(client, &Cluster::CoordinatorClient::closed, this, &StudyConnection::onClosed);
    client->open();
}

void StudyConnection::sayHello(const QByteArray &token)
{
    QJsonObject hello{{QStringLiteral("type"), QStringLiteral("hello")},
                      {QStringLiteral("protocol"), Cluster::Protocol::kVersion},
                      {QStringLiteral("role"), QStringLiteral("admin")},
                      {QStringLiteral("name"), QStringLiteral("segscale-studio")}};
    if (!token.isEmpty())
        hello.insert(QStringLiteral("token"), QString::fromUtf8(token));
    m_client->request(hello, [this](const QJsonObject &reply) {
        if (isError(reply)) {
            m_refusedAtHello = true;
            fail(tr("%1 refused the connection: %2").arg(describe(), errorText(reply)));
            close();
            return;
        }
        m_heartbeatSeconds = reply.value(QStringLiteral("heartbeat_seconds")).toInt();
        m_connected = true;
        Q_EMIT connected();
        m_client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("subscribe")}, {QStringLiteral("interval"), kSubscribeMs}},
                          [this](const QJsonObject &r) {
                              if (isError(r))
                                  fail(tr("subscribe: %1").arg(errorText(r)));
                          });
        m_poll.start();
        refresh();
    });
}

void StudyConnection::refresh()
{
    if (!m_connected || !m_client)
        return;
    // One request of each kind at a time: a slow coordinator is not flooded.
    if (!m_summaryInFlight) {
        m_summaryInFlight = true;
        m_client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("summary")}}, [this](const QJsonObject &r) {
            m_summaryInFlight = false;
            if (isError(r)) {
                fail(tr("progress: %1").arg(errorText(r)));
            } else {
                m_lastSummary = r;
                Q_EMIT summaryUpdated(r);
            }
        });
    }
    if (!m_workersInFlight) {
        m_workersInFlight = true;
        m_client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("workers")}}, [this](const QJsonObject &r) {
            m_workersInFlight = false;
            if (isError(r)) {
                fail(tr("workers: %1").arg(errorText(r)));
            } else {
                m_lastWorkers = r.value(QStringLiteral("workers")).toArray();
                Q_EMIT workersUpdated(m_lastWorkers, r.value(QStringLiteral("launched")).toArray());
            }
        });
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - m_statisticsAt < kStatisticsMs)
        return;
    m_statisticsAt = now;
    if (!m_datasetsInFlight) {
        m_datasetsInFlight = true;
        m_client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("datasets")}}, [this](const QJsonObject &r) {
            m_datasetsInFlight = false;
            if (isError(r))
                fail(tr("datasets: %1").arg(errorText(r)));
            else
                Q_EMIT datasetsUpdated(r.value(QStringLiteral("datasets")).toArray());
        });
    }
    if (!m_throughputInFlight) {
        m_throughputInFlight = true;
        m_client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("throughput")},
                                      {QStringLiteral("minutes"), m_throughputMinutes},
                                      {QStringLiteral("bucket_seconds"), m_throughputBucketSeconds}},
                          [this](const QJsonObject &r) {
                              m_throughputInFlight = false;
                              if (isError(r))
                                  fail(tr("throughput: %1").arg(errorText(r)));
                              else
                                  Q_EMIT throughputUpdated(r);
                          });
    }
}

void StudyConnection::onReceived(const QJsonObject &message)
{
    const QString t = type(message);
    if (t == QLatin1StringView("changed")) {
        refresh();
        Q_EMIT studyChanged();
    } else if (t == QLatin1StringView("error") && !message.contains(QStringLiteral("id"))) {
        // Pushed, not a reply (a reply's callback reports those). Before the welcome it is
        // the coordinator refusing this client (a wrong token, another protocol version);
        // the connection closes next, and that is the same failure, not a second one.
        if (!m_connected && !m_refusedAtHello) {
            m_refusedAtHello = true;
            fail(tr("%1 refused the connection: %2").arg(describe(), errorText(message)));
            close();
        } else if (m_connected) {
            fail(errorText(message));
        }
    }
}

void StudyConnection::onClosed(const QString &reason)
{
    const bool wasConnected = m_connected;
    m_connected = false;
    m_summaryInFlight = m_workersInFlight = m_datasetsInFlight = m_throughputInFlight = false;
    m_statisticsAt = 0;
    m_poll.stop();
    if (!m_refusedAtHello) {
        const QString where = m_client ? m_client->describe() : describe();
        fail(wasConnected ? tr("lost the connection to %1: %2").arg(where, reason.isEmpty() ? tr("closed") : reason)
                          : tr("cannot connect to %1: %2").arg(where, reason.isEmpty() ? tr("closed") : reason));
    }
    Q_EMIT disconnected();
}

void StudyConnection::action(const QString &what, QJsonObject request, std::function<void(const QJsonObject &)> onOk)
{
    if (!m_connected || !m_client) {
        const QString message = tr("%1: not connected to a coordinator").arg(what);
        fail(message);
        Q_EMIT actionFailed(message);
        return;
    }
    m_client->request(std::move(request), [this, what, onOk = std::move(onOk)](const QJsonObject &r) {
        if (!isError(r)) {
            if (onOk)
                onOk(r);
            refresh();
            return;
        }
        const QString message = tr("%1: %2").arg(what, errorText(r));
        fail(message);
        Q_EMIT actionFailed(message);
    });
}

void StudyConnection::drain(const QString &worker)
{
    action(tr("Drain %1").arg(worker), QJsonObject{{QStringLiteral("type"), QStringLiteral("drain")}, {QStringLiteral("worker"), worker}});
}

void StudyConnection::stop(const QString &worker)
{
    action(tr("Stop %1").arg(worker), QJsonObject{{QStringLiteral("type"), QStringLiteral("stop")}, {QStringLiteral("worker"), worker}});
}

void StudyConnection::stopLaunched(const QString &launchId)
{
    action(tr("Stop launched agent %1").arg(launchId),
           QJsonObject{{QStringLiteral("type"), QStringLiteral("stop-launched")}, {QStringLiteral("launch_id"), launchId}});
}

void StudyConnection::launchLocal(int count)
{
    // Every launcher numbers its agents from 1: a prefix of its own keeps the names of
    // a second launch (or another studio's) from replacing the first ones.
    const QString prefix = QStringLiteral("local%1-%2").arg(++m_launches).arg(QRandomGenerator::global()->bounded(0x10000), 4, 16, QLatin1Char('0'));
    action(tr("Start %n local agent(s)", nullptr, count),
           QJsonObject{{QStringLiteral("type"), QStringLiteral("launch")},
                       {QStringLiteral("kind"), QStringLiteral("local")},
                       {QStringLiteral("count"), count},
                       {QStringLiteral("name_prefix"), prefix}});
}

void StudyConnection::launch(QJsonObject request)
{
    const QString kind = request.value(QStringLiteral("kind")).toString();
    const int count = request.value(QStringLiteral("count")).toInt(1);
    if (!request.contains(QStringLiteral("name_prefix")))
        request.insert(QStringLiteral("name_prefix"),
                       QStringLiteral("%1%2-%3").arg(kind).arg(++m_launches).arg(QRandomGenerator::global()->bounded(0x10000), 4, 16, QLatin1Char('0')));
    request.insert(QStringLiteral("type"), QStringLiteral("launch"));
    action(kind == QLatin1StringView("ssh")     ? tr("Start %n agent(s) over SSH on %1", nullptr, count).arg(request.value(QStringLiteral("host")).toString())
           : kind == QLatin1StringView("slurm") ? tr("Submit a Slurm array of %n agent(s)", nullptr, count)
                                                : tr("Start %n local agent(s)", nullptr, count),
           request);
}

int StudyConnection::drainAll()
{
    int asked = 0;
    for (const QJsonValue &v : std::as_const(m_lastWorkers)) {
        const QJsonObject w = v.toObject();
        const QString state = w.value(QStringLiteral("state")).toString();
        if (state == QLatin1StringView("refused") || state == QLatin1StringView("left") || state == QLatin1StringView("draining"))
            continue;
        drain(w.value(QStringLiteral("name")).toString());
        ++asked;
    }
    return asked;
}

void StudyConnection::setThroughputWindow(int minutes, int bucketSeconds)
{
    m_throughputMinutes = minutes;
    m_throughputBucketSeconds = bucketSeconds;
    m_statisticsAt = 0;
    refresh();
}

void StudyConnection::requestPage(const QString &kind, qint64 after, int limit, const QJsonObject &filter, QObject *context,
                                  PageHandler onPage)
{
    if (!m_connected || !m_client)
        return;
    QJsonObject request = filter;
    request.insert(QStringLiteral("type"), kind);
    request.insert(QStringLiteral("after"), static_cast<double>(after));
    request.insert(QStringLiteral("limit"), limit);
    QPointer<QObject> guard(context);
    m_client->request(request, [this, kind, guard, onPage = std::move(onPage)](const QJsonObject &r) {
        if (!guard)
            return;
        if (isError(r)) {
            fail(tr("%1: %2").arg(kind, errorText(r)));
            onPage({}, -1);
            return;
        }
        const QJsonValue next = r.value(QStringLiteral("next"));
        onPage(r.value(QStringLiteral("rows")).toArray(), next.isDouble() ? static_cast<qint64>(next.toDouble()) : -1);
    });
}

void StudyConnection::query(QJsonObject request, QObject *context, ReplyHandler onReply)
{
    QPointer<QObject> guard(context);
    if (!m_connected || !m_client) {
        const QString what = type(request);
        QMetaObject::invokeMethod(
            this, [guard, what, onReply = std::move(onReply)] {
                if (guard)
                    onReply({}, tr("%1: not connected to a coordinator").arg(what));
            },
            Qt::QueuedConnection);
        return;
    }
    m_client->request(std::move(request), [guard, onReply = std::move(onReply)](const QJsonObject &r) {
        if (!guard)
            return;
        if (isError(r))
            onReply(r, errorText(r));
        else
            onReply(r, QString());
    });
}

void StudyConnection::retry(const QString &category, QObject *context, std::function<void(qint64 count)> onDone)
{
    QJsonObject request{{QStringLiteral("type"), QStringLiteral("retry")}};
    if (!category.isEmpty())
        request.insert(QStringLiteral("category"), category);
    QPointer<QObject> guard(context);
    action(category.isEmpty() ? tr("Retry all failed images") : tr("Retry the %1 failures").arg(category), request,
           [guard, onDone = std::move(onDone)](const QJsonObject &r) {
               if (guard && onDone)
                   onDone(static_cast<qint64>(r.value(QStringLiteral("count")).toDouble()));
           });
}

void StudyConnection::retryImages(const QList<qint64> &images, QObject *context, std::function<void(qint64 count)> onDone)
{
    QJsonArray ids;
    for (qint64 id : images)
        ids.append(static_cast<double>(id));
    QPointer<QObject> guard(context);
    action(tr("Retry %n selected image(s)", nullptr, static_cast<int>(images.size())),
           QJsonObject{{QStringLiteral("type"), QStringLiteral("retry")}, {QStringLiteral("images"), ids}},
           [guard, onDone = std::move(onDone)](const QJsonObject &r) {
               if (guard && onDone)
                   onDone(static_cast<qint64>(r.value(QStringLiteral("count")).toDouble()));
           });
}

void StudyConnection::ask(const QString &what, QJsonObject request, QObject *context, std::function<void(const QJsonObject &reply)> onReply,
                          std::function<void(const QString &message)> onError)
{
    QPointer<QObject> guard(context);
    if (!m_connected || !m_client) {
        const QString message = tr("%1: not connected to a coordinator").arg(what);
        fail(message);
        Q_EMIT actionFailed(message);
        if (guard && onError)
            onError(message);
        return;
    }
    m_client->request(std::move(request), [this, what, guard, onReply = std::move(onReply), onError = std::move(onError)](const QJsonObject &r) {
        if (isError(r)) {
            const QString message = tr("%1: %2").arg(what, errorText(r));
            fail(message);
            Q_EMIT actionFailed(message);
            if (guard && onError)
                onError(message);
            return;
        }
        if (guard && onReply)
            onReply(r);
    });
}

void StudyConnection::fail(const QString &message)
{
    Q_EMIT failed(message);
}

void StudyConnection::close()
{
    const bool had = m_client || m_thread;
    const bool wasConnected = m_connected;
    m_connected = false;
    teardown();
    if (had && wasConnected)
        Q_EMIT disconnected();
}

void StudyConnection::teardown()
{
    m_poll.stop();
    m_summaryInFlight = m_workersInFlight = m_datasetsInFlight = m_throughputInFlight = false;
    m_statisticsAt = 0;
    m_lastWorkers = {};
    m_lastSummary = {};
    m_heartbeatSeconds = 0;
    if (m_client) {
        // Closing on purpose is not a failure: no closed() handling from here on.
        disconnect(m_client, nullptr, this, nullptr);
        m_client->close();
        m_client->deleteLater();
        m_client = nullptr;
    }
    if (m_thread) {
        m_thread->call([](Cluster::Coordinator &c) {
            c.flush();
            c.setLaunchControl(nullptr);
        });
    }
    m_launchers.reset();  // stops the agents it launched
    m_server.reset();
    m_thread.reset();
    if (!m_agentTokenFile.isEmpty())
        QFile::remove(m_agentTokenFile);
    m_agentTokenFile.clear();
    m_agentUrl.clear();
    m_database.clear();
}

} // namespace SegScale::Ui
