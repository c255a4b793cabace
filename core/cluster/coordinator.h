#pragma once
// Coordinator: owns one study's database and serves every client through one entry
// point, receive()/handle(). Agents say hello, lease images, renew leases with
// heartbeats and report results and failures; admin clients read progress, workers and
// pages of results and errors, retry failures and drain or stop agents. The lease
// policy lives here and nowhere else: batch sizes, the "wait / nothing left" decision,
// expiry sweeps and result batching (many results, one transaction).
//
// Threading: a Coordinator lives on one thread (CoordinatorThread gives it its own) and
// its JobStore connection is opened there. Every public method must be called on that
// thread; transports queue their calls with QMetaObject::invokeMethod. Peers are
// called back on the same thread.
//
// Durability: a result is acknowledged only after the transaction holding it committed,
// so an agent that keeps every unacknowledged result and resends it after a reconnect
// loses nothing when the coordinator dies. Several coordinators may serve one
// PostgreSQL study at once: leases are taken with FOR UPDATE SKIP LOCKED.
//
// Links jobs (and base) only: no pipeline, no LibTorch.

#include "base/result.h"
#include "cluster/launchcontrol.h"
#include "cluster/peer.h"
#include "cluster/protocol.h"
#include "jobs/jobtypes.h"
#include "jobs/studystatistics.h"
#include "jobs/studysettings.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <memory>

namespace SegScale::Jobs {
class JobStore;
struct Completion;
struct Failure;
}

namespace SegScale::Cluster {

class ResultsService;

struct CoordinatorOptions {
    QString database;          // SQLite file or postgresql:// URL
    QByteArray agentToken;     // a network hello must present one of these; in-process
    QByteArray adminToken;     // sessions are trusted and need none
    int leaseSeconds = 300;    // a lease lasts this long without a heartbeat
    int maxAttempts = 3;       // lost workers and retryable failures before "failed"
    int flushMs = 10;          // results wait at most this long for their transaction...
    int flushBatch = 128;      // ...or until this many are queued
    int sweepMs = 5000;        // how often expired leases are returned
    int waitSeconds = 2;       // what "wait" tells an agent when nothing can be leased now
    QString outputs;           // where agents write label maps unless they have their own --out
};

class Coordinator final : public QObject {
    Q_OBJECT
public:
    explicit Coordinator(CoordinatorOptions options, QObject *parent = nullptr);
    ~Coordinator() override;

    // Opens the study (which must have settings) and starts the timers.
    Result<void> open();
    const Jobs::StudySettings &settings() const { return m_settings; }

    // A new connection. Trusted peers (in-process) skip the token check at hello.
    quint64 connectPeer(std::shared_ptr<Peer> peer, bool trusted);
    // A text frame from a peer: parsed and checked (Protocol::parse); a bad one closes
    // that connection and nothing else.
    void receive(quint64 session, const QByteArray &frame);
    // An already parsed message (the in-process transport); checked the same way.
    void handle(quint64 session, const QJsonObject &message);
    // The transport saw the connection end. Its leases stay until they expire or the
    // agent comes back, so a network blip costs nothing.
    void disconnectPeer(quint64 session);

    // Lets admin clients start and stop agents (local, SSH, Slurm) through launch control.
    void setLaunchControl(std::shared_ptr<LaunchControl> control) { m_launch = std::move(control); }

    // Tells every agent to finish what it holds and leave (serve's SIGTERM).
    void drainAll();
    int agentSessions() const;
    // Commits queued results now (also done on a timer); false on a database error.
    bool flush();

Q_SIGNALS:
    // Something a viewer shows changed (progress, workers); at most every 250 ms.
    void changed();
    void logged(const QString &line);

private:
    struct Session;
    struct Queued;

    void dispatch(Session &s, const QJsonObject &m);
    void hello(Session &s, const QJsonObject &m);
    void lease(Session &s, const QJsonObject &m);
    void heartbeat(Session &s, const QJsonObject &m);
    void result(Session &s, const QJsonObject &m);
    void failure(Session &s, const QJsonObject &m);
    void release(Session &s, const QList<qint64> &images);
    void modelChunk(Session &s, const QJsonObject &m);
    void checkImage(Session &s, const QJsonObject &m);
    void checkResult(Session &s, const QJsonObject &m);
    void admin(Session &s, const QJsonObject &m);
    // audit-sample, audit-mark, audit-marks, audit-summary (Jobs::AuditStore).
    void audit(Session &s, const QJsonObject &m);
    QJsonObject summary();
    QJsonArray workers();
    // Per-dataset counts, done in id ranges between other messages (see countStep).
    void datasetsRequest(Session &s, const QJsonObject &m);
    void startCount();
    void countStep();
    void answerCountWaiters(const QJsonObject &answer);
    QJsonObject datasetsReply() const;
    void throughputRequest(Session &s, const QJsonObject &m);
    void refuse(Session &s, const QString &code, const QString &message);
    void reply(Session &s, const QJsonObject &m, QJsonObject answer);
    void sweep();
    void tick();
    void log(const QString &line);
    // The agent session of that name, other than `except` (the one saying hello).
    Session *sessionNamed(const QString &name, quint64 except = 0);

    CoordinatorOptions m_options;
    std::unique_ptr<Jobs::JobStore> m_store;
    std::unique_ptr<ResultsService> m_results;  // the Results view's messages
    Jobs::StudySettings m_settings;
    QString m_modelPath;
    QList<Jobs::CheckImage> m_checks;
    QHash<QString, QString> m_refusedAgents;
    std::shared_ptr<LaunchControl> m_launch;  // name -> why (a failed check), for the workers list
    qint64 m_modelSize = 0;
    QHash<quint64, std::shared_ptr<Session>> m_sessions;
    quint64 m_nextSession = 1;
    std::vector<Queued> m_queue;
    QTimer m_flushTimer;
    QTimer m_sweepTimer;
    QTimer m_tickTimer;
    bool m_dirty = false;
    qint64 m_committed = 0;
    // Agents that left: name -> their last row and why they left (at most kMaxDeparted).
    static constexpr qsizetype kMaxDeparted = 256;
    QHash<QString, QJsonObject> m_departed;
    // The last per-dataset count (its time, what it cost) and the one under way: the
    // count reads every image, so it runs kCountChunk ids at a time and is reused while
    // younger than 20 times its cost (at least 2 s).
    static constexpr qint64 kCountChunk = 25000;
    QJsonArray m_datasets;
    qint64 m_datasetsAt = 0;
    qint64 m_datasetsCostMs = 0;
    bool m_counting = false;
    qint64 m_countNext = 0;
    qint64 m_countLast = 0;
    qint64 m_countCostNs = 0;
    QList<Jobs::StudyStatistics::DatasetCounts> m_countPartial;
    QList<std::pair<quint64, QJsonValue>> m_countWaiters;  // session, request id
    // The last throughput reply, for the same span and bucket, reused the same way.
    QJsonObject m_throughput;
    QString m_throughputKey;
    qint64 m_throughputAt = 0;
    qint64 m_throughputCostMs = 0;
};

} // namespace SegScale::Cluster
