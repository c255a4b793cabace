#pragma once
// Agent: pulls images from a coordinator through a CoordinatorClient, segments them with
// the study's model and settings, and reports each result; the same code whether the
// coordinator is in this process (`study run`) or across the network (`segscale agent`).
//
// - The model comes with the study: a local copy given with modelPath is used only if its
//   fingerprint is the study's; otherwise the weights are fetched from the coordinator in
//   chunks into modelCache/<fingerprint>/ and checked the same way. A mismatch refuses.
// - Leases are requested ahead (prefetch), so the network never waits for the next
//   image; held leases are renewed by heartbeats that also carry the agent's rates.
// - Every result is kept until the coordinator acknowledges it (after its commit). When
//   the connection drops, the engine keeps working, the agent reconnects with back-off
//   and sends the unacknowledged results again: a coordinator restart loses nothing.
// - drain: no new leases, unstarted images handed back, in-flight ones finished, then
//   bye. stop: in-flight images are dropped and handed back at once.
//
// Threading: lives on the thread that creates it (an event loop); the engine runs on a
// thread of its own and talks back through queued calls.

#include "base/result.h"
#include "cluster/coordinatorclient.h"
#include "jobs/jobtypes.h"
#include "jobs/studysettings.h"
#include "pipeline/runstats.h"
#include "pipeline/segmentoptions.h"
#include "storage/credentials.h"
#include "storage/storageoptions.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>

#include <memory>
#include <optional>
#include <thread>

namespace SegScale::Model {
class Network;
}
namespace SegScale::Pipeline {
class OutputWriter;
class StorageFetcher;
}

namespace SegScale::Agent {

class AcceleratorUsage;

struct AgentOptions {
    QString name;                 // unique per agent; a restart with the same name reclaims its leases
    QByteArray token;             // ignored by the in-process transport
    QString device = QStringLiteral("cpu");
    int threads = 0;              // LibTorch threads; 0 = all cores
    std::optional<Pipeline::Precision> precision;  // forces a precision other than the study's
    int prefetch = 0;             // leased images held ahead of the engine; 0 = automatic
    QString modelPath;            // a local model folder (must match the study's fingerprint)
    QString modelCache;           // where fetched models are kept
    QString out;                  // label maps; empty = what the coordinator says
    bool overlays = false;
    bool stay = false;            // keep waiting for work when the study is finished
    int reconnectMaxMs = 10000;   // back-off ceiling between reconnects
    Storage::Credentials credentials;
    Storage::StorageOptions storage;

    // In-process use (`study run`): the caller loaded the study's model (checked by
    // Study::RunPlanner), prepared the outputs and the storage connections; the agent
    // uses these instead of its own and shares them with other agents of the process.
    struct Prepared {
        std::shared_ptr<const Model::Network> network;
        Pipeline::SegmentOptions segment;
        const Pipeline::OutputWriter *writer = nullptr;
        Pipeline::StorageFetcher *fetcher = nullptr;
    };
    std::optional<Prepared> prepared;
};

struct AgentSummary {
    qint64 done = 0;       // acknowledged as done
    qint64 failed = 0;     // acknowledged as failed for good
    qint64 retrying = 0;   // failed with a retryable error: pending again, after a back-off
    qint64 stale = 0;      // refused: the lease had expired and the image went elsewhere
    int exitCode = 0;      // 0 finished/stopped, 2 refused (token, version, model), 1 other
    QString message;
    Pipeline::RunStats stats;  // the engine's, once it finished
};

class Agent final : public QObject {
    Q_OBJECT
public:
    Agent(AgentOptions options, std::unique_ptr<Cluster::CoordinatorClient> client, QObject *parent = nullptr);
    ~Agent() override;

    void start();
    void drain();  // finish what is in flight, take nothing new, leave
    void stop();   // leave now; in-flight images go back to the study
    const AgentSummary &summary() const { return m_summary; }

Q_SIGNALS:
    void progressed(qint64 done, qint64 failed);
    void logged(const QString &line);
    void finished(const SegScale::Agent::AgentSummary &summary);

private:
    class LeaseQueue;
    class Forwarder;
    struct Held {
        qint64 lease = 0;
        bool started = false;
    };

    void onOpened();
    void onMessage(const QJsonObject &m);
    void onClosed(const QString &reason);
    void onWelcome(const QJsonObject &m);
    Result<void> prepareModel();
    Result<void> prepareOutputs(const Model::ModelCard &card, const Pipeline::SegmentOptions &o);
    void startEngine(const Pipeline::SegmentOptions &o);
    void beginWork();
    void prepareAndBegin();
    void onCheckImage(const QJsonObject &m);
    void fetchModelChunk(qint64 offset);
    void askForWork();
    void onGrant(const QJsonObject &m);
    void onAck(const QJsonObject &m);
    void sendHeartbeat();
    void reportResult(qint64 image, QJsonObject message);
    void engineStarted(qint64 image);
    void engineFinished();
    void maybeFinish();
    void finish(int exitCode, const QString &message);
    void log(const QString &line);
    void reconnectLater();

    AgentOptions m_options;
    std::unique_ptr<Cluster::CoordinatorClient> m_client;
    Jobs::StudySettings m_settings;
    QString m_outputs;
    qint64 m_modelSize = 0;
    QString m_modelPartPath;
    Pipeline::SegmentOptions m_segment;
    int m_checkCount = 0;
    QList<Jobs::CheckImage> m_checks;
    double m_checkAgreement = -1;  // the worst agreement once the check images passed
    std::shared_ptr<const Model::Network> m_network;
    std::unique_ptr<Pipeline::StorageFetcher> m_ownFetcher;
    std::unique_ptr<Pipeline::OutputWriter> m_ownWriter;
    Pipeline::StorageFetcher *m_fetcher = nullptr;
    const Pipeline::OutputWriter *m_writer = nullptr;
    std::unique_ptr<LeaseQueue> m_queue;
    std::unique_ptr<Forwarder> m_forwarder;
    std::thread m_engineThread;
    std::atomic<bool> m_engineRunning{false};
    std::function<void(bool)> m_stopEngine;

    QHash<qint64, Held> m_held;                 // image -> lease, until acknowledged or handed back
    QHash<qint64, QJsonObject> m_unacked;       // results sent but not yet committed
    bool m_welcomed = false;
    bool m_everWelcomed = false;
    bool m_asking = false;                      // a lease request is out
    bool m_noMoreWork = false;
    bool m_draining = false;
    bool m_stopping = false;
    bool m_finished = false;
    bool m_refused = false;
    int m_backoffMs = 500;
    QTimer m_heartbeat;
    QTimer m_waitTimer;
    QTimer m_reconnect;
    QElapsedTimer m_clock;
    std::unique_ptr<AcceleratorUsage> m_accelerator;
    AgentSummary m_summary;
};

} // namespace SegScale::Agent
