// bench_coordinator: the coordinator under many agents, over loopback WebSocket.
//
// Part 1 (throughput): a real CoordinatorThread + CoordinatorServer on 127.0.0.1:0 in
// this process, N simulated agents (WebSocketClients, all on one client thread) that say
// hello, lease --batch images, send a result for each granted image at once (20-class
// composition, the lease id echoed as the string the grant gave) and lease again on each
// grant/ack while fewer than --window images wait for their ack, until "done" or
// --seconds. Reports acknowledged results/s, lease round trip (lease sent -> grant
// received) and result round trip (result sent -> ack received) percentiles, and how
// much CPU the client thread, the socket thread and the coordinator thread used.
//
// Part 2 (memory): the same agents against `segscale serve` ($SEGSCALE_CLI) as a child
// process over a study of --images images, run to the end; the child's VmRSS is read
// when 10 %, 50 % and 90 % of the study is acknowledged. The child holds nothing of the
// clients, so the series is the coordinator's alone.
//
// Both parts over SQLite (a file in a temp dir) and PostgreSQL (tests/common
// PostgresFixture; skipped with a line saying why when its binaries are missing).
//
//   bench_coordinator [--agents 256] [--images 1000000] [--batch 8] [--window 16]
//                     [--think-ms 0] [--warmup 2] [--backend sqlite|postgres|both] [--seconds 60]
//                     [--parts throughput,rss] [--json FILE]
//
// With --think-ms 0 the agents answer at once, so the coordinator is saturated and the
// lease and ack latencies are its queue (in flight / rate, Little's law). --think-ms T
// makes each agent hold a grant T ms (0.5-1.5 T) before reporting it, as if segmenting: an
// offered load of about agents x window / T results/s, to see the latency at a load the
// coordinator carries.
//
// Targets (issue #12): >= 5,000 results/s and lease p99 < 20 ms over SQLite. They are
// reported, never asserted: the exit code is 1 only when something is wrong (a refused
// hello, a closed connection, an outcome other than "done", an image acknowledged twice).

#include "cluster/coordinatorserver.h"
#include "cluster/coordinatorthread.h"
#include "cluster/protocol.h"
#include "cluster/websocketclient.h"
#include "common/postgresfixture.h"
#include "jobs/jobstore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTextStream>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <sys/resource.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace SegScale;

namespace {

constexpr int kClasses = 20;
const QByteArray kToken = "bench-agent-token";
const QByteArray kModelFingerprint = QByteArray(64, 'a').replace(1, 1, "b");  // "ab" + 62 x "a"

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream &err()
{
    static QTextStream s(stderr);
    return s;
}

double percentile(std::vector<float> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * double(v.size() - 1) + 0.5));
    return double(v[i]);
}

QString loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("?");
    return QString::fromLatin1(f.readAll()).section(QLatin1Char(' '), 0, 2);
}

// utime + stime of /proc/.../stat, in seconds (clock-tick resolution: 10 ms).
double cpuSeconds(const QString &statPath)
{
    QFile f(statPath);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = f.readAll();
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return 0;
    return double(fields[11].toLongLong() + fields[12].toLongLong()) / double(::sysconf(_SC_CLK_TCK));
}

double threadCpuSeconds()
{
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

long threadId()
{
    return static_cast<long>(::syscall(SYS_gettid));
}

// "VmRSS:  123456 kB" of /proc/PID/status, in MiB; field e.g. "VmRSS" or "VmHWM".
double statusMiB(qint64 pid, const char *field)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray key = QByteArray(field) + ':';
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith(key))
            return double(line.mid(key.size()).trimmed().split(' ').value(0).toLongLong()) / 1024.0;
    return 0;
}

// --- the study -------------------------------------------------------------------------

Result<void> createStudy(const QString &location, qint64 images)
{
    auto opened = Jobs::JobStore::open(location, Jobs::JobStore::OpenMode::CreateIfMissing);
    if (!opened)
        return opened.error();
    Jobs::JobStore &store = **opened;
    Jobs::StudySettings settings;
    QStringList classes;
    for (int c = 0; c < kClasses; ++c)
        classes.append(QStringLiteral("class %1").arg(c));
    settings.modelCard[QStringLiteral("name")] = QStringLiteral("bench");
    settings.modelCard[QStringLiteral("classes")] = QJsonArray::fromStringList(classes);
    settings.modelCard[QStringLiteral("num_classes")] = kClasses;
    settings.modelFingerprint = kModelFingerprint;
    if (auto r = store.beginRun(settings, false); !r)
        return r.error();
    auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    if (!storage)
        return storage.error();
    auto dataset = store.addDataset(*storage, QStringLiteral("/data/streetview"), {QStringLiteral("*.jpg")}, {});
    if (!dataset)
        return dataset.error();
    QList<Jobs::ImageEntry> entries;
    entries.reserve(images);
    for (qint64 i = 0; i < images; ++i)
        entries.append({QStringLiteral("city%1/pano_%2.jpg").arg(i % 97, 2, 10, QLatin1Char('0')).arg(i, 8, 10, QLatin1Char('0')),
                        100'000 + i % 50'000});
    auto added = store.addImages(*dataset, entries);
    if (!added)
        return added.error();
    if (added->added != images)
        return Error{ErrorCategory::Internal, QStringLiteral("added %1 of %2 images").arg(added->added).arg(images)};
    return {};
}

// --- the simulated agents ----------------------------------------------------------------

struct SwarmParams {
    QUrl url;
    int agents = 256;
    int batch = 8;
    int window = 16;          // results in flight (sent, not yet acknowledged) per agent, at most
    qint64 images = 0;        // the study's size, for the progress marks
    double capSeconds = 60;   // stop measuring here (0: run to the end)
    int thinkMs = 0;          // an agent sends a grant's results this long after it (0: at once)
    double warmupSeconds = 2; // latencies and the rate count from here: all agents start at once
    QList<double> marks;      // fractions of the study at which onMark is called
    std::function<void(double mark)> onMark;  // called on the client thread
    QStringList cpuThreads;   // /proc/.../stat paths sampled at the start and end of the window
};

struct SwarmResult {
    qint64 measuredAcks = 0;  // acknowledged after the warm-up: the rate's numerator
    qint64 acks = 0, grants = 0, waits = 0, dones = 0, granted = 0;
    qint64 notDone = 0, duplicates = 0, errors = 0;
    bool capped = false;
    double seconds = 0;       // end of the warm-up -> last ack (or the cap)
    double warmupSeconds = 0; // what was left out at the start
    double connectSeconds = 0;
    double clientCpu = 0;     // the client thread, over the window
    std::vector<double> threadCpu;  // SwarmParams::cpuThreads, over the window
    std::vector<float> leaseMs, ackMs;
    QStringList problems;
};

// N agents on the thread it is moved to. Everything here runs on that thread.
class Swarm final : public QObject {
public:
    explicit Swarm(SwarmParams p) : m_p(std::move(p)) {}

    void start(std::function<void()> finished)
    {
        m_finished = std::move(finished);
        m_clock.start();
        m_composition = QJsonArray();
        for (int c = 0; c < kClasses; ++c)
            m_composition.append(double(c + 1) / 210.0);
        m_agents.resize(size_t(m_p.agents));
        for (int i = 0; i < m_p.agents; ++i) {
            Agent &a = m_agents[size_t(i)];
            a.index = i;
            a.client = std::make_unique<Cluster::WebSocketClient>(m_p.url);
            Cluster::WebSocketClient *c = a.client.get();
            connect(c, &Cluster::CoordinatorClient::opened, this, [this, i] { hello(i); });
            connect(c, &Cluster::CoordinatorClient::received, this, [this, i](const QJsonObject &m) { received(i, m); });
            connect(c, &Cluster::CoordinatorClient::closed, this, [this, i](const QString &why) { closed(i, why); });
            c->open();
        }
        m_cap.setSingleShot(true);
        connect(&m_cap, &QTimer::timeout, this, [this] { finish(true); });
    }

    SwarmResult &result() { return m_r; }
    void shutdown()
    {
        m_closing = true;
        for (Agent &a : m_agents)
            if (a.client && a.client->isOpen())
                a.client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("bye")}});
        m_agents.clear();
    }

private:
    struct Agent {
        int index = 0;
        std::unique_ptr<Cluster::WebSocketClient> client;
        bool welcomed = false, leasing = false, done = false;
        int unacked = 0;
        QHash<qint64, qint64> sentAt;  // image -> ns on m_clock
    };

    void hello(int i)
    {
        Agent &a = m_agents[size_t(i)];
        a.client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("hello")},
                                      {QStringLiteral("protocol"), Cluster::Protocol::kVersion},
                                      {QStringLiteral("role"), QStringLiteral("agent")},
                                      {QStringLiteral("token"), QString::fromLatin1(kToken)},
                                      {QStringLiteral("name"), QStringLiteral("bench-%1").arg(i, 4, 10, QLatin1Char('0'))},
                                      {QStringLiteral("host"), QStringLiteral("localhost")},
                                      {QStringLiteral("device"), QStringLiteral("cpu")},
                                      {QStringLiteral("threads"), 1},
                                      {QStringLiteral("version"), QStringLiteral("bench")},
                                      {QStringLiteral("fresh"), true}},
                          [this, i](const QJsonObject &reply) {
                              if (reply.value(QStringLiteral("type")).toString() != QLatin1StringView("welcome")) {
                                  problem(QStringLiteral("agent %1 not welcomed: %2").arg(i).arg(QString::fromUtf8(Cluster::Protocol::serialize(reply))));
                                  return;
                              }
                              m_agents[size_t(i)].welcomed = true;
                              if (++m_welcomed == m_p.agents)
                                  go();
                          });
    }

    // Every agent is in: the measured window starts now, all of them leasing at once.
    void go()
    {
        m_r.connectSeconds = double(m_clock.nsecsElapsed()) / 1e9;
        startMeasuring();
        // The first leases of 256 agents arrive together, a burst no steady state has:
        // measure from the end of the warm-up (or from here when the run is shorter).
        if (m_p.warmupSeconds > 0) {
            QTimer::singleShot(int(m_p.warmupSeconds * 1000), this, [this] {
                if (!m_stopped)
                    startMeasuring();
            });
        }
        if (m_p.capSeconds > 0)
            m_cap.start(int(m_p.capSeconds * 1000));
        for (int i = 0; i < m_p.agents; ++i)
            pump(i);
    }

    void startMeasuring()
    {
        m_startNs = m_clock.nsecsElapsed();
        m_r.warmupSeconds = double(m_startNs) / 1e9 - m_r.connectSeconds;
        m_acksAtStart = m_r.acks;
        m_cpu0 = threadCpuSeconds();
        m_threadCpu0.clear();
        for (const QString &path : std::as_const(m_p.cpuThreads))
            m_threadCpu0.push_back(cpuSeconds(path));
    }

    void pump(int i)
    {
        Agent &a = m_agents[size_t(i)];
        if (m_stopped || a.leasing || a.done || a.unacked > m_p.window - m_p.batch)
            return;
        a.leasing = true;
        const qint64 sent = m_clock.nsecsElapsed();
        a.client->request(QJsonObject{{QStringLiteral("type"), QStringLiteral("lease")}, {QStringLiteral("n"), m_p.batch}},
                          [this, i, sent](const QJsonObject &reply) { leaseAnswered(i, sent, reply); });
    }

    void leaseAnswered(int i, qint64 sent, const QJsonObject &reply)
    {
        if (m_stopped)
            return;
        Agent &a = m_agents[size_t(i)];
        a.leasing = false;
        const QString type = reply.value(QStringLiteral("type")).toString();
        if (type == QLatin1StringView("grant")) {
            const qint64 now = m_clock.nsecsElapsed();
            m_leaseSamples.push_back({sent, float(double(now - sent) / 1e6)});
            ++m_r.grants;
            const QJsonArray images = reply.value(QStringLiteral("images")).toArray();
            m_r.granted += images.size();
            a.unacked += int(images.size());
            if (m_p.thinkMs > 0) {
                // The agent "segments" the batch first: its results follow 0.5-1.5 x
                // thinkMs later. Jittered, or the agents that started together stay in
                // step and every report arrives in one burst.
                const int think = int(m_p.thinkMs * (0.5 + QRandomGenerator::global()->generateDouble()));
                QTimer::singleShot(think, this, [this, i, images] {
                    if (!m_stopped)
                        report(i, images);
                });
            } else {
                report(i, images);
            }
            pump(i);
        } else if (type == QLatin1StringView("wait")) {
            ++m_r.waits;
            // Other agents still hold the last images; ask again soon (not after the
            // seconds "wait" says: the window ends at the last ack either way).
            QTimer::singleShot(100, this, [this, i] { pump(i); });
        } else if (type == QLatin1StringView("done")) {
            ++m_r.dones;
            a.done = true;
            if (m_r.dones == m_p.agents)
                finish(false);
        } else {
            problem(QStringLiteral("agent %1: lease answered with %2").arg(i).arg(QString::fromUtf8(Cluster::Protocol::serialize(reply))));
        }
    }

    // One result per granted image, the lease id echoed as the grant gave it.
    void report(int i, const QJsonArray &images)
    {
        Agent &a = m_agents[size_t(i)];
        for (const QJsonValue &v : images) {
            const QJsonObject img = v.toObject();
            const qint64 image = static_cast<qint64>(img.value(QStringLiteral("image")).toDouble());
            a.sentAt.insert(image, m_clock.nsecsElapsed());
            a.client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("result")},
                                       {QStringLiteral("image"), static_cast<double>(image)},
                                       {QStringLiteral("lease"), img.value(QStringLiteral("lease"))},
                                       {QStringLiteral("width"), 2048},
                                       {QStringLiteral("height"), 1024},
                                       {QStringLiteral("composition"), m_composition},
                                       {QStringLiteral("fingerprint"), QString::fromLatin1(kModelFingerprint)},
                                       {QStringLiteral("timings"), QJsonObject{{QStringLiteral("fetch"), 12},
                                                                               {QStringLiteral("decode"), 20},
                                                                               {QStringLiteral("network"), 900},
                                                                               {QStringLiteral("combine"), 8}}}});
        }
    }

    void received(int i, const QJsonObject &m)
    {
        const QString type = m.value(QStringLiteral("type")).toString();
        if (type == QLatin1StringView("ack")) {
            if (m_stopped)
                return;
            Agent &a = m_agents[size_t(i)];
            const qint64 image = static_cast<qint64>(m.value(QStringLiteral("image")).toDouble());
            const auto it = a.sentAt.constFind(image);
            if (it == a.sentAt.constEnd()) {
                ++m_r.duplicates;
                return;
            }
            const qint64 now = m_clock.nsecsElapsed();
            m_ackSamples.push_back({*it, float(double(now - *it) / 1e6)});
            a.sentAt.erase(it);
            --a.unacked;
            ++m_r.acks;
            m_lastAckNs = now;
            if (m.value(QStringLiteral("outcome")).toString() != QLatin1StringView("done"))
                ++m_r.notDone;
            while (m_nextMark < m_p.marks.size() && double(m_r.acks) >= m_p.marks[m_nextMark] * double(m_p.images)) {
                if (m_p.onMark)
                    m_p.onMark(m_p.marks[m_nextMark]);
                ++m_nextMark;
            }
            pump(i);
        } else if (type == QLatin1StringView("error") && !m.contains(QStringLiteral("id"))) {
            problem(QStringLiteral("agent %1: %2").arg(i).arg(m.value(QStringLiteral("message")).toString()));
        } else if (type == QLatin1StringView("drain") || type == QLatin1StringView("stop")) {
            problem(QStringLiteral("agent %1 told to %2").arg(i).arg(type));
        }
    }

    void closed(int i, const QString &why)
    {
        if (m_closing || m_stopped)
            return;
        problem(QStringLiteral("agent %1 lost its connection: %2").arg(i).arg(why));
    }

    void problem(const QString &what)
    {
        ++m_r.errors;
        if (m_r.problems.size() < 10)
            m_r.problems.append(what);
        // One broken agent must not hang the run: it counts as done.
        finish(false);
    }

    void finish(bool capped)
    {
        if (m_stopped)
            return;
        m_stopped = true;
        m_cap.stop();
        m_r.capped = capped;
        const qint64 end = capped || m_lastAckNs == 0 ? m_clock.nsecsElapsed() : m_lastAckNs;
        m_r.seconds = m_startNs > 0 ? double(end - m_startNs) / 1e9 : 0;
        m_r.measuredAcks = m_r.acks - m_acksAtStart;
        for (const auto &[sent, ms] : m_leaseSamples)
            if (sent >= m_startNs)
                m_r.leaseMs.push_back(ms);
        for (const auto &[sent, ms] : m_ackSamples)
            if (sent >= m_startNs)
                m_r.ackMs.push_back(ms);
        m_r.clientCpu = threadCpuSeconds() - m_cpu0;
        for (qsizetype k = 0; k < m_p.cpuThreads.size(); ++k)
            m_r.threadCpu.push_back(cpuSeconds(m_p.cpuThreads[k]) - (size_t(k) < m_threadCpu0.size() ? m_threadCpu0[size_t(k)] : 0.0));
        if (m_finished)
            m_finished();
    }

    SwarmParams m_p;
    SwarmResult m_r;
    std::vector<Agent> m_agents;
    std::function<void()> m_finished;
    QElapsedTimer m_clock;
    QTimer m_cap{this};
    QJsonArray m_composition;
    int m_welcomed = 0;
    qint64 m_startNs = 0, m_lastAckNs = 0;
    double m_cpu0 = 0;
    std::vector<double> m_threadCpu0;
    qsizetype m_nextMark = 0;
    bool m_stopped = false, m_closing = false;
    qint64 m_acksAtStart = 0;
    std::vector<std::pair<qint64, float>> m_leaseSamples, m_ackSamples;  // sent at (ns), round trip (ms)
};

// Runs a swarm on a client thread of its own while this thread's event loop serves
// whatever lives here (the CoordinatorServer's sockets, the child's process handle).
SwarmResult runSwarm(SwarmParams params)
{
    QThread thread;
    thread.setObjectName(QStringLiteral("agents"));
    auto swarm = std::make_unique<Swarm>(std::move(params));
    swarm->moveToThread(&thread);
    thread.start();
    QEventLoop loop;
    Swarm *s = swarm.get();
    QMetaObject::invokeMethod(s, [s, &loop] {
        s->start([&loop] { QMetaObject::invokeMethod(&loop, [&loop] { loop.quit(); }, Qt::QueuedConnection); });
    }, Qt::QueuedConnection);
    loop.exec();
    SwarmResult r;
    QMetaObject::invokeMethod(s, [s, &r] {
        r = std::move(s->result());
        s->shutdown();
    }, Qt::BlockingQueuedConnection);
    // Let the byes and closes reach the server before the sockets go.
    QElapsedTimer settle;
    settle.start();
    while (settle.elapsed() < 300)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    QMetaObject::invokeMethod(s, [&swarm] { swarm.reset(); }, Qt::BlockingQueuedConnection);
    thread.quit();
    thread.wait();
    return r;
}

// --- reporting -----------------------------------------------------------------------------

struct Run {
    QString backend, part;
    int agents = 0, batch = 0;
    qint64 images = 0;
    SwarmResult r;
    double coordinatorCpu = 0, socketCpu = 0;  // part 1: the coordinator and socket threads; part 2: the child
    QString loadBefore, loadAfter;
    QList<QPair<double, double>> rssMiB;  // mark -> MiB
    double rssStartMiB = 0, hwmMiB = 0;
    bool ran = false;
    QString skipped;
};

QJsonObject toJson(const Run &run)
{
    const SwarmResult &r = run.r;
    QJsonObject o{{QStringLiteral("backend"), run.backend},
                  {QStringLiteral("part"), run.part},
                  {QStringLiteral("agents"), run.agents},
                  {QStringLiteral("batch"), run.batch},
                  {QStringLiteral("images"), double(run.images)}};
    if (!run.ran) {
        o.insert(QStringLiteral("skipped"), run.skipped);
        return o;
    }
    const double rate = r.seconds > 0 ? double(r.measuredAcks) / r.seconds : 0;
    o.insert(QStringLiteral("acks"), double(r.acks));
    o.insert(QStringLiteral("measured_acks"), double(r.measuredAcks));
    o.insert(QStringLiteral("warmup_seconds"), r.warmupSeconds);
    o.insert(QStringLiteral("seconds"), r.seconds);
    o.insert(QStringLiteral("capped"), r.capped);
    o.insert(QStringLiteral("connect_seconds"), r.connectSeconds);
    o.insert(QStringLiteral("results_per_second"), rate);
    o.insert(QStringLiteral("grants"), double(r.grants));
    o.insert(QStringLiteral("waits"), double(r.waits));
    o.insert(QStringLiteral("lease_ms"), QJsonObject{{QStringLiteral("p50"), percentile(r.leaseMs, 0.5)},
                                                     {QStringLiteral("p99"), percentile(r.leaseMs, 0.99)},
                                                     {QStringLiteral("max"), percentile(r.leaseMs, 1.0)}});
    o.insert(QStringLiteral("ack_ms"), QJsonObject{{QStringLiteral("p50"), percentile(r.ackMs, 0.5)},
                                                   {QStringLiteral("p99"), percentile(r.ackMs, 0.99)},
                                                   {QStringLiteral("max"), percentile(r.ackMs, 1.0)}});
    o.insert(QStringLiteral("cpu_seconds"), QJsonObject{{QStringLiteral("clients"), r.clientCpu},
                                                        {QStringLiteral("coordinator_thread"), run.coordinatorCpu},
                                                        {QStringLiteral("socket_thread"), run.socketCpu}});
    o.insert(QStringLiteral("coordinator_cpu_us_per_result"), r.measuredAcks > 0 ? 1e6 * run.coordinatorCpu / double(r.measuredAcks) : 0.0);
    o.insert(QStringLiteral("load_before"), run.loadBefore);
    o.insert(QStringLiteral("load_after"), run.loadAfter);
    if (!run.rssMiB.isEmpty()) {
        QJsonArray series;
        for (const auto &[mark, mib] : run.rssMiB)
            series.append(QJsonObject{{QStringLiteral("done_fraction"), mark}, {QStringLiteral("rss_mib"), mib}});
        o.insert(QStringLiteral("rss"), series);
        o.insert(QStringLiteral("rss_start_mib"), run.rssStartMiB);
        o.insert(QStringLiteral("rss_hwm_mib"), run.hwmMiB);
        o.insert(QStringLiteral("rss_last_over_first"), run.rssMiB.first().second > 0 ? run.rssMiB.last().second / run.rssMiB.first().second : 0);
    }
    o.insert(QStringLiteral("not_done_outcomes"), double(r.notDone));
    o.insert(QStringLiteral("problems"), QJsonArray::fromStringList(r.problems));
    return o;
}

void printRun(const Run &run)
{
    auto &o = out();
    const SwarmResult &r = run.r;
    const QString head = QStringLiteral("%1 %2").arg(run.backend, -8).arg(run.part, -22);
    if (!run.ran) {
        o << head << " skipped: " << run.skipped << '\n';
        return;
    }
    const double rate = r.seconds > 0 ? double(r.measuredAcks) / r.seconds : 0;
    const auto f = [](double v, int d = 1) { return QString::number(v, 'f', d); };
    o << head << QStringLiteral(" %1 acks; after a %2 s warm-up %3 in %4 s%5: %6 results/s\n")
                     .arg(r.acks)
                     .arg(f(r.warmupSeconds, 1))
                     .arg(r.measuredAcks)
                     .arg(f(r.seconds, 2))
                     .arg(r.capped ? QStringLiteral(" (capped)") : QString())
                     .arg(qint64(rate));
    o << "    lease p50 " << f(percentile(r.leaseMs, 0.5), 2) << " ms, p99 " << f(percentile(r.leaseMs, 0.99), 2) << " ms, max "
      << f(percentile(r.leaseMs, 1.0), 2) << " ms (" << r.grants << " grants, " << r.waits << " waits); result->ack p50 "
      << f(percentile(r.ackMs, 0.5), 2) << " ms, p99 " << f(percentile(r.ackMs, 0.99), 2) << " ms\n";
    const double wall = std::max(1e-9, r.seconds);
    o << "    CPU over the window: clients " << f(r.clientCpu, 2) << " s (" << f(100 * r.clientCpu / wall, 0) << "% of one core), "
      << (run.part.startsWith(QLatin1StringView("rss")) ? "serve process " : "coordinator thread ") << f(run.coordinatorCpu, 2) << " s ("
      << f(100 * run.coordinatorCpu / wall, 0) << "%)";
    if (!run.part.startsWith(QLatin1StringView("rss")))
        o << ", socket thread " << f(run.socketCpu, 2) << " s (" << f(100 * run.socketCpu / wall, 0) << "%)";
    if (r.measuredAcks > 0)
        o << "; coordinator CPU per result " << f(1e6 * run.coordinatorCpu / double(r.measuredAcks), 0) << " us";
    o << "; connect+hello " << f(r.connectSeconds, 2) << " s; load " << run.loadBefore << " -> " << run.loadAfter << '\n';
    if (!run.rssMiB.isEmpty()) {
        o << "    serve RSS: start " << f(run.rssStartMiB) << " MiB";
        for (const auto &[mark, mib] : run.rssMiB)
            o << ", " << qRound(mark * 100) << "% " << f(mib) << " MiB";
        o << "; last/first " << f(run.rssMiB.last().second / std::max(1e-9, run.rssMiB.first().second), 3) << "; peak (VmHWM) "
          << f(run.hwmMiB) << " MiB\n";
    }
    for (const QString &p : r.problems)
        o << "    PROBLEM: " << p << '\n';
    o.flush();
}

struct Options {
    int agents = 256, batch = 8, window = 16, thinkMs = 0;
    double warmup = 2;
    qint64 images = 1'000'000;
    double seconds = 60;
    bool throughput = true, rss = true;
    QString cli;
};

// Part 1: the coordinator in this process.
Run throughput(const QString &backend, const QString &location, const Options &opt)
{
    Run run;
    run.backend = backend;
    run.part = QStringLiteral("throughput");
    run.agents = opt.agents;
    run.batch = opt.batch;
    run.images = opt.images;
    Cluster::CoordinatorOptions co;
    co.database = location;
    co.agentToken = kToken;
    co.waitSeconds = 1;
    Cluster::CoordinatorThread host(co);
    if (auto r = host.start(); !r) {
        run.skipped = QStringLiteral("coordinator: ") + r.error().message;
        return run;
    }
    Cluster::CoordinatorServer server(host);
    if (auto r = server.listen({}); !r) {
        run.skipped = QStringLiteral("listen: ") + r.error().message;
        return run;
    }
    long coordinatorTid = 0;
    host.call([&](Cluster::Coordinator &) { coordinatorTid = threadId(); });
    SwarmParams p;
    p.url = QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.port()));
    p.agents = opt.agents;
    p.batch = opt.batch;
    p.window = opt.window;
    p.images = opt.images;
    p.capSeconds = opt.seconds;
    p.thinkMs = opt.thinkMs;
    p.warmupSeconds = opt.warmup;
    p.cpuThreads = {QStringLiteral("/proc/self/task/%1/stat").arg(coordinatorTid), QStringLiteral("/proc/self/task/%1/stat").arg(threadId())};
    run.loadBefore = loadAverage();
    run.r = runSwarm(p);
    run.loadAfter = loadAverage();
    run.coordinatorCpu = run.r.threadCpu.size() > 0 ? run.r.threadCpu[0] : 0;
    run.socketCpu = run.r.threadCpu.size() > 1 ? run.r.threadCpu[1] : 0;
    run.ran = true;
    return run;
}

// Part 2: `segscale serve` as a child; its RSS at 10/50/90 % of the study.
Run memory(const QString &backend, const QString &location, const QString &dir, const Options &opt)
{
    Run run;
    run.backend = backend;
    run.part = QStringLiteral("rss (segscale serve)");
    run.agents = opt.agents;
    run.batch = opt.batch;
    run.images = opt.images;
    if (opt.cli.isEmpty() || !QFileInfo(opt.cli).isExecutable()) {
        run.skipped = QStringLiteral("no segscale executable (set SEGSCALE_CLI or --cli)");
        return run;
    }
    const QString tokenFile = dir + QStringLiteral("/agent.token");
    QFile tf(tokenFile);
    if (!tf.open(QIODevice::WriteOnly) || tf.write(kToken + '\n') < 0) {
        run.skipped = QStringLiteral("cannot write %1").arg(tokenFile);
        return run;
    }
    tf.close();
    tf.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    const QString logFile = dir + QStringLiteral("/serve-%1.log").arg(backend);
    QProcess serve;
    serve.setStandardOutputFile(logFile);
    serve.setStandardErrorFile(logFile, QIODevice::Append);
    serve.start(opt.cli, {QStringLiteral("serve"), location, QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                          QStringLiteral("--token-file"), tokenFile, QStringLiteral("--out"), dir + QStringLiteral("/outputs")});
    if (!serve.waitForStarted(10'000)) {
        run.skipped = QStringLiteral("segscale serve did not start: ") + serve.errorString();
        return run;
    }
    // serve prints "serving STUDY on ws://127.0.0.1:PORT (lease ...)" once it listens.
    static const QRegularExpression serving(QStringLiteral("serving .* on ws://127\\.0\\.0\\.1:(\\d+) "));
    int port = 0;
    QElapsedTimer t;
    t.start();
    while (port == 0 && t.elapsed() < 30'000 && serve.state() == QProcess::Running) {
        serve.waitForFinished(50);
        QFile log(logFile);
        if (log.open(QIODevice::ReadOnly))
            if (const auto m = serving.match(QString::fromUtf8(log.readAll())); m.hasMatch())
                port = m.captured(1).toInt();
    }
    if (port == 0) {
        QFile log(logFile);
        log.open(QIODevice::ReadOnly);
        run.skipped = QStringLiteral("segscale serve did not listen: ") + QString::fromUtf8(log.readAll().right(600));
        serve.kill();
        serve.waitForFinished(5000);
        return run;
    }
    const qint64 pid = serve.processId();
    run.rssStartMiB = statusMiB(pid, "VmRSS");
    SwarmParams p;
    p.url = QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port));
    p.agents = opt.agents;
    p.batch = opt.batch;
    p.window = opt.window;
    p.images = opt.images;
    p.capSeconds = 0;  // the point is the whole study
    p.thinkMs = opt.thinkMs;
    p.warmupSeconds = opt.warmup;
    p.marks = {0.1, 0.5, 0.9};
    // Called on the client thread; the list is read here only after the swarm ended.
    auto *series = &run.rssMiB;
    p.onMark = [series, pid](double mark) { series->append({mark, statusMiB(pid, "VmRSS")}); };
    p.cpuThreads = {QStringLiteral("/proc/%1/stat").arg(pid)};
    run.loadBefore = loadAverage();
    run.r = runSwarm(p);
    run.loadAfter = loadAverage();
    run.hwmMiB = statusMiB(pid, "VmHWM");
    run.coordinatorCpu = run.r.threadCpu.empty() ? 0 : run.r.threadCpu[0];
    serve.terminate();
    if (!serve.waitForFinished(20'000)) {
        serve.kill();
        serve.waitForFinished(5000);
        run.r.problems.append(QStringLiteral("segscale serve did not stop on SIGTERM within 20 s"));
        ++run.r.errors;
    } else if (serve.exitStatus() != QProcess::NormalExit || serve.exitCode() != 0) {
        run.r.problems.append(QStringLiteral("segscale serve exited with %1").arg(serve.exitCode()));
        ++run.r.errors;
    }
    run.ran = true;
    return run;
}

bool wrong(const Run &run, QString *why)
{
    if (!run.ran)
        return false;
    const SwarmResult &r = run.r;
    if (r.errors || r.notDone || r.duplicates) {
        *why = QStringLiteral("%1 %2: %3 problems, %4 outcomes other than done, %5 unexpected acks")
                   .arg(run.backend, run.part)
                   .arg(r.errors)
                   .arg(r.notDone)
                   .arg(r.duplicates);
        return true;
    }
    if (!r.capped && r.acks != run.images) {
        *why = QStringLiteral("%1 %2: the study ended with %3 of %4 images acknowledged").arg(run.backend, run.part).arg(r.acks).arg(run.images);
        return true;
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("The coordinator under N simulated agents over loopback WebSocket."));
    // CTest makes the defaults small through the environment (tests/bench/cluster.cmake).
    const auto fallback = [](const char *var, const char *value) {
        const QString v = qEnvironmentVariable(var);
        return v.isEmpty() ? QString::fromLatin1(value) : v;
    };
    const QCommandLineOption agentsOpt(QStringLiteral("agents"), QStringLiteral("Simulated agents (default 256; $SEGSCALE_BENCH_AGENTS)."), QStringLiteral("N"),
                                       fallback("SEGSCALE_BENCH_AGENTS", "256"));
    const QCommandLineOption imagesOpt(QStringLiteral("images"), QStringLiteral("Images in each study (default 1000000; $SEGSCALE_BENCH_IMAGES)."),
                                       QStringLiteral("N"), fallback("SEGSCALE_BENCH_IMAGES", "1000000"));
    const QCommandLineOption batchOpt(QStringLiteral("batch"), QStringLiteral("Images per lease (default 8)."), QStringLiteral("N"), QStringLiteral("8"));
    const QCommandLineOption windowOpt(QStringLiteral("window"), QStringLiteral("Results an agent may have in flight (default 2 x batch)."), QStringLiteral("N"));
    const QCommandLineOption backendOpt(QStringLiteral("backend"), QStringLiteral("sqlite, postgres or both (default)."), QStringLiteral("B"), QStringLiteral("both"));
    const QCommandLineOption secondsOpt(QStringLiteral("seconds"), QStringLiteral("Cap on the throughput part (default 60; 0: to the end; $SEGSCALE_BENCH_SECONDS)."),
                                        QStringLiteral("S"), fallback("SEGSCALE_BENCH_SECONDS", "60"));
    const QCommandLineOption partsOpt(QStringLiteral("parts"), QStringLiteral("throughput, rss or both (default throughput,rss)."), QStringLiteral("P"), QStringLiteral("throughput,rss"));
    const QCommandLineOption thinkOpt(QStringLiteral("think-ms"),
                                      QStringLiteral("An agent sends a grant's results this many ms after it, as if segmenting (default 0: at once, "
                                                     "which saturates the coordinator; > 0 measures latency at a load it can carry)."),
                                      QStringLiteral("MS"), QStringLiteral("0"));
    const QCommandLineOption warmupOpt(QStringLiteral("warmup"),
                                       QStringLiteral("Seconds after the agents' first lease that rates and latencies leave out (default 2)."),
                                       QStringLiteral("S"), QStringLiteral("2"));
    const QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Write every number here."), QStringLiteral("FILE"));
    const QCommandLineOption cliOpt(QStringLiteral("cli"), QStringLiteral("The segscale executable for the rss part (default $SEGSCALE_CLI)."), QStringLiteral("PATH"));
    const QCommandLineOption dirOpt(QStringLiteral("dir"), QStringLiteral("Folder for the SQLite studies (default: a temp dir)."), QStringLiteral("DIR"));
    parser.addOptions({agentsOpt, imagesOpt, batchOpt, windowOpt, thinkOpt, warmupOpt, backendOpt, secondsOpt, partsOpt, jsonOpt, cliOpt, dirOpt});
    parser.addHelpOption();
    parser.process(app);

    Options opt;
    opt.agents = parser.value(agentsOpt).toInt();
    opt.images = parser.value(imagesOpt).toLongLong();
    opt.batch = parser.value(batchOpt).toInt();
    opt.window = parser.isSet(windowOpt) ? parser.value(windowOpt).toInt() : 2 * opt.batch;
    opt.seconds = parser.value(secondsOpt).toDouble();
    opt.thinkMs = parser.value(thinkOpt).toInt();
    opt.warmup = parser.value(warmupOpt).toDouble();
    const QStringList parts = parser.value(partsOpt).split(QLatin1Char(','));
    opt.throughput = parts.contains(QStringLiteral("throughput"));
    opt.rss = parts.contains(QStringLiteral("rss"));
    opt.cli = parser.isSet(cliOpt) ? parser.value(cliOpt) : qEnvironmentVariable("SEGSCALE_CLI");
    const QString backend = parser.value(backendOpt);
    if (opt.agents < 1 || opt.images < 1 || opt.batch < 1 || opt.batch > Cluster::Protocol::kMaxLeaseBatch || opt.window < opt.batch ||
        opt.seconds < 0 || opt.thinkMs < 0 || opt.warmup < 0 || (!opt.throughput && !opt.rss) ||
        !QStringList{QStringLiteral("sqlite"), QStringLiteral("postgres"), QStringLiteral("both")}.contains(backend)) {
        err() << "bench_coordinator: bad options (see --help)\n";
        return 2;
    }
    // Each agent holds one socket here and one in the server (part 1).
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }

    QTemporaryDir tmp(parser.isSet(dirOpt) ? parser.value(dirOpt) + QStringLiteral("/bench-XXXXXX") : QString());
    if (!tmp.isValid()) {
        err() << "bench_coordinator: no temp dir\n";
        return 1;
    }
    out() << "bench_coordinator: " << opt.agents << " agents, lease batch " << opt.batch << ", window " << opt.window << ", "
          << opt.images << " images per study, think " << opt.thinkMs << " ms, throughput cap " << opt.seconds << " s; " << QThread::idealThreadCount()
          << " CPUs; load " << loadAverage() << '\n';
    out().flush();

    std::vector<Run> runs;
    std::unique_ptr<PostgresFixture> pg;
    QStringList backends;
    if (backend != QLatin1StringView("postgres"))
        backends << QStringLiteral("sqlite");
    if (backend != QLatin1StringView("sqlite"))
        backends << QStringLiteral("postgres");
    int studies = 0;
    for (const QString &b : std::as_const(backends)) {
        // A fresh study for each part: the second must not start from a finished one.
        auto newStudy = [&]() -> std::optional<QString> {
            QString location;
            if (b == QLatin1StringView("sqlite")) {
                location = tmp.filePath(QStringLiteral("study%1.db").arg(++studies));
            } else {
                location = pg->createDatabase();
                if (location.isEmpty()) {
                    err() << "bench_coordinator: CREATE DATABASE failed\n";
                    return std::nullopt;
                }
            }
            QElapsedTimer t;
            t.start();
            if (auto r = createStudy(location, opt.images); !r) {
                err() << "bench_coordinator: creating the study failed: " << r.error().message << '\n';
                return std::nullopt;
            }
            out() << b << ": study of " << opt.images << " images created in " << QString::number(double(t.elapsed()) / 1000, 'f', 1) << " s\n";
            out().flush();
            return location;
        };
        if (b == QLatin1StringView("postgres")) {
            if (const QString why = PostgresFixture::unavailableReason(); !why.isEmpty()) {
                Run skipped;
                skipped.backend = b;
                skipped.part = QStringLiteral("all");
                skipped.skipped = QStringLiteral("PostgreSQL: ") + why;
                printRun(skipped);
                runs.push_back(skipped);
                continue;
            }
            pg = std::make_unique<PostgresFixture>();
            if (!pg->start()) {
                err() << "bench_coordinator: the PostgreSQL fixture did not start: " << pg->errorString() << '\n';
                return 1;
            }
        }
        if (opt.throughput) {
            const auto location = newStudy();
            if (!location)
                return 1;
            runs.push_back(throughput(b, *location, opt));
            printRun(runs.back());
        }
        if (opt.rss) {
            const auto location = newStudy();
            if (!location)
                return 1;
            runs.push_back(memory(b, *location, tmp.path(), opt));
            printRun(runs.back());
        }
    }

    // Ratios and targets.
    auto &o = out();
    auto find = [&](const QString &b, const QString &partPrefix) -> const Run * {
        for (const Run &r : runs)
            if (r.ran && r.backend == b && r.part.startsWith(partPrefix))
                return &r;
        return nullptr;
    };
    auto rate = [](const Run *r) { return r && r->r.seconds > 0 ? double(r->r.measuredAcks) / r->r.seconds : 0.0; };
    QJsonObject summary;
    o << "\n" << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8")
                     .arg(QStringLiteral("backend"), -9)
                     .arg(QStringLiteral("part"), -22)
                     .arg(QStringLiteral("results/s"), 10)
                     .arg(QStringLiteral("lease p50"), 10)
                     .arg(QStringLiteral("lease p99"), 10)
                     .arg(QStringLiteral("ack p50"), 9)
                     .arg(QStringLiteral("ack p99"), 9)
                     .arg(QStringLiteral("client CPU"), 11)
      << '\n';
    for (const Run &r : runs) {
        if (!r.ran)
            continue;
        o << QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8")
                 .arg(r.backend, -9)
                 .arg(r.part, -22)
                 .arg(qint64(rate(&r)), 10)
                 .arg(QString::number(percentile(r.r.leaseMs, 0.5), 'f', 2) + QStringLiteral(" ms"), 10)
                 .arg(QString::number(percentile(r.r.leaseMs, 0.99), 'f', 2) + QStringLiteral(" ms"), 10)
                 .arg(QString::number(percentile(r.r.ackMs, 0.5), 'f', 1) + QStringLiteral(" ms"), 9)
                 .arg(QString::number(percentile(r.r.ackMs, 0.99), 'f', 1) + QStringLiteral(" ms"), 9)
                 .arg(QString::number(100 * r.r.clientCpu / std::max(1e-9, r.r.seconds), 'f', 0) + QStringLiteral("%"), 11)
          << '\n';
    }
    if (const Run *s = find(QStringLiteral("sqlite"), QStringLiteral("throughput"))) {
        const double rs = rate(s), p99 = percentile(s->r.leaseMs, 0.99);
        if (opt.thinkMs == 0)
            o << "target results/s >= 5000 (SQLite, " << opt.agents << " agents): " << (rs >= 5000 ? "MET" : "MISSED") << " (" << qint64(rs) << ")\n";
        else
            o << "target results/s >= 5000: not measured here (--think-ms limits the offered load; " << qint64(rs) << " results/s)\n";
        o << "target lease p99 < 20 ms (SQLite): " << (p99 < 20 ? "MET" : "MISSED") << " (" << QString::number(p99, 'f', 2) << " ms)\n";
        if (opt.thinkMs == 0)
            summary.insert(QStringLiteral("target_rate_met"), rs >= 5000);
        summary.insert(QStringLiteral("target_lease_p99_met"), p99 < 20);
    }
    for (const QString &part : {QStringLiteral("throughput"), QStringLiteral("rss")}) {
        const Run *s = find(QStringLiteral("sqlite"), part), *p = find(QStringLiteral("postgres"), part);
        if (s && p && rate(s) > 0) {
            o << "PostgreSQL / SQLite results/s (" << part << "): " << QString::number(rate(p) / rate(s), 'f', 2) << '\n';
            summary.insert(QStringLiteral("postgres_over_sqlite_rate_") + part, rate(p) / rate(s));
        }
    }
    o << "load average at the end: " << loadAverage() << '\n';
    o.flush();

    if (parser.isSet(jsonOpt)) {
        QJsonArray list;
        for (const Run &r : runs)
            list.append(toJson(r));
        QJsonObject doc{{QStringLiteral("agents"), opt.agents},
                        {QStringLiteral("images"), double(opt.images)},
                        {QStringLiteral("batch"), opt.batch},
                        {QStringLiteral("window"), opt.window},
                        {QStringLiteral("think_ms"), opt.thinkMs},
                        {QStringLiteral("warmup_seconds"), opt.warmup},
                        {QStringLiteral("cap_seconds"), opt.seconds},
                        {QStringLiteral("cpus"), QThread::idealThreadCount()},
                        {QStringLiteral("runs"), list},
                        {QStringLiteral("summary"), summary}};
        QFile f(parser.value(jsonOpt));
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(doc).toJson()) < 0) {
            err() << "bench_coordinator: cannot write " << parser.value(jsonOpt) << '\n';
            return 1;
        }
    }
    int code = 0;
    for (const Run &r : runs) {
        QString why;
        if (wrong(r, &why)) {
            err() << "bench_coordinator: FAILED: " << why << '\n';
            code = 1;
        }
    }
    return code;
}
