#pragma once
// StudyRunner: the embedded coordinator plus local pipeline behind `segscale study run`.
// One coordinator thread owns the study database (its own JobStore connection): it hands
// out leases, extends them while images are in flight, returns expired leases of other
// workers, and commits results and failures in small batches. The engines pull their
// images through a lease-backed ImageSource and report through a sink that queues writes
// for the coordinator. An image counts as done only once its result is committed, so a
// kill -9 loses at most the images in flight, and a restart (same worker name) reclaims
// their leases at once and redoes them; nothing finished is ever recomputed.

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "model/network.h"
#include "pipeline/runstats.h"
#include "pipeline/segmentoptions.h"

#include <atomic>
#include <functional>
#include <memory>

namespace SegScale::Pipeline {
class OutputWriter;
class StorageFetcher;
}

namespace SegScale::Agent {

struct StudyRunOptions {
    QString database;
    QString workerName;          // stable across restarts, so a restart reclaims its leases
    int workers = 1;             // engines in this process (they share the network)
    int leaseSeconds = 300;
    int leaseBatch = 4;          // images per lease request
    int maxAttempts = 3;
    Pipeline::SegmentOptions segment;
};

struct StudyRunSummary {
    Pipeline::RunStats stats;  // summed over the engines
    qint64 committedDone = 0;
    qint64 committedFailed = 0;
    qint64 retrying = 0;       // failed with a retryable error, back to pending
    qint64 stale = 0;          // results refused because the lease was no longer ours
    Jobs::StudyProgress progressAtEnd;
};

struct StudyRunProgress {
    qint64 done = 0, failed = 0;  // committed by this run
    qint64 total = 0;             // images in the study
    qint64 doneBefore = 0;        // done when this run started
};

class StudyRunner {
public:
    StudyRunner(StudyRunOptions options, std::shared_ptr<const Model::Network> network,
                const Pipeline::OutputWriter *writer, Pipeline::StorageFetcher *fetcher);
    ~StudyRunner();

    Result<StudyRunSummary> run(const std::function<void(const StudyRunProgress &)> &progress = {});
    void cancel();  // finish the images in flight, lease no more
    void abort();   // stop now; in-flight images stay leased and are redone later

private:
    struct Coordinator;
    class LeaseSource;
    class ResultQueue;

    StudyRunOptions m_options;
    std::shared_ptr<const Model::Network> m_network;
    const Pipeline::OutputWriter *m_writer;
    Pipeline::StorageFetcher *m_fetcher;
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_abort{false};
    std::mutex m_enginesMutex;
    std::vector<std::function<void(bool abort)>> m_stoppers;
};

} // namespace SegScale::Agent
