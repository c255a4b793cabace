// The distributed scheme with real processes on 127.0.0.1: `segscale serve` on a real
// SQLite study and `segscale agent` processes with the real model. Three agents finish a
// study; an agent killed -9 mid-lease has its images redone by another after expiry; the
// coordinator killed -9 and restarted loses no acknowledged result and its agents come
// back by themselves; a wrong token gets nothing; an agent token cannot use admin
// messages; malformed, oversized and wrong-version messages close that connection only;
// a model that is not the study's is refused by hash; two coordinators on one PostgreSQL
// study (a private postgres the test starts) with agents on both do each image once; a
// private Slurm cluster runs two agents as a job array that finish a study.

#include "common/testpaths.h"
#include "common/clirun.h"
#include "common/postgresfixture.h"
#include "common/slurmfixture.h"
#include "launch/slurmlauncher.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QWebSocket>
#include <QtTest>

#include <csignal>
#include <map>
#include <memory>

using SegScale::Testing::runCli;

namespace {

QString cli()
{
    return SegScale::Testing::cliPath();
}

QString modelDir()
{
    return SegScale::Testing::sharedModel();
}

// A read-only look at the study while processes work on it.
struct StudyView {
    QString path;  // a SQLite file or a postgresql://user@host:port/db URL
    template <typename F>
    void query(const QString &sql, F &&row) const
    {
        const QString name = QStringLiteral("view-%1").arg(QRandomGenerator::global()->generate());
        {
            QSqlDatabase c;
            if (path.startsWith(QLatin1StringView("postgresql://"))) {
                const QUrl url(path);
                c = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
                c.setHostName(url.host());
                c.setPort(url.port());
                c.setUserName(url.userName());
                c.setDatabaseName(url.path().mid(1));
            } else {
                c = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
                c.setDatabaseName(path);
                c.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000;QSQLITE_OPEN_READONLY"));
            }
            if (c.open()) {
                QSqlQuery q(c);
                if (q.exec(sql))
                    while (q.next())
                        row(q);
            }
            c.close();
        }
        QSqlDatabase::removeDatabase(name);
    }
    std::map<qint64, qint64> results() const  // image id -> created_at
    {
        std::map<qint64, qint64> out;
        query(QStringLiteral("SELECT image_id, created_at FROM results"), [&](QSqlQuery &q) { out[q.value(0).toLongLong()] = q.value(1).toLongLong(); });
        return out;
    }
    qint64 count(const QString &sql) const
    {
        qint64 n = -1;
        query(sql, [&](QSqlQuery &q) { n = q.value(0).toLongLong(); });
        return n;
    }
    qint64 resultRows() const { return count(QStringLiteral("SELECT COUNT(*) FROM results")); }
    qint64 inState(int state) const { return count(QStringLiteral("SELECT COUNT(*) FROM images WHERE state = %1").arg(state)); }
};

// `segscale serve` as a child process; learns its port from its first line.
class Serve {
public:
    // Its stderr goes to logFile, read back whenever asked (no event loop needed).
    bool start(const QStringList &args, const QString &logFile, int port = 0)
    {
        m_args = args;
        m_logFile = logFile;
        QFile::remove(logFile);
        m_process = std::make_unique<QProcess>();
        m_process->setStandardErrorFile(logFile);
        m_process->start(cli(), QStringList{QStringLiteral("serve")} + args +
                                    QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(port)});
        QElapsedTimer t;
        t.start();
        static const QRegularExpression served(QStringLiteral("on wss?://127\\.0\\.0\\.1:(\\d+)"));
        while (t.elapsed() < 30000) {
            QThread::msleep(50);
            const auto match = served.match(log());
            if (match.hasMatch()) {
                m_port = match.captured(1).toInt();
                return true;
            }
            if (m_process->state() == QProcess::NotRunning)
                return false;
        }
        return false;
    }
    void kill9()
    {
        ::kill(static_cast<pid_t>(m_process->processId()), SIGKILL);
        m_process->waitForFinished(10000);
    }
    int terminate()
    {
        m_process->terminate();
        m_process->waitForFinished(60000);
        return m_process->exitStatus() == QProcess::NormalExit ? m_process->exitCode() : -1;
    }
    QString log() const
    {
        QFile f(m_logFile);
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }
    int port() const { return m_port; }
    QString url() const { return QStringLiteral("ws://127.0.0.1:%1").arg(m_port); }
    ~Serve()
    {
        if (m_process && m_process->state() != QProcess::NotRunning) {
            m_process->kill();
            m_process->waitForFinished(5000);
        }
    }

private:
    std::unique_ptr<QProcess> m_process;
    QStringList m_args;
    QString m_logFile;
    int m_port = 0;
};

struct AgentProcess {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    ~AgentProcess()
    {
        if (process->state() != QProcess::NotRunning) {
            process->kill();
            process->waitForFinished(5000);
        }
    }
    int wait(int ms)
    {
        if (!process->waitForFinished(ms))
            return -2;
        return process->exitStatus() == QProcess::NormalExit ? process->exitCode() : -1;
    }
    QString err() { return QString::fromUtf8(process->readAllStandardError()); }
};

// A raw WebSocket client for what no well-behaved agent sends.
class RawClient {
public:
    bool open(const QString &url)
    {
        QObject::connect(&m_socket, &QWebSocket::textMessageReceived, &m_socket, [this](const QString &t) {
            m_received.append(QJsonDocument::fromJson(t.toUtf8()).object());
        });
        QObject::connect(&m_socket, &QWebSocket::disconnected, &m_socket, [this] { m_closed = true; });
        m_socket.open(QUrl(url));
        return waitFor([&] { return m_socket.state() == QAbstractSocket::ConnectedState; });
    }
    void sendText(const QString &text) { m_socket.sendTextMessage(text); }
    void send(const QJsonObject &o) { sendText(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact))); }
    // The next message of this type (error included).
    QJsonObject next(const QString &type, int ms = 10000)
    {
        QJsonObject found;
        waitFor([&] {
            for (qsizetype i = 0; i < m_received.size(); ++i) {
                const QString t = m_received[i].value(QStringLiteral("type")).toString();
                if (t == type || t == QLatin1StringView("error")) {
                    found = m_received.takeAt(i);
                    return true;
                }
            }
            return false;
        }, ms);
        return found;
    }
    bool waitClosed(int ms = 10000) { return waitFor([&] { return m_closed; }, ms); }
    bool closed() const { return m_closed; }

private:
    template <typename F>
    static bool waitFor(F &&done, int ms = 10000)
    {
        QElapsedTimer t;
        t.start();
        while (!done()) {
            if (t.elapsed() > ms)
                return false;
            QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
            QThread::msleep(5);
        }
        return true;
    }
    QWebSocket m_socket;
    QList<QJsonObject> m_received;
    bool m_closed = false;
};

QJsonObject hello(const QString &role, const QString &token, int protocol = 1)
{
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("hello")}, {QStringLiteral("protocol"), protocol},
                       {QStringLiteral("role"), role}, {QStringLiteral("token"), token}, {QStringLiteral("name"), QStringLiteral("raw")}};
}

} // namespace

class TestCluster : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_images;
    QString m_token, m_adminToken, m_badToken;
    int m_count = 0;

    QString path(const QString &name) const { return m_dir.filePath(name); }

    QString writeToken(const QString &name)
    {
        const QString token = QString::fromLatin1(QByteArray::number(QRandomGenerator::global()->generate64(), 16).repeated(2));
        QFile f(path(name));
        if (!f.open(QIODevice::WriteOnly))
            return {};
        f.write(token.toLatin1() + '\n');
        return token;
    }

    // A fresh study over the test images; returns its path.
    QString makeStudy(const QString &name)
    {
        const QString db = name.contains(QLatin1StringView("://")) ? name : path(name);
        auto created = runCli(cli(), {QStringLiteral("study"), QStringLiteral("create"), db, QStringLiteral("--model"), modelDir(),
                                      QStringLiteral("--scales"), QStringLiteral("1"), QStringLiteral("--base-size"), QStringLiteral("128"),
                                      QStringLiteral("--crop"), QStringLiteral("128"), QStringLiteral("--no-flip")},
                              60000);
        if (created.code != 0)
            qWarning() << created.err;
        auto added = runCli(cli(), {QStringLiteral("study"), QStringLiteral("add"), db, m_images}, 60000);
        if (added.code != 0)
            qWarning() << added.err;
        return created.code == 0 && added.code == 0 ? db : QString();
    }

    QStringList serveArgs(const QString &db, int leaseSeconds = 30) const
    {
        return {db, QStringLiteral("--token-file"), path(QStringLiteral("agent.token")), QStringLiteral("--admin-token-file"),
                path(QStringLiteral("admin.token")), QStringLiteral("--lease-seconds"), QString::number(leaseSeconds),
                QStringLiteral("--out"), path(QStringLiteral("outputs"))};
    }

    std::unique_ptr<AgentProcess> startAgent(const Serve &serve, const QString &name, const QStringList &extra = {})
    {
        auto a = std::make_unique<AgentProcess>();
        a->process->start(cli(), QStringList{QStringLiteral("agent"), QStringLiteral("--connect"), serve.url(), QStringLiteral("--token-file"),
                                             path(QStringLiteral("agent.token")), QStringLiteral("--name"), name, QStringLiteral("--threads"),
                                             QStringLiteral("1"), QStringLiteral("--model-cache"), path(QStringLiteral("cache"))} +
                                     extra);
        return a;
    }

    static bool waitUntil(const std::function<bool()> &done, int ms)
    {
        QElapsedTimer t;
        t.start();
        while (!done()) {
            if (t.elapsed() > ms)
                return false;
            QThread::msleep(100);
        }
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (cli().isEmpty() || !QFile::exists(cli()))
            QSKIP("SEGSCALE_CLI is not set: build the segscale target");
        if (!QFile::exists(modelDir() + QStringLiteral("/model.json")))
            QSKIP("../shared/models/espnet-cityscapes is not available");
        m_images = path(QStringLiteral("images"));
        QVERIFY(QDir().mkpath(m_images));
        const QDir streets(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList photos = streets.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
        QVERIFY(photos.size() >= 6);
        for (int i = 0; i < 40; ++i) {
            cv::Mat img = cv::imread(streets.filePath(photos[i % photos.size()]).toStdString());
            QVERIFY(!img.empty());
            cv::resize(img, img, cv::Size(160 + 8 * (i % 4), 120), 0, 0, cv::INTER_AREA);
            QVERIFY(cv::imwrite(QStringLiteral("%1/p%2.jpg").arg(m_images).arg(i, 2, 10, QLatin1Char('0')).toStdString(), img));
        }
        m_count = 40;
        m_token = writeToken(QStringLiteral("agent.token"));
        m_adminToken = writeToken(QStringLiteral("admin.token"));
        m_badToken = writeToken(QStringLiteral("bad.token"));
        QVERIFY(!m_token.isEmpty() && !m_adminToken.isEmpty());
    }

    void threeAgentsFinishAStudy()
    {
        const QString db = makeStudy(QStringLiteral("three.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        std::vector<std::unique_ptr<AgentProcess>> agents;
        for (int i = 0; i < 3; ++i)
            agents.push_back(startAgent(serve, QStringLiteral("agent-%1").arg(i)));
        qint64 reported = 0;
        for (auto &a : agents) {
            const int code = a->wait(240000);
            const QString err = a->err();
            QVERIFY2(code == 0, qPrintable(err));
            static const QRegularExpression summary(QStringLiteral("no work left \\((\\d+) done"));
            const auto m = summary.match(err);
            QVERIFY2(m.hasMatch(), qPrintable(err));
            reported += m.captured(1).toLongLong();
        }
        const StudyView view{db};
        QCOMPARE(view.resultRows(), qint64(m_count));
        QCOMPARE(view.inState(2), qint64(m_count));
        QCOMPARE(reported, qint64(m_count));  // acknowledged results, none counted twice
        // Label maps are keyed by dataset id: labels/<dataset>/<path>.png
        QVERIFY(QFile::exists(path(QStringLiteral("outputs/labels/1/p00.jpg.png"))));
        QCOMPARE(serve.terminate(), 0);
    }

    void killedAgentsImagesAreRedoneByAnother()
    {
        const QString db = makeStudy(QStringLiteral("killagent.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db, 3), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        const StudyView view{db};
        auto victim = startAgent(serve, QStringLiteral("victim"), {QStringLiteral("--prefetch"), QStringLiteral("8")});
        // Kill it once it has committed something and still holds leases.
        QVERIFY(waitUntil([&] { return view.resultRows() >= 2 && view.inState(1) > 0; }, 120000));
        ::kill(static_cast<pid_t>(victim->process->processId()), SIGKILL);
        victim->process->waitForFinished(5000);
        const qint64 heldByVictim = view.inState(1);
        QVERIFY(heldByVictim > 0);
        auto rescuer = startAgent(serve, QStringLiteral("rescuer"));
        const int code = rescuer->wait(240000);
        QVERIFY2(code == 0, qPrintable(rescuer->err()));
        QCOMPARE(view.resultRows(), qint64(m_count));
        QCOMPARE(view.inState(2), qint64(m_count));
        // The victim's leased images went back after expiry, each recorded as such.
        const qint64 expired = view.count(QStringLiteral("SELECT COUNT(DISTINCT image_id) FROM errors WHERE message LIKE 'lease of worker victim expired%'"));
        QVERIFY2(expired >= heldByVictim, qPrintable(QStringLiteral("%1 expired, %2 held").arg(expired).arg(heldByVictim)));
        QVERIFY(serve.log().contains(QStringLiteral("leases expired")));
    }

    void coordinatorKilledAndRestartedLosesNothing()
    {
        const QString db = makeStudy(QStringLiteral("killserve.db"));
        QVERIFY(!db.isEmpty());
        auto serve = std::make_unique<Serve>();
        QVERIFY2(serve->start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve->log()));
        const int port = serve->port();
        const StudyView view{db};
        auto a = startAgent(*serve, QStringLiteral("a"));
        auto b = startAgent(*serve, QStringLiteral("b"));
        QVERIFY(waitUntil([&] { return view.resultRows() >= 6; }, 120000));
        serve->kill9();
        const auto committed = view.results();
        QVERIFY(committed.size() >= 6 && committed.size() < size_t(m_count));
        QThread::msleep(1500);
        serve = std::make_unique<Serve>();
        QVERIFY2(serve->start(serveArgs(db), path(QStringLiteral("serve-restarted.log")), port), qPrintable(serve->log()));
        QCOMPARE(a->wait(240000), 0);
        QCOMPARE(b->wait(240000), 0);
        const auto all = view.results();
        QCOMPARE(qint64(all.size()), qint64(m_count));
        QCOMPARE(view.inState(2), qint64(m_count));
        for (const auto &[image, createdAt] : committed) {
            QVERIFY(all.count(image));
            QCOMPARE(all.at(image), createdAt);  // never recomputed
        }
    }

    void wrongTokenGetsNothing()
    {
        const QString db = makeStudy(QStringLiteral("token.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        AgentProcess a;
        a.process->start(cli(), {QStringLiteral("agent"), QStringLiteral("--connect"), serve.url(), QStringLiteral("--token-file"),
                                 path(QStringLiteral("bad.token")), QStringLiteral("--name"), QStringLiteral("intruder")});
        QCOMPARE(a.wait(60000), 2);
        QVERIFY(a.err().contains(QStringLiteral("token is not accepted")));
        const StudyView view{db};
        QCOMPARE(view.inState(1), qint64(0));
        QCOMPARE(view.count(QStringLiteral("SELECT COUNT(*) FROM workers WHERE name = 'intruder'")), qint64(0));

        RawClient raw;
        QVERIFY(raw.open(serve.url()));
        raw.send(hello(QStringLiteral("agent"), m_badToken));
        QCOMPARE(raw.next(QStringLiteral("welcome")).value(QStringLiteral("code")).toString(), QStringLiteral("auth"));
        QVERIFY(raw.waitClosed());
    }

    void agentTokenCannotUseAdminMessages()
    {
        const QString db = makeStudy(QStringLiteral("admin.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        {
            RawClient asAdmin;
            QVERIFY(asAdmin.open(serve.url()));
            asAdmin.send(hello(QStringLiteral("admin"), m_token));
            QCOMPARE(asAdmin.next(QStringLiteral("welcome")).value(QStringLiteral("code")).toString(), QStringLiteral("auth"));
            QVERIFY(asAdmin.waitClosed());
        }
        {
            RawClient agent;
            QVERIFY(agent.open(serve.url()));
            agent.send(hello(QStringLiteral("agent"), m_token));
            QCOMPARE(agent.next(QStringLiteral("welcome")).value(QStringLiteral("type")).toString(), QStringLiteral("welcome"));
            agent.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("summary")}});
            const QJsonObject e = agent.next(QStringLiteral("summary"));
            QCOMPARE(e.value(QStringLiteral("type")).toString(), QStringLiteral("error"));
            QVERIFY(e.value(QStringLiteral("message")).toString().contains(QStringLiteral("not allowed")));
            QVERIFY(agent.waitClosed());
        }
        {
            RawClient admin;
            QVERIFY(admin.open(serve.url()));
            admin.send(hello(QStringLiteral("admin"), m_adminToken));
            QCOMPARE(admin.next(QStringLiteral("welcome")).value(QStringLiteral("role")).toString(), QStringLiteral("admin"));
            admin.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("summary")}, {QStringLiteral("id"), 7}});
            const QJsonObject s = admin.next(QStringLiteral("summary"));
            QCOMPARE(s.value(QStringLiteral("id")).toInt(), 7);
            QCOMPARE(s.value(QStringLiteral("total")).toInt(), m_count);
            QCOMPARE(s.value(QStringLiteral("pending")).toInt(), m_count);
            admin.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("lease")}, {QStringLiteral("n"), 1}});
            QCOMPARE(admin.next(QStringLiteral("grant")).value(QStringLiteral("type")).toString(), QStringLiteral("error"));
        }
    }

    void badMessagesCloseOnlyTheirConnection()
    {
        const QString db = makeStudy(QStringLiteral("malformed.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        // A healthy agent works throughout.
        auto worker = startAgent(serve, QStringLiteral("steady"));
        const QStringList bad{QStringLiteral("this is not json"), QStringLiteral("[1,2,3]"), QStringLiteral("{\"type\":42}"),
                              QStringLiteral("{\"type\":\"lease\",\"n\":5}"),  // before hello
                              QString::fromLatin1(QJsonDocument(hello(QStringLiteral("agent"), m_token, 99)).toJson(QJsonDocument::Compact)),
                              QStringLiteral("{\"type\":\"hello\",\"protocol\":1,\"role\":\"agent\",\"token\":") + QString(5 * 1024 * 1024, QLatin1Char('7')) + QStringLiteral("}")};
        for (const QString &text : bad) {
            RawClient raw;
            QVERIFY(raw.open(serve.url()));
            raw.sendText(text);
            QVERIFY2(raw.waitClosed(), qPrintable(text.left(60)));
        }
        {
            // Well-formed hello, then a result with a composition of the wrong type.
            RawClient raw;
            QVERIFY(raw.open(serve.url()));
            raw.send(hello(QStringLiteral("agent"), m_token));
            QCOMPARE(raw.next(QStringLiteral("welcome")).value(QStringLiteral("type")).toString(), QStringLiteral("welcome"));
            raw.sendText(QStringLiteral("{\"type\":\"result\",\"image\":1,\"lease\":\"5\",\"width\":1,\"height\":1,\"composition\":\"x\"}"));
            QCOMPARE(raw.next(QStringLiteral("ack")).value(QStringLiteral("code")).toString(), QStringLiteral("malformed"));
            QVERIFY(raw.waitClosed());
        }
        QCOMPARE(worker->wait(240000), 0);
        const StudyView view{db};
        QCOMPARE(view.inState(2), qint64(m_count));
        QCOMPARE(serve.terminate(), 0);
    }

    void modelThatIsNotTheStudysIsRefused()
    {
        const QString db = makeStudy(QStringLiteral("model.db"));
        QVERIFY(!db.isEmpty());
        // A copy of the model with one byte of its weights changed.
        const QString copy = path(QStringLiteral("damaged-model"));
        QVERIFY(QDir().mkpath(copy));
        for (const QString &f : QDir(modelDir()).entryList(QDir::Files)) {
            QVERIFY(QFile::copy(modelDir() + QLatin1Char('/') + f, copy + QLatin1Char('/') + f));
            QFile::setPermissions(copy + QLatin1Char('/') + f, QFile::ReadOwner | QFile::WriteOwner);
        }
        QFile weights(copy + QStringLiteral("/model.pt"));
        QVERIFY(weights.open(QIODevice::ReadWrite));
        weights.seek(weights.size() / 2);
        const char c = weights.peek(1).at(0);
        weights.write(QByteArray(1, static_cast<char>(c ^ 0x5a)));
        weights.close();

        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve.log"))), qPrintable(serve.log()));
        auto agent = startAgent(serve, QStringLiteral("damaged"), {QStringLiteral("--model"), copy});
        QCOMPARE(agent->wait(120000), 2);
        QVERIFY(agent->err().contains(QStringLiteral("is not the study's")));
        const StudyView view{db};
        QCOMPARE(view.resultRows(), qint64(0));
        // The same agent with the study's model fetched from the coordinator works.
        auto good = startAgent(serve, QStringLiteral("fetched"));
        QCOMPARE(good->wait(240000), 0);
        QCOMPARE(view.resultRows(), qint64(m_count));
    }
    // An agent forced to another precision (bf16 instead of the study's fp32) gives other
    // labels on the study's check images and is refused before it leases anything; an
    // agent that reproduces them works. The model is a random-init PSPNet-50 (bf16 runs
    // on the CPU for it; measured agreement 99.6%, the study asks for 99.99%).
    void checkImagesRefuseAnAgentOfAnotherPrecision()
    {
        const QString card = path(QStringLiteral("psp-random"));
        QVERIFY(SegScale::Testing::writeRandomPspCard(card));
        const QString db = path(QStringLiteral("checks.db"));
        QCOMPARE(runCli(cli(), {QStringLiteral("study"), QStringLiteral("create"), db, QStringLiteral("--model"), card}, 60000).code, 0);
        // Six images: a PSPNet-50 on this machine's CPU is slow even at base size 64.
        const QString few = path(QStringLiteral("few"));
        QVERIFY(QDir().mkpath(few));
        for (int i = 0; i < 6; ++i)
            QVERIFY(QFile::copy(QStringLiteral("%1/p%2.jpg").arg(m_images).arg(i, 2, 10, QLatin1Char('0')), QStringLiteral("%1/%2.jpg").arg(few).arg(i)));
        QCOMPARE(runCli(cli(), {QStringLiteral("study"), QStringLiteral("add"), db, few}, 60000).code, 0);
        const auto recorded = runCli(cli(), {QStringLiteral("study"), QStringLiteral("checks"), db, QStringLiteral("--count"), QStringLiteral("2"),
                                             QStringLiteral("--min-agreement"), QStringLiteral("0.9999")},
                                     120000);
        QVERIFY2(recorded.code == 0, qPrintable(recorded.err));
        const StudyView view{db};
        QCOMPARE(view.count(QStringLiteral("SELECT COUNT(*) FROM check_images")), qint64(2));

        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve-checks.log"))), qPrintable(serve.log()));
        auto forced = startAgent(serve, QStringLiteral("bf16-agent"), {QStringLiteral("--precision"), QStringLiteral("bf16")});
        QCOMPARE(forced->wait(120000), 2);
        const QString why = forced->err();
        QVERIFY2(why.contains(QStringLiteral("of its pixels have the study's labels")), qPrintable(why));
        QCOMPARE(view.inState(1), qint64(0));  // it never leased anything
        QCOMPARE(view.resultRows(), qint64(0));
        QTRY_VERIFY_WITH_TIMEOUT(serve.log().contains(QStringLiteral("agent bf16-agent refused: the check images differ")), 10000);

        auto faithful = startAgent(serve, QStringLiteral("fp32-agent"));
        // Once it works, the coordinator dies and comes back: the agent, which passed the
        // check in this process, says so to the new coordinator and finishes.
        QVERIFY(waitUntil([&] { return view.resultRows() >= 1; }, 120000));
        QVERIFY(serve.log().contains(QStringLiteral("agent fp32-agent reproduced the check images")));
        const int port = serve.port();
        serve.kill9();
        Serve again;
        QVERIFY2(again.start(serveArgs(db), path(QStringLiteral("serve-checks-2.log")), port), qPrintable(again.log()));
        QCOMPARE(faithful->wait(300000), 0);
        QVERIFY(again.log().contains(QStringLiteral("agent fp32-agent reproduced the check images")));
        QCOMPARE(view.inState(2), qint64(6));
    }

    // serve starts its own agents (--launch-local) and knows their states; an admin
    // client launches one more through the same path and sees it in "launched".
    void serveLaunchesAgentsAndAdminSeesThem()
    {
        const QString db = makeStudy(QStringLiteral("launch.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db) + QStringList{QStringLiteral("--launch-local"), QStringLiteral("2"), QStringLiteral("--agent-arg=--threads"),
                                                         QStringLiteral("--agent-arg=1"), QStringLiteral("--agent-arg=--model-cache"),
                                                         QStringLiteral("--agent-arg=") + path(QStringLiteral("cache"))},
                             path(QStringLiteral("serve-launch.log"))),
                 qPrintable(serve.log()));
        const StudyView view{db};
        QVERIFY2(waitUntil([&] { return view.inState(2) == m_count; }, 240000), qPrintable(serve.log()));

        RawClient admin;
        QVERIFY(admin.open(serve.url()));
        admin.send(hello(QStringLiteral("admin"), m_adminToken));
        QCOMPARE(admin.next(QStringLiteral("welcome")).value(QStringLiteral("role")).toString(), QStringLiteral("admin"));
        const auto launchedStates = [&] {
            admin.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("launched")}});
            return admin.next(QStringLiteral("launched")).value(QStringLiteral("agents")).toArray();
        };
        QTRY_VERIFY_WITH_TIMEOUT(([&] {
                                     const QJsonArray agents = launchedStates();
                                     if (agents.size() != 2)
                                         return false;
                                     for (const QJsonValue &a : agents)
                                         if (a[QStringLiteral("state")].toString() != QLatin1StringView("exited") || a[QStringLiteral("exit_code")].toInt() != 0)
                                             return false;
                                     return true;
                                 }()),
                                 30000);
        admin.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("launch")}, {QStringLiteral("kind"), QStringLiteral("local")},
                               {QStringLiteral("count"), 1}, {QStringLiteral("name_prefix"), QStringLiteral("late")},
                               {QStringLiteral("args"), QJsonArray{QStringLiteral("--model-cache"), path(QStringLiteral("cache"))}},
                               {QStringLiteral("id"), 9}});
        const QJsonObject launched = admin.next(QStringLiteral("launched"));
        QCOMPARE(launched.value(QStringLiteral("id")).toInt(), 9);
        QCOMPARE(launched.value(QStringLiteral("ids")).toArray().size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(([&] {
                                     const QJsonArray agents = launchedStates();
                                     return agents.size() == 3 && agents.at(2)[QStringLiteral("state")].toString() == QLatin1StringView("exited");
                                 }()),
                                 60000);
        QVERIFY(serve.log().contains(QStringLiteral("agent late-0 joined")));
        admin.send(QJsonObject{{QStringLiteral("type"), QStringLiteral("launch")}, {QStringLiteral("kind"), QStringLiteral("teleport")}, {QStringLiteral("count"), 1}});
        QCOMPARE(admin.next(QStringLiteral("launched")).value(QStringLiteral("type")).toString(), QStringLiteral("error"));
        QCOMPARE(serve.terminate(), 0);
    }

    // wss://: serve with a self-signed certificate; an agent that trusts it (--ca-cert)
    // works, one that does not is refused by TLS and gets nothing.
    void tlsWithASelfSignedCertificate()
    {
        const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
        if (openssl.isEmpty())
            QSKIP("openssl is not installed (it makes the test certificate)");
        const QString cert = path(QStringLiteral("cert.pem")), key = path(QStringLiteral("key.pem"));
        const auto made = runCli(openssl, {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                                           QStringLiteral("-nodes"), QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert,
                                           QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                                           QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1")},
                                 60000);
        QVERIFY2(made.code == 0, qPrintable(made.err));
        const QString db = makeStudy(QStringLiteral("tls.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db) + QStringList{QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"), key},
                             path(QStringLiteral("serve-tls.log"))),
                 qPrintable(serve.log()));
        QVERIFY(serve.log().contains(QStringLiteral("on wss://127.0.0.1:")));
        const QString url = QStringLiteral("wss://127.0.0.1:%1").arg(serve.port());
        AgentProcess untrusting;
        untrusting.process->start(cli(), {QStringLiteral("agent"), QStringLiteral("--connect"), url, QStringLiteral("--token-file"),
                                          path(QStringLiteral("agent.token")), QStringLiteral("--name"), QStringLiteral("untrusting")});
        // It keeps retrying (the certificate may be fixed); it never gets a lease.
        QThread::msleep(3000);
        const StudyView view{db};
        QCOMPARE(view.inState(1) + view.inState(2), qint64(0));
        untrusting.process->kill();
        untrusting.process->waitForFinished(5000);
        QVERIFY(untrusting.err().contains(QStringLiteral("TLS")));
        AgentProcess trusting;
        trusting.process->start(cli(), {QStringLiteral("agent"), QStringLiteral("--connect"), url, QStringLiteral("--token-file"),
                                        path(QStringLiteral("agent.token")), QStringLiteral("--name"), QStringLiteral("trusting"),
                                        QStringLiteral("--ca-cert"), cert, QStringLiteral("--threads"), QStringLiteral("1"),
                                        QStringLiteral("--model-cache"), path(QStringLiteral("cache"))});
        QCOMPARE(trusting.wait(240000), 0);
        QCOMPARE(view.inState(2), qint64(m_count));
    }

    // SIGTERM on serve: every agent drains (finishes what is in flight, hands back the
    // rest without costing an attempt) and exits 0, then serve exits 0; nothing stays leased.
    void sigtermDrainsAgentsThenExits()
    {
        const QString db = makeStudy(QStringLiteral("drain.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve-drain.log"))), qPrintable(serve.log()));
        const StudyView view{db};
        auto a = startAgent(serve, QStringLiteral("drain-a"), {QStringLiteral("--prefetch"), QStringLiteral("6")});
        auto b = startAgent(serve, QStringLiteral("drain-b"), {QStringLiteral("--prefetch"), QStringLiteral("6")});
        QVERIFY(waitUntil([&] { return view.resultRows() >= 3; }, 120000));
        QCOMPARE(serve.terminate(), 0);
        QCOMPARE(a->wait(60000), 0);
        QCOMPARE(b->wait(60000), 0);
        QVERIFY(a->err().contains(QStringLiteral("drained")));
        QCOMPARE(view.inState(1), qint64(0));
        QCOMPARE(view.inState(2) + view.inState(0), qint64(m_count));
        QVERIFY(view.inState(0) > 0);  // stopped early: work is left for later
        QCOMPARE(view.count(QStringLiteral("SELECT COUNT(*) FROM images WHERE attempts > 0")), qint64(0));
    }

    void twoCoordinatorsOnOnePostgresStudy()
    {
        if (const QString why = PostgresFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(why));
        PostgresFixture pg;
        QVERIFY2(pg.start(), qPrintable(pg.errorString()));
        const QString url = pg.createDatabase();
        QVERIFY(!url.isEmpty());
        const QString db = makeStudy(url);
        QVERIFY(!db.isEmpty());
        Serve first, second;
        QVERIFY2(first.start(serveArgs(db), path(QStringLiteral("serve-pg1.log"))), qPrintable(first.log()));
        QVERIFY2(second.start(serveArgs(db), path(QStringLiteral("serve-pg2.log"))), qPrintable(second.log()));
        std::vector<std::unique_ptr<AgentProcess>> agents;
        agents.push_back(startAgent(first, QStringLiteral("pg-a")));
        agents.push_back(startAgent(first, QStringLiteral("pg-b")));
        agents.push_back(startAgent(second, QStringLiteral("pg-c")));
        agents.push_back(startAgent(second, QStringLiteral("pg-d")));
        qint64 acknowledged = 0;
        static const QRegularExpression summary(QStringLiteral("no work left \\((\\d+) done"));
        for (auto &a : agents) {
            QCOMPARE(a->wait(300000), 0);
            const auto m = summary.match(a->err());
            QVERIFY(m.hasMatch());
            acknowledged += m.captured(1).toLongLong();
        }
        const StudyView view{db};
        QCOMPARE(view.resultRows(), qint64(m_count));
        QCOMPARE(view.inState(2), qint64(m_count));
        QCOMPARE(view.count(QStringLiteral("SELECT COUNT(DISTINCT image_id) FROM results")), qint64(m_count));
        QCOMPARE(acknowledged, qint64(m_count));  // no image was done twice, on either coordinator
        // Both coordinators handed out work.
        QVERIFY(first.log().contains(QStringLiteral("agent pg-a joined")) && second.log().contains(QStringLiteral("agent pg-c joined")));
        QVERIFY(view.count(QStringLiteral("SELECT COUNT(*) FROM workers WHERE done_count > 0")) >= 2);
        QCOMPARE(first.terminate(), 0);
        QCOMPARE(second.terminate(), 0);
    }

    void slurmJobArrayOfAgentsFinishesAStudy()
    {
        if (const QString why = SlurmFixture::unavailableReason(); !why.isEmpty())
            QSKIP(qPrintable(why));
        SlurmFixture slurm;
        QVERIFY2(slurm.start(), qPrintable(slurm.errorString()));
        const QString db = makeStudy(QStringLiteral("slurm.db"));
        QVERIFY(!db.isEmpty());
        Serve serve;
        QVERIFY2(serve.start(serveArgs(db), path(QStringLiteral("serve-slurm.log"))), qPrintable(serve.log()));

        using namespace SegScale::Launch;
        LaunchSpec spec;
        spec.program = cli();
        spec.arguments = {QStringLiteral("agent"), QStringLiteral("--connect"), serve.url(), QStringLiteral("--token-file"),
                          path(QStringLiteral("agent.token")), QStringLiteral("--name"), QStringLiteral("{name}"), QStringLiteral("--threads"),
                          QStringLiteral("1"), QStringLiteral("--model-cache"), path(QStringLiteral("cache"))};
        spec.count = 2;
        spec.namePrefix = QStringLiteral("slurm-agent");
        spec.slurm.commandEnvironment = slurm.environment();
        spec.slurm.scriptDirectory = slurm.dir() + QStringLiteral("/jobs");
        spec.slurm.pollIntervalMs = 500;
        spec.slurm.cpusPerTask = 1;
        SlurmLauncher launcher;
        const auto ids = launcher.start(spec);
        QVERIFY2(ids.ok(), qPrintable(ids.ok() ? QString() : ids.error().toString()));
        QCOMPARE(ids->size(), 2);
        const auto finished = [&] {
            for (const QString &id : *ids)
                if (!launcher.agent(id).isFinished())
                    return false;
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(finished(), 300000);
        for (const QString &id : *ids) {
            const LaunchedAgent a = launcher.agent(id);
            QVERIFY2(a.state == LaunchedAgent::State::Exited && a.exitCode == 0,
                     qPrintable(stateName(a.state) + QLatin1Char(' ') + a.detail + QLatin1Char('\n') + slurm.logs()));
        }
        const StudyView view{db};
        QCOMPARE(view.inState(2), qint64(m_count));
        QCOMPARE(view.resultRows(), qint64(m_count));
        QVERIFY(serve.log().contains(QStringLiteral("agent slurm-agent-0 joined")));
        QVERIFY(serve.log().contains(QStringLiteral("agent slurm-agent-1 joined")));
    }
};

QTEST_GUILESS_MAIN(TestCluster)
#include "tst_cluster.moc"
