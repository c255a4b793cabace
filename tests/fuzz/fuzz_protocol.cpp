// Fuzz target for the coordinator's protocol: Protocol::parse for all three roles, and
// then a real Coordinator (a SQLite study in a temp dir, a model file) that receives the
// same frame through connectPeer + receive() from a fake peer, so the dispatch code
// behind the checks — hello, leases, results, failures, release, model chunks, admin
// pages, retry, drain, stop, subscribe — is fuzzed too, not only the parser.
//
// Default build: a bounded mutation loop (no coverage feedback) that CTest runs for
// SEGSCALE_FUZZ_SECONDS (label "fuzz"). Seeds are valid messages of every type, built
// afresh each time from what the coordinator granted (real image ids and lease ids), so
// many mutants still reach the database. Mutations: structured (fields removed, values
// of the wrong type, huge numbers, NaN-like text, long strings, deep nesting, another
// type's name) and on the bytes (flips, truncation, splicing two seeds, duplicate keys,
// nesting runs, now and then a frame over the size limit). Fails on a crash (the input
// is saved as fuzz-crash.bin), on an input slower than SEGSCALE_FUZZ_SLOW_SECONDS
// (default 5; saved as fuzz-slow.bin, a hang is cut by an alarm), and on a broken rule:
// a refusal that is not one printable line, a refused frame that does not close its
// session, a message sent on a closed connection. Prints the seed:
// `fuzz_protocol --seed S --iterations N` replays a run.
//
// With -DSEGSCALE_LIBFUZZER (clang, -fsanitize=fuzzer,address, against segscale_cluster)
// the same file is a libFuzzer target: LLVMFuzzerTestOneInput takes the first byte as
// the session to feed (none, agent, admin) and the rest as the frame.

#include "common/fuzzoptions.h"
#include "cluster/coordinator.h"
#include "cluster/protocol.h"
#include "jobs/jobstore.h"

#include "common/clusterfixtures.h"
#include "common/printablecheck.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <random>
#include <unistd.h>

using namespace SegScale;
using namespace SegScale::Cluster;
using SegScale::Tests::FakePeer;
using Role = Protocol::Role;

namespace {

QString str(const char *s)
{
    return QString::fromLatin1(s);
}

// Saved for a crash or a hang: the input being handled, written from the signal handler.
const QByteArray *g_current = nullptr;
int g_crashFile = -1;
int g_slowFile = -1;

void saveCurrent(int fd)
{
    if (g_current && fd >= 0) {
        const ssize_t written = ::write(fd, g_current->constData(), static_cast<std::size_t>(g_current->size()));
        (void)written;
    }
}

extern "C" void onCrash(int signal)
{
    saveCurrent(g_crashFile);
    static const char message[] = "fuzz_protocol: CRASH; the input is in fuzz-crash.bin\n";
    const ssize_t said = ::write(2, message, sizeof message - 1);
    (void)said;
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

extern "C" void onHang(int)
{
    saveCurrent(g_slowFile);
    static const char message[] = "fuzz_protocol: HANG; one input ran past the alarm; it is in fuzz-slow.bin\n";
    const ssize_t said = ::write(2, message, sizeof message - 1);
    (void)said;
    ::_exit(1);
}

struct Counts {
    quint64 inputs = 0;
    quint64 parsedOk[3] = {0, 0, 0};  // Protocol::parse accepted it as none / agent / admin
    quint64 fed[3] = {0, 0, 0};       // fed to a session of that role
    quint64 fedAccepted[3] = {0, 0, 0};
    quint64 grants = 0, acks = 0, errorsSent = 0;
};

// One coordinator, a few sessions kept open across inputs, and the rules every input
// must leave intact.
class Harness {
public:
    bool setUp(QString *error)
    {
        if (!m_dir.isValid()) {
            *error = str("no temp dir");
            return false;
        }
        m_database = Tests::createClusterStudy(m_dir.path(), 200, 100000, error);
        if (m_database.isEmpty())
            return false;
        CoordinatorOptions o;
        o.database = m_database;
        o.agentToken = "agent-token";
        o.adminToken = "admin-token";
        o.flushMs = 1000000;  // flushed by maintain(), so results reach the database in batches
        o.sweepMs = 1000;
        m_coordinator = std::make_unique<Coordinator>(o);
        if (auto opened = m_coordinator->open(); !opened) {
            *error = opened.error().toString();
            return false;
        }
        auto side = Jobs::JobStore::open(m_database);
        if (!side) {
            *error = side.error().toString();
            return false;
        }
        m_side = std::move(side).value();
        return true;
    }

    // The valid messages of every type that mutations start from, with real image and
    // lease ids where there are some.
    QList<std::pair<QJsonObject, Role>> seeds(std::mt19937_64 &random)
    {
        QJsonValue image = 1, lease = str("4611686018427387905");
        if (!m_held.isEmpty()) {
            const auto &[i, l] = m_held[static_cast<qsizetype>(random() % static_cast<quint64>(m_held.size()))];
            image = static_cast<double>(i);
            lease = Protocol::leaseIdValue(l);
        }
        const auto o = [](std::initializer_list<std::pair<QString, QJsonValue>> fields) {
            QJsonObject m;
            for (const auto &[k, v] : fields)
                m.insert(k, v);
            return m;
        };
        return {
            {o({{str("type"), str("hello")}, {str("protocol"), 1}, {str("role"), str("agent")}, {str("name"), str("seed-agent")},
                {str("token"), str("agent-token")}, {str("host"), str("h")}, {str("device"), str("cpu")}, {str("threads"), 4},
                {str("version"), str("1.0")}, {str("precision"), str("fp32")}, {str("fresh"), true},
                {str("capabilities"), QJsonArray{str("sftp")}}}),
             Role::None},
            {o({{str("type"), str("hello")}, {str("protocol"), 1}, {str("role"), str("admin")}, {str("token"), str("admin-token")}, {str("id"), 1}}),
             Role::None},
            {o({{str("type"), str("lease")}, {str("n"), 4}, {str("id"), 2}}), Role::Agent},
            {o({{str("type"), str("heartbeat")}, {str("leases"), QJsonArray{lease}}, {str("stats"), QJsonObject{{str("ips"), 2.5}, {str("gpu"), str("x")}}}}),
             Role::Agent},
            {o({{str("type"), str("result")}, {str("image"), image}, {str("lease"), lease}, {str("width"), 64}, {str("height"), 48},
                {str("composition"), QJsonArray{0.25, 0.75}}, {str("label"), str("/out/a.png")}, {str("overlay"), str("/out/a.jpg")},
                {str("fingerprint"), str("abcd")}, {str("timings"), QJsonObject{{str("infer"), 12.5}}}}),
             Role::Agent},
            {o({{str("type"), str("failure")}, {str("image"), image}, {str("lease"), lease}, {str("category"), str("storage")},
                {str("message"), str("connection reset")}}),
             Role::Agent},
            {o({{str("type"), str("release")}, {str("images"), QJsonArray{image}}}), Role::Agent},
            {o({{str("type"), str("model-chunk")}, {str("offset"), 65536}}), Role::Agent},
            {o({{str("type"), str("bye")}, {str("release"), QJsonArray{image}}}), Role::Agent},
            {o({{str("type"), str("summary")}, {str("id"), 3}}), Role::Admin},
            {o({{str("type"), str("workers")}}), Role::Admin},
            {o({{str("type"), str("results")}, {str("after"), 3}, {str("limit"), 5}}), Role::Admin},
            {o({{str("type"), str("errors")}, {str("after"), 0}, {str("limit"), 5}, {str("category"), str("corrupt")}}), Role::Admin},
            {o({{str("type"), str("retry")}, {str("category"), str("storage")}}), Role::Admin},
            {o({{str("type"), str("drain")}, {str("worker"), str("fuzz-agent")}}), Role::Admin},
            {o({{str("type"), str("stop")}, {str("worker"), str("fuzz-agent")}}), Role::Admin},
            {o({{str("type"), str("subscribe")}, {str("interval"), 100}}), Role::Admin},
        };
    }

    // Parses the frame as every role, then feeds it to a session of `target`. An empty
    // string when every rule held, else what broke.
    QString run(const QByteArray &frame, Role target)
    {
        const int t = static_cast<int>(target);
        ++m_counts.inputs;
        bool acceptedAsTarget = false;
        for (const Role role : {Role::None, Role::Agent, Role::Admin}) {
            const auto parsed = Protocol::parse(frame, role);
            if (parsed) {
                ++m_counts.parsedOk[static_cast<int>(role)];
            } else {
                const Error &e = parsed.error();
                if (e.category != ErrorCategory::Usage && e.category != ErrorCategory::TooLarge)
                    return str("parse refused with category ") + categoryName(e.category);
                if (e.message.isEmpty() || !Tests::printable(e.message))
                    return str("a refusal that is not one printable line: ") + QString::fromLatin1(e.message.toUtf8().toPercentEncoding());
            }
            if (role == target)
                acceptedAsTarget = parsed.ok();
        }

        Client *client = nullptr;
        Client once;
        if (target == Role::None) {
            once = connect((m_counts.inputs & 1) != 0);
            client = &once;
        } else {
            client = target == Role::Agent ? &m_agent : &m_admin;
            if (!client->peer || client->peer->closed || client->lost)
                if (QString e = hello(*client, target); !e.isEmpty())
                    return e;
        }
        ++m_counts.fed[t];
        m_counts.fedAccepted[t] += acceptedAsTarget;
        // What the session heard since the last input (a drain pushed by an admin message).
        if (QString e = check(*client); !e.isEmpty())
            return e;
        m_coordinator->receive(client->session, frame);
        // Commit often, so that acknowledgements reach sessions that a later bad frame
        // would close before the next maintain().
        if (acceptedAsTarget && target == Role::Agent && !m_coordinator->flush())
            return str("flush failed");
        if (!acceptedAsTarget) {
            // A bad frame closes its session with an error saying why, and nothing else.
            const auto got = client->peer->messages;
            if (!client->peer->closed || got.size() != 1 || got.first().value(str("type")).toString() != str("error"))
                return str("a refused frame did not close its session with one error");
        }
        if (QString e = check(*client); !e.isEmpty())
            return e;
        if (target == Role::None && !once.peer->closed)
            m_coordinator->disconnectPeer(once.session);
        return {};
    }

    // Between inputs: commit what is queued, let the timers run (ticks, subscriptions,
    // sweeps, the flush timer) and keep the study from running dry.
    QString maintain()
    {
        if (!m_coordinator->flush())
            return str("flush failed");
        QCoreApplication::processEvents();
        for (Client *c : {&m_agent, &m_admin})
            if (c->peer)
                if (QString e = check(*c); !e.isEmpty())
                    return e;
        auto pending = m_side->imageCount(Jobs::ImageState::Pending);
        if (pending && *pending < 16) {
            if (auto reset = m_side->resetToPending(); !reset)
                return str("reset failed: ") + reset.error().message;
            m_held.clear();
        }
        return {};
    }

    const Counts &counts() const { return m_counts; }

private:
    struct Client {
        std::shared_ptr<FakePeer> peer;
        quint64 session = 0;
        bool lost = false;  // told to drain or stop: a fresh session is needed
    };

    Client connect(bool trusted)
    {
        Client c{std::make_shared<FakePeer>(), 0, false};
        c.session = m_coordinator->connectPeer(c.peer, trusted);
        return c;
    }

    QString hello(Client &c, Role role)
    {
        c = connect(true);
        QJsonObject m{{str("type"), str("hello")}, {str("protocol"), 1}, {str("role"), Protocol::roleName(role)}};
        if (role == Role::Agent)
            m.insert(str("name"), str("fuzz-agent"));
        m_coordinator->receive(c.session, Protocol::serialize(m));
        if (c.peer->lastType() != str("welcome"))
            return str("the harness's own hello was refused");
        return check(c);
    }

    // What the coordinator sent: well formed, nothing after close, errors printable;
    // grants remembered so that seeds carry real leases.
    QString check(Client &c)
    {
        FakePeer &p = *c.peer;
        if (p.sentAfterClose > 0)
            return str("a message was sent on a closed connection");
        if (p.closeCount > 1)
            return str("a connection was closed twice");
        for (const QJsonObject &m : p.messages) {
            const QString type = m.value(str("type")).toString();
            if (type.isEmpty())
                return str("a message without a type was sent");
            if (type == str("error")) {
                ++m_counts.errorsSent;
                if (!Tests::printable(m.value(str("message")).toString()))
                    return str("an error message that is not one printable line");
            } else if (type == str("grant")) {
                ++m_counts.grants;
                for (const QJsonValue &v : m.value(str("images")).toArray()) {
                    const qint64 lease = Protocol::leaseId(v.toObject().value(str("lease")));
                    if (lease <= 0)
                        return str("a grant without a lease id string");
                    m_held.append({v.toObject().value(str("image")).toInteger(), lease});
                }
                if (m_held.size() > 64)
                    m_held.remove(0, m_held.size() - 64);
            } else if (type == str("ack")) {
                ++m_counts.acks;
            } else if (type == str("drain") || type == str("stop")) {
                c.lost = true;
            }
        }
        p.take();
        return {};
    }

    QTemporaryDir m_dir;
    QString m_database;
    std::unique_ptr<Coordinator> m_coordinator;
    std::unique_ptr<Jobs::JobStore> m_side;  // the same study, to refill it
    Client m_agent, m_admin;
    QList<std::pair<qint64, qint64>> m_held;  // image, lease from grants
    Counts m_counts;
};

} // namespace

#ifdef SEGSCALE_LIBFUZZER

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static int argc = 1;
    static char name[] = "fuzz_protocol";
    static char *argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);
    // Never destroyed: at exit QtSql's connection registry may already be gone.
    static Harness &harness = *new Harness;
    static const bool ready = [] {
        QString error;
        if (!harness.setUp(&error)) {
            std::fprintf(stderr, "fuzz_protocol: %s\n", qPrintable(error));
            std::abort();
        }
        return true;
    }();
    (void)ready;
    if (size == 0)
        return 0;
    const Role role = static_cast<Role>(data[0] % 3);
    const QByteArray frame = QByteArray::fromRawData(reinterpret_cast<const char *>(data + 1), static_cast<qsizetype>(size - 1));
    QString problem = harness.run(frame, role);
    if (problem.isEmpty() && harness.counts().inputs % 256 == 0)
        problem = harness.maintain();
    if (!problem.isEmpty()) {
        std::fprintf(stderr, "fuzz_protocol: %s\n", qPrintable(problem));
        std::abort();
    }
    return 0;
}

#else

namespace {

const char *const kTypes[] = {"hello", "lease", "heartbeat", "result", "failure", "release", "model-chunk", "bye", "summary",
                              "workers", "results", "errors", "retry", "drain", "stop", "subscribe", "welcome", "grant", ""};
const char *const kTokens[] = {"NaN", "-NaN", "Infinity", "-Infinity", "nan", "1e999", "-1e999", "9007199254740993",
                               "18446744073709551616", "-0", "0.0000001", "1e-400", "\"\\u0000\"", "\"\\ud800\"", "null", "true",
                               "{}", "[]", ",", ":", "\"", "}", "]", "{", "["};

class Mutator {
public:
    explicit Mutator(std::uint64_t seed) : m_random(seed) {}

    std::mt19937_64 &random() { return m_random; }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(m_random); }
    bool chance(int oneIn) { return below(static_cast<std::size_t>(oneIn)) == 0; }

    QJsonValue weird()
    {
        switch (below(22)) {
        case 0: return QJsonValue::Null;
        case 1: return true;
        case 2: return 0;
        case 3: return -1;
        case 4: return 1.5;
        case 5: return 1e300;
        case 6: return -1e300;
        case 7: return 9007199254740993.0;
        case 8: return 1024;
        case 9: return 1025;
        case 10: return QString();
        case 11: return str("NaN");
        case 12: return str("9999999999999999999");
        case 13: return str("0");
        case 14: return QString(static_cast<qsizetype>(1 + below(9000)), QLatin1Char('x'));
        case 15: return str("a\nb\x01\x1b[31m\x7f");
        case 16: return QJsonArray{1, str("2"), QJsonValue::Null};
        case 17: return QJsonArray{str("4611686018427387905")};
        case 18: return QJsonObject{{str("a"), QJsonObject{{str("b"), 1}}}};
        case 19: {
            QJsonArray deep{1};
            for (std::size_t i = below(300); i > 0; --i)
                deep = QJsonArray{deep};
            return deep;
        }
        case 20: {
            QJsonArray many;
            for (std::size_t i = below(5000); i > 0; --i)
                many.append(static_cast<double>(below(300)));
            return many;
        }
        default: return static_cast<double>(below(1000));
        }
    }

    QJsonObject mutate(QJsonObject m)
    {
        for (std::size_t r = 1 + below(3); r > 0; --r) {
            const QStringList keys = m.keys();
            const QString key = keys.isEmpty() ? str("type") : keys[static_cast<qsizetype>(below(static_cast<std::size_t>(keys.size())))];
            switch (below(6)) {
            case 0: m.remove(key); break;
            case 1:
            case 2: m.insert(key, weird()); break;
            case 3: m.insert(str("type"), str(kTypes[below(std::size(kTypes))])); break;
            case 4: m.insert(chance(2) ? str("id") : str("extra"), weird()); break;
            default:
                if (m.value(key).isArray()) {
                    QJsonArray a = m.value(key).toArray();
                    a.append(weird());
                    m.insert(key, a);
                }
                break;
            }
        }
        return m;
    }

    QByteArray mutate(QByteArray b, const QByteArray &other)
    {
        for (std::size_t r = 1 + below(4); r > 0; --r) {
            const auto size = static_cast<std::size_t>(b.size());
            const auto at = static_cast<qsizetype>(below(size + 1));
            switch (below(10)) {
            case 0:  // flip a bit
                if (size)
                    b[at % b.size()] = static_cast<char>(b[at % b.size()] ^ (1 << below(8)));
                break;
            case 1:  // a random byte
                if (size)
                    b[at % b.size()] = static_cast<char>(below(256));
                break;
            case 2:  // truncated
                b.truncate(at);
                break;
            case 3:  // a range removed
                if (size)
                    b.remove(at % b.size(), static_cast<qsizetype>(1 + below(16)));
                break;
            case 4:  // spliced: the start of this one, the end of another
                b = b.left(at) + other.mid(static_cast<qsizetype>(below(static_cast<std::size_t>(other.size()) + 1)));
                break;
            case 5:  // a token that JSON does not have, or that breaks structure
                b.insert(at, kTokens[below(std::size(kTokens))]);
                break;
            case 6:  // a duplicate key right after the opening brace
                if (b.startsWith('{')) {
                    const char *const keys[] = {"type", "n", "lease", "image", "role", "protocol", "leases", "id"};
                    b.insert(1, QByteArray("\"") + keys[below(std::size(keys))] + "\":" + QJsonDocument(QJsonArray{weird()}).toJson(QJsonDocument::Compact).mid(1).chopped(1) + ',');
                }
                break;
            case 7:  // deep nesting
                b.insert(at, QByteArray(static_cast<qsizetype>(1 + below(3000)), chance(2) ? '[' : '{'));
                break;
            case 8:  // a range repeated
                if (size) {
                    const qsizetype from = at % b.size();
                    const QByteArray piece = b.mid(from, static_cast<qsizetype>(1 + below(8)));
                    b.insert(from, piece.repeated(static_cast<qsizetype>(1 + below(chance(2) ? 20 : 2000))));
                }
                break;
            default:  // a range copied elsewhere
                if (size)
                    b.insert(at, b.mid(static_cast<qsizetype>(below(size)), static_cast<qsizetype>(1 + below(64))));
                break;
            }
        }
        return b;
    }

private:
    std::mt19937_64 m_random;
};

} // namespace

int main(int argc, char **argv)
{
    const SegScale::Testing::FuzzOptions options = SegScale::Testing::parseFuzzOptions(argc, argv, 5);
    const double seconds = options.seconds;
    const double slowSeconds = options.slowSeconds;
    const std::uint64_t seed = options.seed;
    const std::uint64_t maxIterations = options.maxIterations;
    QCoreApplication app(argc, argv);
    g_crashFile = ::open("fuzz-crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    g_slowFile = ::open("fuzz-slow.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::signal(SIGSEGV, onCrash);
    std::signal(SIGABRT, onCrash);
    std::signal(SIGBUS, onCrash);
    std::signal(SIGFPE, onCrash);
    std::signal(SIGALRM, onHang);

    Harness harness;
    QString error;
    if (!harness.setUp(&error)) {
        std::fprintf(stderr, "fuzz_protocol: cannot set up the study: %s\n", qPrintable(error));
        return 1;
    }
    Mutator mutator(seed);
    // The seeds must be accepted, or the loop fuzzes nothing but the first refusal.
    for (const auto &[m, role] : harness.seeds(mutator.random())) {
        if (auto parsed = Protocol::parse(Protocol::serialize(m), role); !parsed) {
            std::fprintf(stderr, "fuzz_protocol: a seed is refused: %s\n", qPrintable(parsed.error().message));
            return 1;
        }
    }

    std::printf("fuzz_protocol: seed %llu, %.0f s\n", static_cast<unsigned long long>(seed), seconds);
    std::fflush(stdout);
    QElapsedTimer total;
    total.start();
    double slowest = 0;
    const unsigned alarmSeconds = static_cast<unsigned>(slowSeconds) + 2;
    const std::int64_t budgetMs = static_cast<std::int64_t>(seconds * 1000);
    std::uint64_t iterations = 0;
    const auto fail = [](const QString &problem, const QByteArray &input) {
        QFile out(QStringLiteral("fuzz-failed.bin"));
        if (out.open(QIODevice::WriteOnly))
            out.write(input);
        std::fprintf(stderr, "fuzz_protocol: %s; the input is in fuzz-failed.bin\n", qPrintable(problem));
        return 1;
    };
    while (total.elapsed() < budgetMs && iterations < maxIterations) {
        const auto seeds = harness.seeds(mutator.random());
        const auto &[seedMessage, seedRole] = seeds[static_cast<qsizetype>(mutator.below(static_cast<std::size_t>(seeds.size())))];
        const QByteArray other = Protocol::serialize(seeds[static_cast<qsizetype>(mutator.below(static_cast<std::size_t>(seeds.size())))].first);
        QByteArray input;
        switch (mutator.below(10)) {
        case 0: input = Protocol::serialize(seedMessage); break;  // as is: keeps the study moving
        case 1:
        case 2:
        case 3:
        case 4: input = Protocol::serialize(mutator.mutate(seedMessage)); break;
        case 5:
        case 6:
        case 7: input = mutator.mutate(Protocol::serialize(mutator.mutate(seedMessage)), other); break;
        default: input = mutator.mutate(Protocol::serialize(seedMessage), other); break;
        }
        if (mutator.chance(5000))  // over the size limit
            input += QByteArray(Protocol::kMaxMessageBytes + 1 - input.size() + static_cast<qsizetype>(mutator.below(16)), ' ');
        const Role role = mutator.chance(5) ? static_cast<Role>(mutator.below(3)) : seedRole;

        g_current = &input;
        ::alarm(alarmSeconds);
        QElapsedTimer one;
        one.start();
        const QString problem = harness.run(input, role);
        const double took = static_cast<double>(one.nsecsElapsed()) / 1e9;
        if (!problem.isEmpty())
            return fail(problem, input);
        slowest = std::max(slowest, took);
        if (took > slowSeconds) {
            QFile out(QStringLiteral("fuzz-slow.bin"));
            if (out.open(QIODevice::WriteOnly))
                out.write(input);
            std::fprintf(stderr, "fuzz_protocol: one input took %.1f s (limit %.0f s); saved as fuzz-slow.bin\n", took, slowSeconds);
            return 1;
        }
        ++iterations;
        if (iterations % 256 == 0) {
            if (const QString e = harness.maintain(); !e.isEmpty())
                return fail(e, input);
        }
        ::alarm(0);
        g_current = nullptr;
    }
    const Counts &c = harness.counts();
    const double elapsed = static_cast<double>(total.elapsed()) / 1000.0;
    const quint64 fed = c.fed[0] + c.fed[1] + c.fed[2];
    const quint64 accepted = c.fedAccepted[0] + c.fedAccepted[1] + c.fedAccepted[2];
    std::printf("fuzz_protocol: %llu inputs in %.1f s (%.0f/s); fed to a session: %llu accepted, %llu refused "
                "(before hello %llu/%llu, agent %llu/%llu, admin %llu/%llu accepted); parse accepted as none/agent/admin: "
                "%llu/%llu/%llu; the coordinator sent %llu grants, %llu acks, %llu errors; slowest %.3f s; no crash\n",
                static_cast<unsigned long long>(iterations), elapsed, static_cast<double>(iterations) / std::max(elapsed, 0.001),
                static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(fed - accepted),
                static_cast<unsigned long long>(c.fedAccepted[0]), static_cast<unsigned long long>(c.fed[0]),
                static_cast<unsigned long long>(c.fedAccepted[1]), static_cast<unsigned long long>(c.fed[1]),
                static_cast<unsigned long long>(c.fedAccepted[2]), static_cast<unsigned long long>(c.fed[2]),
                static_cast<unsigned long long>(c.parsedOk[0]), static_cast<unsigned long long>(c.parsedOk[1]),
                static_cast<unsigned long long>(c.parsedOk[2]), static_cast<unsigned long long>(c.grants),
                static_cast<unsigned long long>(c.acks), static_cast<unsigned long long>(c.errorsSent), slowest);
    ::close(g_crashFile);
    ::close(g_slowFile);
    ::unlink("fuzz-crash.bin");
    ::unlink("fuzz-slow.bin");
    return 0;
}

#endif
