#include "agent/studyrunner.h"

#include "agent/agent.h"
#include "cluster/coordinatorthread.h"
#include "cluster/inprocessclient.h"
#include "jobs/jobstore.h"

#include <QEventLoop>

namespace SegScale::Agent {

StudyRunner::StudyRunner(StudyRunOptions options, std::shared_ptr<const Model::Network> network,
                         const Pipeline::OutputWriter *writer, Pipeline::StorageFetcher *fetcher)
    : m_options(std::move(options)), m_network(std::move(network)), m_writer(writer), m_fetcher(fetcher)
{
}

StudyRunner::~StudyRunner() = default;

void StudyRunner::forEachAgent(void (Agent::*action)())
{
    std::lock_guard lock(m_mutex);
    for (const QPointer<Agent> &a : m_agents)
        if (a)
            QMetaObject::invokeMethod(a.data(), [a, action] { if (a) (a.data()->*action)(); }, Qt::QueuedConnection);
}

void StudyRunner::cancel()
{
    m_requested = std::max(m_requested.load(), 1);
    forEachAgent(&Agent::drain);
}

void StudyRunner::abort()
{
    m_requested = 2;
    forEachAgent(&Agent::stop);
}

Result<StudyRunSummary> StudyRunner::run(const std::function<void(const StudyRunProgress &)> &progress)
{
    Cluster::CoordinatorOptions coordinatorOptions;
    coordinatorOptions.database = m_options.database;
    coordinatorOptions.leaseSeconds = m_options.leaseSeconds;
    coordinatorOptions.maxAttempts = m_options.maxAttempts;
    Cluster::CoordinatorThread coordinator(coordinatorOptions);
    if (auto opened = coordinator.start(); !opened)
        return opened.error();

    const int count = std::max(1, m_options.workers);
    std::vector<std::unique_ptr<Agent>> agents;
    std::vector<AgentSummary> summaries(static_cast<size_t>(count));
    std::vector<std::pair<qint64, qint64>> counts(static_cast<size_t>(count));
    int running = count;
    QEventLoop loop;
    for (int i = 0; i < count; ++i) {
        AgentOptions options;
        options.name = count == 1 ? m_options.workerName : QStringLiteral("%1-%2").arg(m_options.workerName).arg(i + 1);
        options.device = m_options.segment.device;
        options.threads = m_options.segment.threads;
        options.prefetch = m_options.leaseBatch;
        options.prepared = AgentOptions::Prepared{m_network, m_options.segment, m_writer, m_fetcher};
        auto agent = std::make_unique<Agent>(options, std::make_unique<Cluster::InProcessClient>(coordinator));
        QObject::connect(agent.get(), &Agent::progressed, &loop, [&, i](qint64 done, qint64 failed) {
            counts[static_cast<size_t>(i)] = {done, failed};
            StudyRunProgress p;
            for (const auto &[d, f] : counts) {
                p.done += d;
                p.failed += f;
            }
            if (progress)
                progress(p);
        });
        QObject::connect(agent.get(), &Agent::finished, &loop, [&, i](const AgentSummary &s) {
            summaries[static_cast<size_t>(i)] = s;
            if (--running == 0)
                loop.quit();
        });
        agents.push_back(std::move(agent));
    }
    {
        std::lock_guard lock(m_mutex);
        for (const auto &a : agents)
            m_agents.emplace_back(a.get());
    }
    for (const auto &a : agents)
        a->start();
    if (m_requested == 2)
        abort();
    else if (m_requested == 1)
        cancel();
    loop.exec();
    {
        std::lock_guard lock(m_mutex);
        m_agents.clear();
    }

    StudyRunSummary summary;
    std::optional<Error> failure;
    for (size_t i = 0; i < summaries.size(); ++i) {
        const AgentSummary &s = summaries[i];
        summary.committedDone += s.done;
        summary.committedFailed += s.failed;
        summary.retrying += s.retrying;
        summary.stale += s.stale;
        if (i == 0) {
            summary.stats = s.stats;
        } else {
            summary.stats.imagesDone += s.stats.imagesDone;
            summary.stats.imagesFailed += s.stats.imagesFailed;
            summary.stats.forwardSeconds += s.stats.forwardSeconds;
            summary.stats.forwardCalls += s.stats.forwardCalls;
            summary.stats.windows += s.stats.windows;
            summary.stats.wallSeconds = std::max(summary.stats.wallSeconds, s.stats.wallSeconds);
            for (const auto &[k, v] : s.stats.stageBusySeconds)
                summary.stats.stageBusySeconds[k] += v;
        }
        if (s.exitCode != 0 && !failure)
            failure = Error{s.exitCode == 2 ? ErrorCategory::Model : ErrorCategory::Internal, s.message};
    }
    agents.clear();
    if (failure)
        return *failure;
    auto store = Jobs::JobStore::open(m_options.database);
    if (!store)
        return store.error();
    auto end = (*store)->progress();
    if (!end)
        return end.error();
    summary.progressAtEnd = *end;
    return summary;
}

} // namespace SegScale::Agent
