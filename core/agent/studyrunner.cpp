#include "agent/studyrunner.h"

#include "jobs/jobstore.h"
#include "pipeline/engine.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/storagefetcher.h"

#include <QFileInfo>
#include <QJsonObject>
#include <QSysInfo>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <thread>

namespace SegScale::Agent {

using namespace std::chrono_literals;

// The coordinator thread: the only user of its JobStore connection. Everything else
// talks to it through this struct's queues.
struct StudyRunner::Coordinator {
    struct LeaseRequest {
        int count = 0;
        std::promise<Result<QList<Jobs::LeasedImage>>> reply;
    };
    struct Remaining {
        qint64 pending = 0;
        qint64 leased = 0;
    };

    const StudyRunOptions &options;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<LeaseRequest> leaseRequests;
    std::deque<std::promise<Result<Remaining>>> remainingRequests;
    std::deque<std::pair<QString, std::promise<Result<qint64>>>> releaseRequests;
    QList<Jobs::Completion> completions;
    QList<Jobs::Failure> failures;
    std::map<qint64, qint64> ownLeases;  // image id -> lease id, for images we hold
    bool stopping = false;
    std::optional<Error> fatal;
    StudyRunSummary summary;
    std::function<void(const StudyRunProgress &)> progress;
    StudyRunProgress counts;
    std::thread thread;

    explicit Coordinator(const StudyRunOptions &o) : options(o) {}

    void start() { thread = std::thread([this] { loop(); }); }
    void stop()
    {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        if (thread.joinable())
            thread.join();
    }

    Result<QList<Jobs::LeasedImage>> lease(int n)
    {
        LeaseRequest request;
        request.count = n;
        auto future = request.reply.get_future();
        {
            std::lock_guard lock(mutex);
            if (stopping)
                return QList<Jobs::LeasedImage>{};
            leaseRequests.push_back(std::move(request));
        }
        wake.notify_all();
        return future.get();
    }

    Result<Remaining> remaining()
    {
        std::promise<Result<Remaining>> p;
        auto future = p.get_future();
        {
            std::lock_guard lock(mutex);
            if (stopping)
                return Remaining{};
            remainingRequests.push_back(std::move(p));
        }
        wake.notify_all();
        return future.get();
    }

    void complete(qint64 imageId, Jobs::ImageResult result)
    {
        std::lock_guard lock(mutex);
        const auto it = ownLeases.find(imageId);
        completions.append(Jobs::Completion{imageId, it == ownLeases.end() ? -1 : it->second, std::move(result)});
        wake.notify_all();
    }

    void fail(qint64 imageId, Error error)
    {
        std::lock_guard lock(mutex);
        const auto it = ownLeases.find(imageId);
        failures.append(Jobs::Failure{imageId, it == ownLeases.end() ? -1 : it->second, std::move(error)});
        wake.notify_all();
    }

    qint64 inFlight()
    {
        std::lock_guard lock(mutex);
        return static_cast<qint64>(ownLeases.size());
    }

private:
    void loop()
    {
        auto opened = Jobs::JobStore::open(options.database);
        if (!opened) {
            failAll(opened.error());
            return;
        }
        std::unique_ptr<Jobs::JobStore> store = std::move(opened).value();
        Jobs::JobStore::Options storeOptions;
        storeOptions.maxAttempts = options.maxAttempts;
        store->setOptions(storeOptions);
        auto lastHeartbeat = std::chrono::steady_clock::now();
        auto lastExpiry = std::chrono::steady_clock::time_point{};
        auto lastFlush = std::chrono::steady_clock::now();
        while (true) {
            std::unique_lock lock(mutex);
            wake.wait_for(lock, 200ms, [&] {
                return stopping || !leaseRequests.empty() || !remainingRequests.empty() || completions.size() + failures.size() >= 16;
            });
            const bool stopNow = stopping;
            auto requests = std::move(leaseRequests);
            leaseRequests.clear();
            auto remainingAsks = std::move(remainingRequests);
            remainingRequests.clear();
            QList<Jobs::Completion> done;
            QList<Jobs::Failure> failed;
            const auto now = std::chrono::steady_clock::now();
            // Results are committed in small batches (one transaction each), at least every
            // 200 ms: the latency between an image finishing and it counting as done.
            if (stopNow || now - lastFlush >= 200ms || completions.size() + failures.size() >= 16) {
                done = std::move(completions);
                completions.clear();
                failed = std::move(failures);
                failures.clear();
                lastFlush = now;
            }
            lock.unlock();

            flush(*store, done, failed);
            for (auto &r : requests) {
                auto leased = store->lease(options.workerName, r.count, options.leaseSeconds);
                if (leased) {
                    std::lock_guard l(mutex);
                    for (const auto &img : *leased)
                        ownLeases[img.imageId] = img.leaseId;
                }
                r.reply.set_value(std::move(leased));
            }
            for (auto &r : remainingAsks) {
                auto pending = store->imageCount(Jobs::ImageState::Pending);
                auto leased = store->imageCount(Jobs::ImageState::Leased);
                if (!pending)
                    r.set_value(pending.error());
                else if (!leased)
                    r.set_value(leased.error());
                else
                    r.set_value(Remaining{*pending, *leased});
            }
            if (now - lastHeartbeat >= std::chrono::seconds(std::max(1, options.leaseSeconds / 3))) {
                (void)store->heartbeat(options.workerName, {}, options.leaseSeconds);
                lastHeartbeat = now;
            }
            if (now - lastExpiry >= 30s) {
                (void)store->expireLeases();  // other workers that died
                lastExpiry = now;
            }
            if (stopNow) {
                // Images leased but never started go back without costing an attempt.
                QList<qint64> unstarted;
                {
                    std::lock_guard l(mutex);
                    for (const auto &[id, leaseId] : ownLeases)
                        unstarted << id;
                }
                if (!unstarted.isEmpty())
                    (void)store->releaseLeases(options.workerName, unstarted);
                auto p = store->progress();
                if (p)
                    summary.progressAtEnd = *p;
                return;
            }
        }
    }

    void flush(Jobs::JobStore &store, const QList<Jobs::Completion> &done, const QList<Jobs::Failure> &failed)
    {
        if (done.isEmpty() && failed.isEmpty())
            return;
        auto doneOutcomes = done.isEmpty() ? Result<QList<Jobs::WriteOutcome>>(QList<Jobs::WriteOutcome>{}) : store.completeMany(done);
        auto failOutcomes = failed.isEmpty() ? Result<QList<Jobs::WriteOutcome>>(QList<Jobs::WriteOutcome>{}) : store.failMany(failed);
        std::lock_guard lock(mutex);
        for (const auto *outcomes : {&doneOutcomes, &failOutcomes}) {
            if (!*outcomes) {
                fatal = outcomes->error();
                continue;
            }
            for (auto o : outcomes->value()) {
                switch (o) {
                case Jobs::WriteOutcome::Done: ++summary.committedDone; break;
                case Jobs::WriteOutcome::Failed: ++summary.committedFailed; break;
                case Jobs::WriteOutcome::Retry: ++summary.retrying; break;
                case Jobs::WriteOutcome::Stale:
                case Jobs::WriteOutcome::Rejected: ++summary.stale; break;
                }
            }
        }
        if (doneOutcomes && failOutcomes) {
            for (const auto &c : done)
                ownLeases.erase(c.imageId);
            for (const auto &f : failed)
                ownLeases.erase(f.imageId);
        }
        counts.done = summary.committedDone;
        counts.failed = summary.committedFailed;
        if (progress)
            progress(counts);
    }

    void failAll(const Error &error)
    {
        std::unique_lock lock(mutex);
        fatal = error;
        stopping = true;
        for (auto &r : leaseRequests)
            r.reply.set_value(error);
        leaseRequests.clear();
        for (auto &r : remainingRequests)
            r.set_value(error);
        remainingRequests.clear();
    }
};

// Pulls images for one engine: leases a few at a time; when none is available it waits
// for retries that are backing off and for images other workers hold, and ends only when
// nothing is pending and nothing but our own in-flight images is leased.
class StudyRunner::LeaseSource final : public Pipeline::ImageSource {
public:
    LeaseSource(StudyRunner &runner, Coordinator &coordinator) : m_runner(runner), m_coordinator(coordinator) {}

    std::optional<Pipeline::ImageTask> next() override
    {
        while (!m_runner.m_cancel) {
            if (!m_buffer.empty()) {
                Jobs::LeasedImage img = m_buffer.front();
                m_buffer.pop_front();
                return toTask(img);
            }
            auto leased = m_coordinator.lease(m_runner.m_options.leaseBatch);
            if (!leased) {
                m_error = leased.error();
                return std::nullopt;
            }
            if (!leased->isEmpty()) {
                for (const auto &img : *leased)
                    m_buffer.push_back(img);
                continue;
            }
            auto left = m_coordinator.remaining();
            if (!left) {
                m_error = left.error();
                return std::nullopt;
            }
            if (left->pending == 0 && left->leased <= m_coordinator.inFlight())
                return std::nullopt;  // everything is done, failed, or in our own hands
            std::this_thread::sleep_for(500ms);
        }
        return std::nullopt;
    }
    const std::optional<Error> &error() const { return m_error; }

private:
    Pipeline::ImageTask toTask(const Jobs::LeasedImage &img) const
    {
        Pipeline::ImageTask task;
        task.id = img.imageId;
        task.name = Pipeline::StorageFetcher::location(img.storageUrl, img.location());
        // labels/<dataset id>/<path in the dataset, extension kept>.png: unique per image,
        // since two datasets may hold the same relative path and one folder may hold
        // photo.jpg beside photo.png. The result row records where it went.
        task.outputStem = QString::number(img.datasetId) + QLatin1Char('/') + img.path;
        Pipeline::StorageFetcher *fetcher = m_runner.m_fetcher;
        const Pipeline::DecodeOptions limits;
        task.fetch = [fetcher, location = task.name, limits]() -> Result<QByteArray> {
            if (fetcher)
                return fetcher->fetch(location, limits);
            return Pipeline::ImageDecoder::readFile(location, limits);
        };
        return task;
    }

    StudyRunner &m_runner;
    Coordinator &m_coordinator;
    std::deque<Jobs::LeasedImage> m_buffer;
    std::optional<Error> m_error;
};

// Turns engine results into database writes queued for the coordinator.
class StudyRunner::ResultQueue final : public Pipeline::ResultSink {
public:
    ResultQueue(Coordinator &coordinator, QByteArray fingerprint) : m_coordinator(coordinator), m_fingerprint(std::move(fingerprint)) {}

    void imageDone(const Pipeline::ImageResult &r) override
    {
        Jobs::ImageResult result;
        result.width = r.width;
        result.height = r.height;
        result.composition.assign(r.composition.begin(), r.composition.end());
        result.labelPath = r.labelPath;
        result.overlayPath = r.overlayPath;
        result.modelFingerprint = m_fingerprint;
        const auto ms = [](double s) { return qRound64(s * 1000.0); };
        result.timings = QJsonObject{{QStringLiteral("fetch"), ms(r.times.fetch)},
                                     {QStringLiteral("decode"), ms(r.times.decode)},
                                     {QStringLiteral("preprocess"), ms(r.times.preprocess)},
                                     {QStringLiteral("network"), ms(r.times.network)},
                                     {QStringLiteral("combine"), ms(r.times.combine)},
                                     {QStringLiteral("report"), ms(r.times.report)}};
        m_coordinator.complete(r.task.id, std::move(result));
    }
    void imageFailed(const Pipeline::ImageTask &task, const Error &error) override { m_coordinator.fail(task.id, error); }

private:
    Coordinator &m_coordinator;
    QByteArray m_fingerprint;
};

StudyRunner::StudyRunner(StudyRunOptions options, std::shared_ptr<const Model::Network> network,
                         const Pipeline::OutputWriter *writer, Pipeline::StorageFetcher *fetcher)
    : m_options(std::move(options)), m_network(std::move(network)), m_writer(writer), m_fetcher(fetcher)
{
}

StudyRunner::~StudyRunner() = default;

void StudyRunner::cancel()
{
    m_cancel = true;
    std::lock_guard lock(m_enginesMutex);
    for (auto &stop : m_stoppers)
        stop(false);
}

void StudyRunner::abort()
{
    m_cancel = true;
    m_abort = true;
    std::lock_guard lock(m_enginesMutex);
    for (auto &stop : m_stoppers)
        stop(true);
}

Result<StudyRunSummary> StudyRunner::run(const std::function<void(const StudyRunProgress &)> &progress)
{
    // Setup on this thread with a connection of its own: settings and stale leases.
    QByteArray fingerprint;
    {
        auto store = Jobs::JobStore::open(m_options.database);
        if (!store)
            return store.error();
        auto settings = (*store)->settings();
        if (!settings)
            return settings.error();
        if (!*settings)
            return Error{ErrorCategory::Usage, QStringLiteral("%1 has no settings: create it with `segscale study create`").arg(m_options.database)};
        fingerprint = (*settings)->modelFingerprint;
        Jobs::JobStore::Options storeOptions;
        storeOptions.maxAttempts = m_options.maxAttempts;
        (*store)->setOptions(storeOptions);
        // A worker of this name that died (kill -9, power cut) left leases behind: they
        // are dead now, so its images are redone at once instead of after the expiry.
        auto reclaimed = (*store)->expireLeases(m_options.workerName);
        if (!reclaimed)
            return reclaimed.error();
        auto progressNow = (*store)->progress();
        if (!progressNow)
            return progressNow.error();
        (void)(*store)->registerWorker(m_options.workerName, QSysInfo::machineHostName(), m_options.segment.device);
    }

    Coordinator coordinator(m_options);
    coordinator.progress = progress;
    coordinator.start();

    const int engines = std::max(1, m_options.workers);
    std::vector<std::unique_ptr<Pipeline::Engine>> running;
    std::vector<std::unique_ptr<LeaseSource>> sources;
    std::vector<Pipeline::RunStats> stats(static_cast<size_t>(engines));
    ResultQueue sink(coordinator, fingerprint);
    std::mutex sinkMutex;  // the engines' report threads share one queue object
    struct LockedSink final : Pipeline::ResultSink {
        Pipeline::ResultSink &inner;
        std::mutex &m;
        LockedSink(Pipeline::ResultSink &i, std::mutex &mm) : inner(i), m(mm) {}
        void imageDone(const Pipeline::ImageResult &r) override
        {
            std::lock_guard l(m);
            inner.imageDone(r);
        }
        void imageFailed(const Pipeline::ImageTask &t, const Error &e) override
        {
            std::lock_guard l(m);
            inner.imageFailed(t, e);
        }
    } lockedSink(sink, sinkMutex);
    {
        std::lock_guard lock(m_enginesMutex);
        for (int i = 0; i < engines; ++i) {
            running.push_back(std::make_unique<Pipeline::Engine>(m_network, m_options.segment, m_writer));
            sources.push_back(std::make_unique<LeaseSource>(*this, coordinator));
            Pipeline::Engine *e = running.back().get();
            m_stoppers.push_back([e](bool hard) {
                if (hard)
                    e->abort();
                else
                    e->cancel();
            });
            if (m_abort)
                e->abort();
            else if (m_cancel)
                e->cancel();
        }
    }
    std::vector<std::thread> threads;
    for (int i = 1; i < engines; ++i)
        threads.emplace_back([&, i] { stats[static_cast<size_t>(i)] = running[static_cast<size_t>(i)]->run(*sources[static_cast<size_t>(i)], lockedSink); });
    stats[0] = running[0]->run(*sources[0], lockedSink);
    for (auto &t : threads)
        t.join();
    {
        std::lock_guard lock(m_enginesMutex);
        m_stoppers.clear();
    }
    coordinator.stop();

    StudyRunSummary summary = coordinator.summary;
    summary.stats = stats[0];
    for (size_t i = 1; i < stats.size(); ++i) {
        summary.stats.imagesDone += stats[i].imagesDone;
        summary.stats.imagesFailed += stats[i].imagesFailed;
        summary.stats.forwardSeconds += stats[i].forwardSeconds;
        summary.stats.forwardCalls += stats[i].forwardCalls;
        summary.stats.windows += stats[i].windows;
        for (const auto &[k, v] : stats[i].stageBusySeconds)
            summary.stats.stageBusySeconds[k] += v;
    }
    if (coordinator.fatal)
        return *coordinator.fatal;
    for (const auto &s : sources)
        if (s->error())
            return *s->error();
    return summary;
}

} // namespace SegScale::Agent
