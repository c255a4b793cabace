// Coordinator on a real SQLite study (a temp dir per test), driven on the test thread
// with fake peers: hello with and without trust and tokens, version mismatch, leases
// (grant / wait / done), batched results acknowledged only after their transaction,
// stale leases, retryable failures, release, heartbeats that keep leases alive, agents
// that reconnect under the same name, and the admin side: summary, workers, keyset
// pages of results and errors, retry, drain/stop, subscriptions. A malformed message
// closes only the session that sent it.

#include "cluster/coordinator.h"
#include "cluster/protocol.h"

#include "common/clusterfixtures.h"
#include "common/printablecheck.h"
#include "jobs/jobstore.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <memory>
#include <set>

using namespace SegScale;
using namespace SegScale::Cluster;
using SegScale::Tests::FakePeer;

namespace {

constexpr int kImages = 7;
const QByteArray kAgentToken = "agent-secret";
const QByteArray kAdminToken = "admin-secret";

QString str(const char *s)
{
    return QString::fromLatin1(s);
}

struct Client {
    std::shared_ptr<FakePeer> peer;
    quint64 session = 0;
    FakePeer *operator->() const { return peer.get(); }
};

} // namespace

class TestCoordinator : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_database;
    std::unique_ptr<Coordinator> m_coordinator;
    QList<Client> m_clients;
    Client m_viewer;  // what summary() asks

    CoordinatorOptions options() const
    {
        CoordinatorOptions o;
        o.database = m_database;
        o.agentToken = kAgentToken;
        o.adminToken = kAdminToken;
        o.flushMs = 60000;  // results wait for an explicit flush() unless a test says so
        return o;
    }

    bool start(CoordinatorOptions o)
    {
        m_viewer = {};
        m_coordinator = std::make_unique<Coordinator>(std::move(o));
        auto opened = m_coordinator->open();
        if (!opened)
            qWarning() << opened.error().toString();
        return opened.ok();
    }

    Client connectClient(bool trusted)
    {
        Client c{std::make_shared<FakePeer>(), 0};
        c.session = m_coordinator->connectPeer(c.peer, trusted);
        m_clients.append(c);
        return c;
    }

    void send(const Client &c, const QJsonObject &m) { m_coordinator->receive(c.session, Protocol::serialize(m)); }

    // Sends m and returns the one reply it gets (an empty object when none or several).
    QJsonObject ask(const Client &c, const QJsonObject &m)
    {
        c.peer->take();
        send(c, m);
        const auto got = c.peer->take();
        return got.size() == 1 ? got.first() : QJsonObject();
    }

    static QJsonObject hello(const QString &role, const QString &name = {}, const QByteArray &token = {})
    {
        QJsonObject m{{str("type"), str("hello")}, {str("protocol"), Protocol::kVersion}, {str("role"), role}};
        if (!name.isEmpty())
            m.insert(str("name"), name);
        if (!token.isNull())
            m.insert(str("token"), QString::fromLatin1(token));
        return m;
    }

    Client agent(const QString &name, bool fresh = false)
    {
        Client c = connectClient(true);
        QJsonObject m = hello(str("agent"), name);
        m.insert(str("host"), str("node1"));
        m.insert(str("device"), str("cpu"));
        m.insert(str("threads"), 4);
        m.insert(str("fresh"), fresh);
        const QJsonObject w = ask(c, m);
        if (w.value(str("type")).toString() != str("welcome"))
            qWarning() << "hello refused:" << w;
        return c;
    }

    Client admin()
    {
        Client c = connectClient(true);
        const QJsonObject w = ask(c, hello(str("admin")));
        if (w.value(str("type")).toString() != str("welcome"))
            qWarning() << "hello refused:" << w;
        return c;
    }

    static QJsonObject msg(const char *type, std::initializer_list<std::pair<QString, QJsonValue>> fields = {})
    {
        QJsonObject m{{str("type"), str(type)}};
        for (const auto &[k, v] : fields)
            m.insert(k, v);
        return m;
    }

    QJsonArray grant(const Client &c, int n)
    {
        const QJsonObject g = ask(c, msg("lease", {{str("n"), n}}));
        return g.value(str("type")).toString() == str("grant") ? g.value(str("images")).toArray() : QJsonArray();
    }

    static QJsonObject resultFor(const QJsonValue &image, const QJsonValue &lease)
    {
        return msg("result", {{str("image"), image},
                              {str("lease"), lease},
                              {str("width"), 64},
                              {str("height"), 48},
                              {str("composition"), QJsonArray{0.25, 0.75}},
                              {str("label"), str("/out/label.png")}});
    }

    static QJsonObject failureFor(const QJsonObject &img, const char *category)
    {
        return msg("failure", {{str("image"), img.value(str("image"))},
                               {str("lease"), img.value(str("lease"))},
                               {str("category"), str(category)},
                               {str("message"), str("it broke")}});
    }

    QJsonObject summary()
    {
        if (!m_viewer.peer || m_viewer->closed)
            m_viewer = admin();
        return ask(m_viewer, msg("summary"));
    }

    // Finishes the given images with results and commits them.
    void complete(const Client &c, const QJsonArray &images)
    {
        for (const QJsonValue &v : images)
            send(c, resultFor(v.toObject().value(str("image")), v.toObject().value(str("lease"))));
        QVERIFY(m_coordinator->flush());
    }

private Q_SLOTS:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        QString error;
        m_database = Tests::createClusterStudy(m_dir->path(), kImages, 3000, &error);
        QVERIFY2(!m_database.isEmpty(), qPrintable(error));
        QVERIFY(start(options()));
    }

    void cleanup()
    {
        // Nothing the coordinator sent went to a connection it had closed, and it closed
        // each connection at most once.
        for (const Client &c : std::as_const(m_clients)) {
            QCOMPARE(c->sentAfterClose, 0);
            QVERIFY(c->closeCount <= 1);
        }
        m_clients.clear();
        m_coordinator.reset();
        m_dir.reset();
    }

    void trustedHelloNeedsNoToken()
    {
        Client c = connectClient(true);
        const QJsonObject w = ask(c, hello(str("agent"), str("a1")));
        QCOMPARE(w.value(str("type")).toString(), str("welcome"));
        QCOMPARE(w.value(str("role")).toString(), str("agent"));
        QCOMPARE(w.value(str("protocol")).toInt(), Protocol::kVersion);
        QCOMPARE(w.value(str("lease_seconds")).toInt(), 300);
        QCOMPARE(w.value(str("model_size")).toInteger(), 3000);
        QCOMPARE(w.value(str("settings")).toObject().value(str("model_card")).toObject().value(str("name")).toString(), str("test-model"));
        QVERIFY(!c->closed);
        QCOMPARE(m_coordinator->agentSessions(), 1);
    }

    void tokens_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<QByteArray>("token");
        QTest::addColumn<bool>("admitted");
        QTest::newRow("agent token, agent") << str("agent") << kAgentToken << true;
        QTest::newRow("agent token, admin") << str("admin") << kAgentToken << false;
        QTest::newRow("admin token, agent") << str("agent") << kAdminToken << true;
        QTest::newRow("admin token, admin") << str("admin") << kAdminToken << true;
        QTest::newRow("wrong token, agent") << str("agent") << QByteArray("agent-secreT") << false;
        QTest::newRow("prefix of the token") << str("agent") << QByteArray("agent-secre") << false;
        QTest::newRow("empty token, agent") << str("agent") << QByteArray("") << false;
        QTest::newRow("no token, admin") << str("admin") << QByteArray() << false;
        QTest::newRow("unknown role") << str("root") << kAdminToken << false;
    }

    void tokens()
    {
        QFETCH(QString, role);
        QFETCH(QByteArray, token);
        QFETCH(bool, admitted);
        Client c = connectClient(false);
        const QJsonObject reply = ask(c, hello(role, str("net-agent"), token));
        if (admitted) {
            QCOMPARE(reply.value(str("type")).toString(), str("welcome"));
            QCOMPARE(reply.value(str("role")).toString(), role);
            QVERIFY(!c->closed);
        } else {
            QCOMPARE(reply.value(str("type")).toString(), str("error"));
            QCOMPARE(reply.value(str("code")).toString(), role == str("root") ? str("malformed") : str("auth"));
            QVERIFY(Tests::printable(reply.value(str("message")).toString()));
            QVERIFY(c->closed);
            QCOMPARE(m_coordinator->agentSessions(), 0);
            // The closed session is gone: what it sends now is ignored.
            send(c, msg("lease", {{str("n"), 1}}));
            QCOMPARE(c->messages.size(), 0);
        }
    }

    void emptyTokenRefusesNetworkPeers()
    {
        CoordinatorOptions o = options();
        o.agentToken.clear();
        o.adminToken.clear();
        QVERIFY(start(o));
        for (const QByteArray &token : {QByteArray(), QByteArray(""), QByteArray("anything")}) {
            for (const char *role : {"agent", "admin"}) {
                Client c = connectClient(false);
                const QJsonObject reply = ask(c, hello(str(role), str("n"), token));
                QCOMPARE(reply.value(str("code")).toString(), str("auth"));
                QVERIFY(c->closed);
            }
        }
        // In-process peers are trusted and need no token.
        Client trusted = connectClient(true);
        QCOMPARE(ask(trusted, hello(str("admin"))).value(str("type")).toString(), str("welcome"));
    }

    void versionMismatch()
    {
        Client c = connectClient(true);
        QJsonObject m = hello(str("agent"), str("old"));
        m.insert(str("protocol"), Protocol::kVersion + 1);
        const QJsonObject reply = ask(c, m);
        QCOMPARE(reply.value(str("type")).toString(), str("error"));
        QCOMPARE(reply.value(str("code")).toString(), str("version"));
        QVERIFY(reply.value(str("message")).toString().contains(QString::number(Protocol::kVersion + 1)));
        QVERIFY(c->closed);
        QCOMPARE(m_coordinator->agentSessions(), 0);
    }

    void agentNeedsAName()
    {
        Client c = connectClient(true);
        const QJsonObject reply = ask(c, hello(str("agent")));
        QCOMPARE(reply.value(str("code")).toString(), str("malformed"));
        QVERIFY(c->closed);
    }

    void leaseGrantsWithStringIds()
    {
        Client a = agent(str("a1"));
        const QJsonObject g = ask(a, msg("lease", {{str("n"), 3}, {str("id"), 5}}));
        QCOMPARE(g.value(str("type")).toString(), str("grant"));
        QCOMPARE(g.value(str("id")).toInt(), 5);
        const QJsonArray images = g.value(str("images")).toArray();
        QCOMPARE(images.size(), 3);
        std::set<qint64> ids;
        for (const QJsonValue &v : images) {
            const QJsonObject img = v.toObject();
            QVERIFY2(img.value(str("lease")).isString(), "a lease id travels as a string");
            QVERIFY(Protocol::leaseId(img.value(str("lease"))) > 0);
            QCOMPARE(img.value(str("lease")), images.first().toObject().value(str("lease")));  // one lease per call
            QVERIFY(img.value(str("path")).toString().startsWith(str("img")));
            QCOMPARE(img.value(str("storage")).toString(), str("file://"));
            QCOMPARE(img.value(str("attempts")).toInt(), 0);
            ids.insert(img.value(str("image")).toInteger());
        }
        QCOMPARE(ids.size(), size_t(3));
        QCOMPARE(summary().value(str("leased")).toInt(), 3);
        // What is granted really is this lease: a result under it is accepted.
        send(a, resultFor(images.first().toObject().value(str("image")), images.first().toObject().value(str("lease"))));
        QVERIFY(m_coordinator->flush());
        QCOMPARE(a->lastType(), str("ack"));
        QCOMPARE(a->last().value(str("outcome")).toString(), str("done"));
    }

    void leaseWaitThenDone()
    {
        Client a = agent(str("a1"));
        Client b = agent(str("b1"));
        const QJsonArray held = grant(a, kImages + 10);
        QCOMPARE(held.size(), kImages);
        // Nothing pending, but a1 holds images that come back if a1 dies: b1 waits.
        const QJsonObject wait = ask(b, msg("lease", {{str("n"), 1}}));
        QCOMPARE(wait.value(str("type")).toString(), str("wait"));
        QVERIFY(wait.value(str("seconds")).toInt() > 0);
        // a1 itself holds everything that is left: it is done asking.
        QCOMPARE(ask(a, msg("lease", {{str("n"), 1}})).value(str("type")).toString(), str("done"));
        complete(a, held);
        // Nothing pending and nothing leased: done for everyone.
        QCOMPARE(ask(b, msg("lease", {{str("n"), 1}})).value(str("type")).toString(), str("done"));
        QCOMPARE(summary().value(str("done")).toInt(), kImages);
    }

    void expiredLeasesDoNotCountAsHeld()
    {
        CoordinatorOptions o = options();
        o.leaseSeconds = 1;
        o.sweepMs = 100;
        QVERIFY(start(o));
        Client a = agent(str("a1"));
        Client b = agent(str("b1"));
        QCOMPARE(grant(a, kImages).size(), kImages);
        // a1 goes quiet; its leases expire and b1 takes every image.
        QTRY_COMPARE_WITH_TIMEOUT(summary().value(str("pending")).toInt(), kImages, 5000);
        QCOMPARE(grant(b, kImages).size(), kImages);
        // a1 still remembers images it no longer holds: b1's images come back if b1
        // dies, so a1 must wait, not leave.
        QCOMPARE(ask(a, msg("lease", {{str("n"), 1}})).value(str("type")).toString(), str("wait"));
    }

    void resultsAckedAfterFlush()
    {
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 3);
        QCOMPARE(images.size(), 3);
        for (const QJsonValue &v : images)
            send(a, resultFor(v.toObject().value(str("image")), v.toObject().value(str("lease"))));
        // Queued, not committed: no acknowledgement yet, nothing written.
        QVERIFY(a->ofType(str("ack")).isEmpty());
        QCOMPARE(summary().value(str("done")).toInt(), 0);
        QVERIFY(m_coordinator->flush());
        const auto acks = a->ofType(str("ack"));
        QCOMPARE(acks.size(), 3);
        for (qsizetype i = 0; i < acks.size(); ++i) {
            QCOMPARE(acks[i].value(str("outcome")).toString(), str("done"));
            QCOMPARE(acks[i].value(str("image")), images[i].toObject().value(str("image")));
            QCOMPARE(acks[i].value(str("lease")), images[i].toObject().value(str("lease")));
        }
        QCOMPARE(summary().value(str("done")).toInt(), 3);
        QVERIFY(m_coordinator->flush());  // an empty flush is fine
        QCOMPARE(a->ofType(str("ack")).size(), 3);
    }

    void resultsFlushOnTimerAndBatch()
    {
        CoordinatorOptions o = options();
        o.flushMs = 50;
        o.flushBatch = 2;
        QVERIFY(start(o));
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 3);
        send(a, resultFor(images[0].toObject().value(str("image")), images[0].toObject().value(str("lease"))));
        QVERIFY(a->ofType(str("ack")).isEmpty());
        // The second one fills the batch: committed at once.
        send(a, resultFor(images[1].toObject().value(str("image")), images[1].toObject().value(str("lease"))));
        QCOMPARE(a->ofType(str("ack")).size(), 2);
        // The third one waits for the timer.
        send(a, resultFor(images[2].toObject().value(str("image")), images[2].toObject().value(str("lease"))));
        QCOMPARE(a->ofType(str("ack")).size(), 2);
        QTRY_COMPARE_WITH_TIMEOUT(a->ofType(str("ack")).size(), 3, 2000);
    }

    void staleLease()
    {
        Client a = agent(str("a1"));
        const QJsonObject img = grant(a, 1).first().toObject();
        const qint64 lease = Protocol::leaseId(img.value(str("lease")));
        send(a, resultFor(img.value(str("image")), Protocol::leaseIdValue(lease == 12345 ? 12346 : 12345)));
        QVERIFY(m_coordinator->flush());
        QCOMPARE(a->last().value(str("type")).toString(), str("ack"));
        QCOMPARE(a->last().value(str("outcome")).toString(), str("stale"));
        const QJsonObject s = summary();
        QCOMPARE(s.value(str("done")).toInt(), 0);
        QCOMPARE(s.value(str("leased")).toInt(), 1);  // the real lease still stands
        // A result for an image that was never leased is stale too.
        send(a, resultFor(img.value(str("image")).toInteger() + 1, img.value(str("lease"))));
        QVERIFY(m_coordinator->flush());
        QCOMPARE(a->last().value(str("outcome")).toString(), str("stale"));
        QVERIFY(!a->closed);
    }

    void failures()
    {
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 3);
        send(a, failureFor(images[0].toObject(), "storage"));
        send(a, failureFor(images[1].toObject(), "corrupt"));
        send(a, failureFor(images[2].toObject(), "no-such-category"));
        QVERIFY(a->ofType(str("ack")).isEmpty());
        QVERIFY(m_coordinator->flush());
        const auto acks = a->ofType(str("ack"));
        QCOMPARE(acks.size(), 3);
        QCOMPARE(acks[0].value(str("outcome")).toString(), str("retry"));   // storage: retryable
        QCOMPARE(acks[1].value(str("outcome")).toString(), str("failed"));  // corrupt: permanent
        // An unknown category counts as internal, which is retryable.
        QCOMPARE(acks[2].value(str("outcome")).toString(), str("retry"));
        const QJsonObject s = summary();
        QCOMPARE(s.value(str("failed")).toInt(), 1);
        QCOMPARE(s.value(str("pending")).toInt(), kImages - 1);
        QCOMPARE(s.value(str("leased")).toInt(), 0);
        QCOMPARE(s.value(str("top_errors")).toArray().first().toObject().value(str("category")).toString(), str("corrupt"));
    }

    void releaseCountsNoAttempt()
    {
        Client a = agent(str("a1"));
        const QJsonObject first = grant(a, 1).first().toObject();
        send(a, msg("release", {{str("images"), QJsonArray{first.value(str("image"))}}}));
        QVERIFY(a->messages.isEmpty() && !a->closed);  // no reply to a release
        QCOMPARE(summary().value(str("pending")).toInt(), kImages);
        // The same (oldest) image comes back, with no attempt counted.
        const QJsonObject again = grant(a, 1).first().toObject();
        QCOMPARE(again.value(str("image")), first.value(str("image")));
        QCOMPARE(again.value(str("attempts")).toInt(), 0);
        QVERIFY(again.value(str("lease")) != first.value(str("lease")));
        // Releasing what another agent holds does nothing.
        Client b = agent(str("b1"));
        send(b, msg("release", {{str("images"), QJsonArray{again.value(str("image"))}}}));
        QCOMPARE(summary().value(str("leased")).toInt(), 1);
    }

    void heartbeatRenewsLeases()
    {
        CoordinatorOptions o = options();
        o.leaseSeconds = 2;
        o.sweepMs = 100;
        QVERIFY(start(o));
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 2);
        QCOMPARE(images.size(), 2);
        const QJsonValue lease = images.first().toObject().value(str("lease"));
        // 3 s of heartbeats naming the lease: longer than a lease lasts.
        for (int i = 0; i < 6; ++i) {
            QTest::qWait(500);
            send(a, msg("heartbeat", {{str("leases"), QJsonArray{lease}}, {str("stats"), QJsonObject{{str("ips"), 2.5}}}}));
            QVERIFY(!a->closed);
        }
        QCOMPARE(summary().value(str("leased")).toInt(), 2);
        // A heartbeat under another lease id renews nothing: the leases run out.
        const qint64 other = Protocol::leaseId(lease) + 1;
        QElapsedTimer t;
        t.start();
        while (summary().value(str("leased")).toInt() > 0 && t.elapsed() < 5000) {
            send(a, msg("heartbeat", {{str("leases"), QJsonArray{Protocol::leaseIdValue(other)}}}));
            QTest::qWait(200);
        }
        QVERIFY2(t.elapsed() >= 1000, "leases expired while they were being renewed");
        const QJsonObject s = summary();
        QCOMPARE(s.value(str("leased")).toInt(), 0);
        QCOMPARE(s.value(str("pending")).toInt(), kImages);
        // The lost attempt is counted.
        const QJsonArray back = grant(a, 1);
        QCOMPARE(back.first().toObject().value(str("attempts")).toInt(), 1);
    }

    void sameNameReplacesSession()
    {
        Client first = agent(str("w"));
        const QJsonArray held = grant(first, 2);
        QCOMPARE(held.size(), 2);
        Client second = agent(str("w"));  // not fresh: a reconnect of the same process
        QVERIFY(first->closed);
        QVERIFY(!second->closed);
        QCOMPARE(m_coordinator->agentSessions(), 1);
        // The leases survive the reconnect and belong to the new session.
        Client viewer = admin();
        const QJsonArray workers = ask(viewer, msg("workers")).value(str("workers")).toArray();
        QCOMPARE(workers.size(), 1);
        QCOMPARE(workers.first().toObject().value(str("held")).toInt(), 2);
        complete(second, held);
        const auto acks = second->ofType(str("ack"));
        QCOMPARE(acks.size(), 2);
        QCOMPARE(acks[0].value(str("outcome")).toString(), str("done"));
        QVERIFY(first->ofType(str("ack")).isEmpty());
        // The replaced session is gone.
        send(first, msg("lease", {{str("n"), 1}}));
        QVERIFY(first->ofType(str("grant")).isEmpty());
        // Whatever order the sessions sit in: every reconnect replaces the one before.
        Client previous = second;
        for (int i = 0; i < 20; ++i) {
            Client next = agent(str("w"));
            QVERIFY2(previous->closed, qPrintable(QStringLiteral("reconnect %1 left the old session open").arg(i)));
            QVERIFY(!next->closed);
            QCOMPARE(m_coordinator->agentSessions(), 1);
            previous = next;
        }
    }

    void freshHelloExpiresOldLeases()
    {
        Client first = agent(str("w"));
        QCOMPARE(grant(first, 3).size(), 3);
        m_coordinator->disconnectPeer(first.session);  // the process died
        QCOMPARE(summary().value(str("leased")).toInt(), 3);  // a network blip costs nothing...
        Client restarted = agent(str("w"), /*fresh=*/true);  // ...but a new process of the name
        const QJsonObject s = summary();
        QCOMPARE(s.value(str("leased")).toInt(), 0);
        QCOMPARE(s.value(str("pending")).toInt(), kImages);
        const QJsonArray again = grant(restarted, 1);
        QCOMPARE(again.first().toObject().value(str("attempts")).toInt(), 1);
        // Another agent's leases are left alone by w's fresh start.
        Client other = agent(str("x"));
        QCOMPARE(grant(other, 2).size(), 2);
        agent(str("w"), true);
        QCOMPARE(summary().value(str("leased")).toInt(), 2);
    }

    void adminSummaryAndWorkers()
    {
        Client a = agent(str("a1"));
        Client b = agent(str("b1"));
        const QJsonArray ai = grant(a, 2);
        const QJsonArray bi = grant(b, 1);
        complete(a, QJsonArray{ai[0]});
        send(b, failureFor(bi[0].toObject(), "corrupt"));
        QVERIFY(m_coordinator->flush());
        send(b, msg("heartbeat", {{str("stats"), QJsonObject{{str("ips"), 1.5}, {str("gpu"), str("none")}}}}));
        Client viewer = admin();
        const QJsonObject s = ask(viewer, msg("summary", {{str("id"), 77}}));
        QCOMPARE(s.value(str("type")).toString(), str("summary"));
        QCOMPARE(s.value(str("id")).toInt(), 77);
        QCOMPARE(s.value(str("total")).toInt(), kImages);
        QCOMPARE(s.value(str("done")).toInt(), 1);
        QCOMPARE(s.value(str("failed")).toInt(), 1);
        QCOMPARE(s.value(str("leased")).toInt(), 1);
        QCOMPARE(s.value(str("pending")).toInt(), kImages - 3);
        QCOMPARE(s.value(str("agents")).toInt(), 2);
        QCOMPARE(s.value(str("model")).toString(), str("test-model"));
        QCOMPARE(s.value(str("classes")).toArray().size(), 2);
        QCOMPARE(s.value(str("run")).toInt(), 1);

        const QJsonObject w = ask(viewer, msg("workers"));
        QCOMPARE(w.value(str("type")).toString(), str("workers"));
        QHash<QString, QJsonObject> byName;
        for (const QJsonValue &v : w.value(str("workers")).toArray())
            byName.insert(v.toObject().value(str("name")).toString(), v.toObject());
        QCOMPARE(byName.size(), 2);
        QCOMPARE(byName[str("a1")].value(str("held")).toInt(), 1);
        QCOMPARE(byName[str("a1")].value(str("done")).toInt(), 1);
        QCOMPARE(byName[str("a1")].value(str("host")).toString(), str("node1"));
        QCOMPARE(byName[str("a1")].value(str("threads")).toInt(), 4);
        QCOMPARE(byName[str("a1")].value(str("state")).toString(), str("working"));
        QCOMPARE(byName[str("b1")].value(str("held")).toInt(), 0);
        QCOMPARE(byName[str("b1")].value(str("failed")).toInt(), 1);
        QCOMPARE(byName[str("b1")].value(str("stats")).toObject().value(str("ips")).toDouble(), 1.5);
        // An agent that says bye hands back what it names and stays listed as gone, with
        // why and its last counts.
        send(a, msg("bye", {{str("release"), QJsonArray{ai[1].toObject().value(str("image"))}}}));
        QVERIFY(a->closed);
        byName.clear();
        for (const QJsonValue &v : ask(viewer, msg("workers")).value(str("workers")).toArray())
            byName.insert(v.toObject().value(str("name")).toString(), v.toObject());
        QCOMPARE(byName.size(), 2);
        QCOMPARE(byName[str("a1")].value(str("state")).toString(), str("left"));
        QCOMPARE(byName[str("a1")].value(str("detail")).toString(), str("said goodbye: no work left for it"));
        QCOMPARE(byName[str("a1")].value(str("done")).toInt(), 1);
        QCOMPARE(byName[str("b1")].value(str("state")).toString(), str("working"));
        QCOMPARE(m_coordinator->agentSessions(), 1);
        QCOMPARE(ask(viewer, msg("summary")).value(str("leased")).toInt(), 0);
    }

    void resultsPages()
    {
        Client a = agent(str("a1"));
        complete(a, grant(a, kImages));
        Client viewer = admin();
        for (const int limit : {1, 2, 3, kImages, kImages + 1, 1000}) {
            QList<qint64> seen;
            qint64 after = 0;
            int pages = 0;
            for (;;) {
                QJsonObject req = msg("results", {{str("limit"), limit}, {str("id"), pages}});
                if (after > 0)
                    req.insert(str("after"), static_cast<double>(after));
                const QJsonObject page = ask(viewer, req);
                QCOMPARE(page.value(str("type")).toString(), str("results"));
                QCOMPARE(page.value(str("id")).toInt(), pages);
                const QJsonArray rows = page.value(str("rows")).toArray();
                QVERIFY2(rows.size() <= limit, "a page is never longer than its limit");
                for (const QJsonValue &r : rows) {
                    const qint64 image = r.toObject().value(str("image")).toInteger();
                    QVERIFY(image > after);
                    QVERIFY(seen.isEmpty() || image > seen.last());
                    seen.append(image);
                    QCOMPARE(r.toObject().value(str("width")).toInt(), 64);
                    QCOMPARE(r.toObject().value(str("composition")).toArray().size(), 2);
                    QVERIFY(r.toObject().value(str("location")).toString().contains(str("/photos/img")));
                }
                ++pages;
                QVERIFY(pages <= kImages + 2);
                if (!page.contains(str("next"))) {
                    QVERIFY(rows.size() < limit);
                    break;
                }
                QCOMPARE(rows.size(), limit);
                QCOMPARE(page.value(str("next")).toInteger(), seen.last());
                after = page.value(str("next")).toInteger();
            }
            QCOMPARE(seen.size(), kImages);
            QCOMPARE(pages, kImages / limit + 1);
        }
        // Default limit, and a page after the end.
        QCOMPARE(ask(viewer, msg("results")).value(str("rows")).toArray().size(), kImages);
        QCOMPARE(ask(viewer, msg("results", {{str("after"), 1000000}})).value(str("rows")).toArray().size(), 0);
    }

    void errorsPagesAndRetry()
    {
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 5);
        const char *categories[] = {"corrupt", "missing", "corrupt", "unsupported", "corrupt"};
        for (int i = 0; i < 5; ++i)
            send(a, failureFor(images[i].toObject(), categories[i]));
        QVERIFY(m_coordinator->flush());
        Client viewer = admin();

        const QJsonObject all = ask(viewer, msg("errors"));
        QCOMPARE(all.value(str("type")).toString(), str("errors"));
        QCOMPARE(all.value(str("rows")).toArray().size(), 5);
        const QJsonObject row = all.value(str("rows")).toArray().first().toObject();
        QCOMPARE(row.value(str("category")).toString(), str("corrupt"));
        QCOMPARE(row.value(str("message")).toString(), str("it broke"));
        QCOMPARE(row.value(str("worker")).toString(), str("a1"));

        // One category, two rows a page.
        QList<qint64> corrupt;
        qint64 after = 0;
        for (int page = 0; page < 5; ++page) {
            const QJsonObject p = ask(viewer, msg("errors", {{str("category"), str("corrupt")}, {str("limit"), 2}, {str("after"), static_cast<double>(after)}}));
            const QJsonArray rows = p.value(str("rows")).toArray();
            QVERIFY(rows.size() <= 2);
            for (const QJsonValue &r : rows) {
                QCOMPARE(r.toObject().value(str("category")).toString(), str("corrupt"));
                corrupt.append(r.toObject().value(str("image")).toInteger());
            }
            if (!p.contains(str("next")))
                break;
            after = p.value(str("next")).toInteger();
        }
        QCOMPARE(corrupt.size(), 3);
        QVERIFY(std::is_sorted(corrupt.begin(), corrupt.end()));

        // An unknown category is answered, not a reason to close.
        const QJsonObject bad = ask(viewer, msg("errors", {{str("category"), str("gremlins")}, {str("id"), 4}}));
        QCOMPARE(bad.value(str("type")).toString(), str("error"));
        QCOMPARE(bad.value(str("id")).toInt(), 4);
        QVERIFY(!viewer->closed);

        // A retry naming an unknown category retries nothing (not everything).
        const QJsonObject typo = ask(viewer, msg("retry", {{str("category"), str("corupt")}, {str("id"), 5}}));
        QCOMPARE(typo.value(str("type")).toString(), str("error"));
        QCOMPARE(typo.value(str("id")).toInt(), 5);
        QCOMPARE(ask(viewer, msg("summary")).value(str("failed")).toInt(), 5);
        QVERIFY(!viewer->closed);

        // Retry one category, then the rest.
        const QJsonObject retried = ask(viewer, msg("retry", {{str("category"), str("corrupt")}}));
        QCOMPARE(retried.value(str("type")).toString(), str("ok"));
        QCOMPARE(retried.value(str("count")).toInt(), 3);
        QJsonObject s = ask(viewer, msg("summary"));
        QCOMPARE(s.value(str("failed")).toInt(), 2);
        QCOMPARE(s.value(str("pending")).toInt(), kImages - 2);
        QCOMPARE(ask(viewer, msg("retry")).value(str("count")).toInt(), 2);
        s = ask(viewer, msg("summary"));
        QCOMPARE(s.value(str("failed")).toInt(), 0);
        QCOMPARE(s.value(str("pending")).toInt(), kImages);
        QCOMPARE(ask(viewer, msg("errors")).value(str("rows")).toArray().size(), 0);
    }

    // The Audit tab's messages: answered, refused with a reason, never a closed connection.
    void auditMessages()
    {
        Client a = agent(str("a1"));
        const QJsonArray images = grant(a, 4);
        complete(a, images);
        QVERIFY(m_coordinator->flush());
        Client viewer = admin();
        const auto image = images.first().toObject().value(str("image")).toInteger();

        QJsonObject r = ask(viewer, msg("audit-mark", {{str("image"), image}, {str("verdict"), str("flagged")}, {str("note"), str("n")}, {str("by"), str("ana")}}));
        QCOMPARE(r.value(str("type")).toString(), str("ok"));
        QCOMPARE(r.value(str("mark")).toObject().value(str("verdict")).toString(), str("flagged"));
        QCOMPARE(r.value(str("mark")).toObject().value(str("marked_by")).toString(), str("ana"));
        r = ask(viewer, msg("audit-marks", {{str("images"), QJsonArray{image, image + 1000}}}));
        QCOMPARE(r.value(str("marks")).toObject().keys(), QStringList{QString::number(image)});
        r = ask(viewer, msg("audit-summary"));
        QCOMPARE(r.value(str("datasets")).toArray().first().toObject().value(str("flagged")).toInt(), 1);
        QCOMPARE(r.value(str("datasets")).toArray().first().toObject().value(str("rate")).toDouble(), 0.0);
        r = ask(viewer, msg("audit-mark", {{str("image"), 987654}, {str("verdict"), str("accepted")}}));
        QCOMPARE(r.value(str("code")).toString(), str("missing"));
        r = ask(viewer, msg("audit-sample", {{str("mode"), str("extremes")}}));
        QVERIFY(r.value(str("message")).toString().contains(str("needs a \"class\"")));
        r = ask(viewer, msg("audit-sample", {{str("mode"), str("extremes")}, {str("class"), 99}}));
        QVERIFY(r.value(str("message")).toString().contains(str("not one of the study's")));
        r = ask(viewer, msg("audit-sample", {{str("mode"), str("sometimes")}}));
        QVERIFY(r.value(str("message")).toString().contains(str("random, per-dataset or extremes")));
        r = ask(viewer, msg("retry", {{str("category"), str("corrupt")}, {str("images"), QJsonArray{1}}}));
        QVERIFY(r.value(str("message")).toString().contains(str("not both")));

        // A draw is answered later (a page of results per turn of the event loop).
        send(viewer, msg("audit-sample", {{str("mode"), str("random")}, {str("k"), 3}, {str("seed"), 1}, {str("id"), 7}}));
        QList<QJsonObject> got;
        QTRY_VERIFY((got += viewer.peer->take(), !got.isEmpty()));
        QCOMPARE(got.first().value(str("id")).toInt(), 7);
        QCOMPARE(got.first().value(str("rows")).toArray().size(), 3);
        QCOMPARE(got.first().value(str("scanned")).toInt(), 4);

        // k per dataset over many datasets: refused with the numbers, not a huge reply.
        {
            auto store = Jobs::JobStore::open(m_database);
            QVERIFY(store.ok());
            const qint64 storage = *(*store)->addStorage(str("more"), str("file://"));
            for (int d = 0; d < 11; ++d)
                QVERIFY((*store)->addDataset(storage, str("/more/%1").arg(d), {}, {}).ok());
        }
        r = ask(viewer, msg("audit-sample", {{str("mode"), str("per-dataset")}, {str("k"), 1000}}));
        QVERIFY2(r.value(str("message")).toString().contains(str("at most 10000")), qPrintable(r.value(str("message")).toString()));
        QVERIFY(!viewer->closed);
    }

    void drainAndStop()
    {
        Client a = agent(str("a1"));
        Client b = agent(str("b1"));
        Client viewer = admin();
        a->take();
        b->take();
        const QJsonObject ok = ask(viewer, msg("drain", {{str("worker"), str("a1")}, {str("id"), 1}}));
        QCOMPARE(ok.value(str("type")).toString(), str("ok"));
        QCOMPARE(ok.value(str("id")).toInt(), 1);
        QCOMPARE(a->messages.size(), 1);
        QCOMPARE(a->lastType(), str("drain"));
        QVERIFY(b->messages.isEmpty());
        // A draining agent gets no more work.
        QCOMPARE(ask(a, msg("lease", {{str("n"), 1}})).value(str("type")).toString(), str("drain"));
        QCOMPARE(grant(b, 1).size(), 1);
        QCOMPARE(ask(viewer, msg("stop", {{str("worker"), str("b1")}})).value(str("type")).toString(), str("ok"));
        QCOMPARE(b->lastType(), str("stop"));
        QHash<QString, QString> states;
        for (const QJsonValue &v : ask(viewer, msg("workers")).value(str("workers")).toArray())
            states.insert(v.toObject().value(str("name")).toString(), v.toObject().value(str("state")).toString());
        QCOMPARE(states.value(str("a1")), str("draining"));
        QCOMPARE(states.value(str("b1")), str("draining"));
        const QJsonObject missing = ask(viewer, msg("drain", {{str("worker"), str("nobody")}}));
        QCOMPARE(missing.value(str("type")).toString(), str("error"));
        QCOMPARE(missing.value(str("code")).toString(), str("missing"));
        QVERIFY(!viewer->closed);
        // An admin is not an agent: drain cannot name it.
        QCOMPARE(ask(viewer, msg("drain", {{str("worker"), QString()}})).value(str("code")).toString(), str("missing"));
    }

    void subscribePushesThrottled()
    {
        Client a = agent(str("a1"));
        Client viewer = admin();
        QCOMPARE(ask(viewer, msg("subscribe", {{str("interval"), 1000}})).value(str("type")).toString(), str("ok"));
        Client quiet = admin();  // not subscribed: hears nothing
        QElapsedTimer t;
        t.start();
        // Something changes every 100 ms for 2.6 s.
        while (t.elapsed() < 2600) {
            send(a, msg("heartbeat"));
            QTest::qWait(100);
        }
        QVERIFY(quiet->ofType(str("changed")).isEmpty());
        // The last change reaches the subscriber on a later tick, within its interval...
        QTest::qWait(1300);
        const auto pushed = viewer->ofType(str("changed"));
        QVERIFY2(pushed.size() >= 3 && pushed.size() <= 4, qPrintable(QString::number(pushed.size())));
        QVERIFY(pushed.first().contains(str("pending")));
        QCOMPARE(pushed.first().value(str("total")).toInt(), kImages);
        QList<qint64> at;
        for (qsizetype i = 0; i < viewer->messages.size(); ++i)
            if (viewer->messages[i].value(str("type")).toString() == str("changed"))
                at.append(viewer->sentAt[i]);
        for (qsizetype i = 1; i < at.size(); ++i)
            // The peer stamps a push after its summary was read: a few ms of jitter.
            QVERIFY2(at[i] - at[i - 1] >= 950, qPrintable(QStringLiteral("pushed %1 ms after the one before, interval 1000 ms").arg(at[i] - at[i - 1])));
        // ...and when nothing changes, nothing is pushed.
        QTest::qWait(1300);
        QCOMPARE(viewer->ofType(str("changed")).size(), pushed.size());
        QVERIFY(quiet->ofType(str("changed")).isEmpty());
    }

    void modelChunks()
    {
        Client a = agent(str("a1"));
        const QJsonObject chunk = ask(a, msg("model-chunk", {{str("offset"), 1000}, {str("id"), 2}}));
        QCOMPARE(chunk.value(str("type")).toString(), str("model-data"));
        QCOMPARE(chunk.value(str("id")).toInt(), 2);
        QCOMPARE(chunk.value(str("size")).toInt(), 3000);
        QCOMPARE(QByteArray::fromBase64(chunk.value(str("data")).toString().toLatin1()).size(), 2000);
        QVERIFY(chunk.value(str("eof")).toBool());
        const QJsonObject past = ask(a, msg("model-chunk", {{str("offset"), 3001}}));
        QCOMPARE(past.value(str("code")).toString(), str("model"));
        QVERIFY(!a->closed);
    }

    void malformedClosesOnlyThatSession_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::addColumn<QString>("code");
        QTest::newRow("not JSON") << QByteArray("{\"type\":") << str("malformed");
        QTest::newRow("array") << QByteArray("[]") << str("malformed");
        QTest::newRow("unknown type") << QByteArray(R"({"type":"rm -rf"})") << str("malformed");
        QTest::newRow("admin type") << QByteArray(R"({"type":"summary"})") << str("malformed");
        QTest::newRow("second hello") << QByteArray(R"({"type":"hello","protocol":1,"role":"admin"})") << str("malformed");
        QTest::newRow("numeric lease id") << QByteArray(R"({"type":"heartbeat","leases":[5]})") << str("malformed");
        QTest::newRow("lease n 0") << QByteArray(R"({"type":"lease","n":0})") << str("malformed");
        QTest::newRow("too large") << QByteArray(Protocol::kMaxMessageBytes + 1, ' ') << str("too-large");
    }

    void malformedClosesOnlyThatSession()
    {
        QFETCH(QByteArray, frame);
        QFETCH(QString, code);
        Client bad = agent(str("bad"));
        Client good = agent(str("good"));
        QCOMPARE(grant(bad, 1).size(), 1);
        bad->take();
        m_coordinator->receive(bad.session, frame);
        QCOMPARE(bad->messages.size(), 1);
        QCOMPARE(bad->lastType(), str("error"));
        QCOMPARE(bad->last().value(str("code")).toString(), code);
        QVERIFY(Tests::printable(bad->last().value(str("message")).toString()));
        QVERIFY(bad->closed);
        QCOMPARE(m_coordinator->agentSessions(), 1);
        // Its session is gone; the other one works on.
        send(bad, msg("lease", {{str("n"), 1}}));
        QCOMPARE(bad->messages.size(), 1);
        QCOMPARE(grant(good, 2).size(), 2);
        QVERIFY(!good->closed);
        // The closed agent's lease stays until it expires: a blip costs nothing.
        QCOMPARE(summary().value(str("leased")).toInt(), 3);
    }

    void inProcessMessagesAreCheckedToo()
    {
        Client a = agent(str("a1"));
        a->take();
        m_coordinator->handle(a.session, msg("lease", {{str("n"), 5000}}));
        QCOMPARE(a->lastType(), str("error"));
        QCOMPARE(a->last().value(str("code")).toString(), str("malformed"));
        QVERIFY(a->closed);
    }
};

QTEST_GUILESS_MAIN(TestCoordinator)
#include "tst_coordinator.moc"
