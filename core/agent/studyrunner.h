#pragma once
// StudyRunner: `segscale study run` — an embedded Coordinator (on its own thread, owning
// the study database) and local Agents talking to it over the in-process transport.
// They are the same classes that `segscale serve` and `segscale agent` run across
// machines, so the lease policy, result batching and acknowledgement, expiry and
// retries are exactly the cluster's. An image counts as done once its result is
// committed; a kill -9 loses at most the images in flight, and a restart (same worker
// name) reclaims their leases at once and redoes them.

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "model/network.h"
#include "pipeline/runstats.h"
#include "pipeline/segmentoptions.h"

#include <QPointer>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace SegScale::Pipeline {
class OutputWriter;
class StorageFetcher;
}

namespace SegScale::Agent {

class Agent;

struct StudyRunOptions {
    QString database;
    QString workerName;          // stable across restarts, so a restart reclaims its leases
    int workers = 1;             // agents in this process (they share the network)
    int leaseSeconds = 300;
    int leaseBatch = 4;          // images each agent leases ahead of its engine
    int maxAttempts = 3;
    Pipeline::SegmentOptions segment;
};

struct StudyRunSummary {
    Pipeline::RunStats stats;  // summed over the agents' engines
    qint64 committedDone = 0;
    qint64 committedFailed = 0;
    qint64 retrying = 0;       // failed with a retryable error, back to pending
    qint64 stale = 0;          // results refused because the lease was no longer ours
    Jobs::StudyProgress progressAtEnd;
};

struct StudyRunProgress {
    qint64 done = 0, failed = 0;  // committed by this run
};

class StudyRunner {
public:
    StudyRunner(StudyRunOptions options, std::shared_ptr<const Model::Network> network,
                const Pipeline::OutputWriter *writer, Pipeline::StorageFetcher *fetcher);
    ~StudyRunner();

    // Runs an event loop on the calling thread until every agent finished.
    Result<StudyRunSummary> run(const std::function<void(const StudyRunProgress &)> &progress = {});
    // Thread-safe (a signal watcher calls them).
    void cancel();  // drain: finish the images in flight, lease no more
    void abort();   // stop now; in-flight images go back to the study

private:
    void forEachAgent(void (Agent::*action)());

    StudyRunOptions m_options;
    std::shared_ptr<const Model::Network> m_network;
    const Pipeline::OutputWriter *m_writer;
    Pipeline::StorageFetcher *m_fetcher;
    std::mutex m_mutex;
    std::vector<QPointer<Agent>> m_agents;
    std::atomic<int> m_requested{0};  // 1 cancel, 2 abort (before the agents exist)
};

} // namespace SegScale::Agent
