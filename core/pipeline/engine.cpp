#include "pipeline/engine.h"

#include "pipeline/boundedqueue.h"
#include "pipeline/combiner.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/memorybudget.h"
#include "pipeline/outputwriter.h"
#include "pipeline/preprocessor.h"
#include "pipeline/tiling.h"
#include "pipeline/windowinference.h"
#include "procedure/devicecombiner.h"

#include <torch/torch.h>

#include <QElapsedTimer>
#include <QSemaphore>
#include <QThread>
#include <QThreadPool>

#include <opencv2/core/utility.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>
#include <numeric>

namespace SegScale::Pipeline {

namespace {

double secondsSince(const QElapsedTimer &t)
{
    return static_cast<double>(t.nsecsElapsed()) / 1e9;
}

// Turns any exception from LibTorch or OpenCV into a failure of this one image.
template <typename F>
auto guarded(const QString &name, F &&f) -> decltype(f())
{
    try {
        return f();
    } catch (const c10::Error &e) {
        return Error{ErrorCategory::Internal, QStringLiteral("%1: inference failed: %2").arg(name, QString::fromStdString(e.what_without_backtrace()))};
    } catch (const std::bad_alloc &) {
        return Error{ErrorCategory::TooLarge, QStringLiteral("%1: out of memory while segmenting").arg(name)};
    } catch (const std::exception &e) {
        return Error{ErrorCategory::Internal, QStringLiteral("%1: %2").arg(name, QString::fromUtf8(e.what()))};
    }
}

TilingParams tilingOf(const SegmentOptions &o)
{
    return TilingParams{toScaleVector(o.scales), o.baseSize, o.crop, o.strideRate};
}

DecodeOptions decodeOptionsOf(const SegmentOptions &o)
{
    DecodeOptions d;
    d.acceptDamaged = o.acceptDamaged;
    d.maxPixels = o.maxPixels;
    return d;
}

// Adds busy time to a named stage from any thread.
class BusyClock {
public:
    void add(const QString &stage, double seconds)
    {
        std::lock_guard lock(m_mutex);
        m_seconds[stage] += seconds;
    }
    std::map<QString, double> take()
    {
        std::lock_guard lock(m_mutex);
        return m_seconds;
    }

private:
    std::mutex m_mutex;
    std::map<QString, double> m_seconds;
};

struct Decoded {
    ImageTask task;
    Result<DecodedImage> image = Error{ErrorCategory::Internal, QString()};
    StageTimes times;
    MemoryBudget::Reservation memory;  // what the image holds until it is reported
};

double mebibytes(std::size_t bytes)
{
    return static_cast<double>(bytes) / (1 << 20);
}

} // namespace

// Everything that both modes do the same way for one image lives here, so that the two
// schedules cannot drift apart arithmetically.
struct Engine::Impl {
    static Decoded fetchAndDecode(const ImageTask &task, const SegmentOptions &o)
    {
        Decoded d{task, Error{ErrorCategory::Internal, QString()}, {}, {}};
        QElapsedTimer t;
        t.start();
        Result<QByteArray> bytes = task.fetch ? guarded(task.name, task.fetch)
                                              : Result<QByteArray>(ErrorCategory::Internal, QStringLiteral("%1: no way to fetch it").arg(task.name));
        d.times.fetch = secondsSince(t);
        if (!bytes) {
            d.image = bytes.error();
            return d;
        }
        t.restart();
        d.image = guarded(task.name, [&] { return ImageDecoder::decode(bytes.value(), task.name, decodeOptionsOf(o)); });
        d.times.decode = secondsSince(t);
        return d;
    }

    // An image that cannot fit in the memory budget even alone fails alone, with the
    // numbers; otherwise nothing.
    static std::optional<Error> tooLarge(const ImageTask &task, const cv::Mat &bgr, int numClasses, const SegmentOptions &o,
                                         std::size_t budget)
    {
        const std::size_t needed = bytesInFlight(bgr.cols, bgr.rows, numClasses, o);
        if (needed <= budget)
            return std::nullopt;
        return Error{ErrorCategory::TooLarge,
                     QStringLiteral("%1: %2x%3 pixels with %4 classes need about %5 MiB in flight, more than the memory "
                                    "budget of %6 MiB (--memory-budget)")
                         .arg(task.name)
                         .arg(bgr.cols)
                         .arg(bgr.rows)
                         .arg(numClasses)
                         .arg(mebibytes(needed), 0, 'f', 0)
                         .arg(mebibytes(budget), 0, 'f', 0)};
    }

    static at::Tensor windowTensor(const cv::Mat &padded, const Window &w, const SegmentOptions &o, const Model::InputSpec &in)
    {
        at::Tensor t = torch::empty({3, o.crop, o.crop}, torch::kFloat32);
        Preprocessor::normaliseWindow(padded, w, o.crop, in, t.data_ptr<float>());
        return t;
    }

    static Result<void> report(const OutputWriter *writer, ImageResult &result, const cv::Mat &labels, const cv::Mat &bgr)
    {
        if (!writer || result.task.outputStem.isEmpty())
            return {};
        auto files = writer->write(result.task.outputStem, labels, bgr);
        if (!files)
            return files.error();
        result.labelPath = files->labels;
        result.overlayPath = files->overlay;
        return {};
    }
};

Engine::Engine(std::shared_ptr<const Model::Network> network, SegmentOptions options, const OutputWriter *writer)
    : m_network(std::move(network)), m_options(std::move(options)), m_writer(writer)
{
}

Engine::~Engine() = default;

std::size_t Engine::memoryBudget(const SegmentOptions &o)
{
    return o.memoryBudget > 0 ? static_cast<std::size_t>(o.memoryBudget) : MemoryBudget::machineDefault();
}

std::size_t Engine::bytesInFlight(int width, int height, int numClasses, const SegmentOptions &o)
{
    const ImagePlan plan = Tiling::plan(width, height, tilingOf(o));
    const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    // The decoded picture, its copy in the network's colour order, the float32 image the
    // pyramid is made from, and the overlay when one is written; the label map is the
    // combine's.
    std::size_t bytes = pixels * (3 + 3 + 3 * sizeof(float) + (o.overlays ? 3 : 0));
    // Every window of the image, normalised, made at once by the pre-processing.
    bytes += static_cast<std::size_t>(plan.windowCount()) * 3 * static_cast<std::size_t>(o.crop) *
             static_cast<std::size_t>(o.crop) * sizeof(float);
    // The host combine's bands run on OpenCV's threads: one in a pipelined CPU run (see
    // OpenCvThreads), all of them otherwise.
    const bool oneThread = o.mode == EngineMode::Pipelined && !o.onCuda();
    bytes += o.tensorCombine() ? Procedure::DeviceCombiner::estimateBytes(plan, numClasses)
                               : ImageCombiner::estimateBytes(plan, numClasses, oneThread ? 1 : std::max(1, cv::getNumThreads()));
    return bytes;
}

void Engine::abort()
{
    m_cancel = true;
    m_abort = true;
    std::lock_guard lock(m_hookMutex);
    if (m_abortHook)
        m_abortHook();
}

RunStats Engine::run(ImageSource &source, ResultSink &sink)
{
    c10::InferenceMode guard;
    RunStats stats = m_options.mode == EngineMode::Sequential ? runSequential(source, sink) : runPipelined(source, sink);
    stats.untrained = m_network->untrained();
    stats.peakRssKiB = RunStats::peakRssKiBNow();
    return stats;
}

Result<Segmentation> Engine::segmentImage(const cv::Mat &bgr) const
{
    return guarded(QStringLiteral("image"), [&]() -> Result<Segmentation> {
        c10::InferenceMode guard;
        const auto &card = m_network->card();
        const cv::Mat image = Preprocessor::toNetworkImage(bgr, card.input.colorOrder);
        ImageCombiner combiner(Tiling::plan(image.cols, image.rows, tilingOf(m_options)), card.numClasses);
        for (size_t level = 0; level < combiner.plan().scales.size(); ++level) {
            const ScalePlan &s = combiner.plan().scales[level];
            const cv::Mat padded = Preprocessor::scaleAndPad(image, s, card.input.mean);
            for (size_t w = 0; w < s.windows.size(); ++w) {
                const at::Tensor probs = WindowInference::run(*m_network, Impl::windowTensor(padded, s.windows[w], m_options, card.input).unsqueeze(0), m_options.flip);
                combiner.addWindow(static_cast<int>(level), static_cast<int>(w), probs.data_ptr<float>());
            }
            combiner.finishLevel(static_cast<int>(level));
        }
        return combiner.finish();
    });
}

RunStats Engine::runSequential(ImageSource &source, ResultSink &sink)
{
    RunStats stats;
    stats.mode = QStringLiteral("sequential");
    QElapsedTimer wall;
    wall.start();
    const auto &card = m_network->card();
    double busyFetch = 0, busyDecode = 0, busyPre = 0, busyInfer = 0, busyCombine = 0, busyReport = 0;
    while (!m_cancel) {
        std::optional<ImageTask> task = source.next();
        if (!task)
            break;
        Decoded d = Impl::fetchAndDecode(*task, m_options);
        busyFetch += d.times.fetch;
        busyDecode += d.times.decode;
        if (!d.image) {
            sink.imageFailed(*task, d.image.error());
            ++stats.imagesFailed;
            continue;
        }
        if (auto error = Impl::tooLarge(*task, d.image->bgr, card.numClasses, m_options, memoryBudget(m_options))) {
            sink.imageFailed(*task, *error);
            ++stats.imagesFailed;
            continue;
        }
        ImageResult result;
        result.task = *task;
        result.times = d.times;
        result.damaged = d.image->damaged;
        const cv::Mat &bgr = d.image->bgr;
        result.width = bgr.cols;
        result.height = bgr.rows;
        bool aborted = false;
        cv::Mat labels;
        auto outcome = guarded(task->name, [&]() -> Result<void> {
            QElapsedTimer t;
            t.start();
            const cv::Mat image = Preprocessor::toNetworkImage(bgr, card.input.colorOrder);
            ImageCombiner combiner(Tiling::plan(image.cols, image.rows, tilingOf(m_options)), card.numClasses);
            result.times.preprocess += secondsSince(t);
            for (size_t level = 0; level < combiner.plan().scales.size() && !aborted; ++level) {
                const ScalePlan &s = combiner.plan().scales[level];
                t.restart();
                const cv::Mat padded = Preprocessor::scaleAndPad(image, s, card.input.mean);
                result.times.preprocess += secondsSince(t);
                for (size_t w = 0; w < s.windows.size(); ++w) {
                    if (m_abort) {
                        aborted = true;
                        break;
                    }
                    t.restart();
                    const at::Tensor input = Impl::windowTensor(padded, s.windows[w], m_options, card.input).unsqueeze(0);
                    result.times.preprocess += secondsSince(t);
                    t.restart();
                    const at::Tensor probs = WindowInference::run(*m_network, input, m_options.flip);
                    const double forward = secondsSince(t);
                    result.times.network += forward;
                    stats.forwardSeconds += forward;
                    stats.perScale[s.scale].windows += 1;
                    stats.perScale[s.scale].networkSeconds += forward;
                    ++stats.forwardCalls;
                    ++stats.windows;
                    t.restart();
                    combiner.addWindow(static_cast<int>(level), static_cast<int>(w), probs.data_ptr<float>());
                    result.times.combine += secondsSince(t);
                }
                if (aborted)
                    break;
                t.restart();
                combiner.finishLevel(static_cast<int>(level));
                result.times.combine += secondsSince(t);
            }
            if (aborted)
                return {};
            t.restart();
            Segmentation seg = combiner.finish();
            result.times.combine += secondsSince(t);
            result.composition = std::move(seg.composition);
            labels = seg.labels;
            return {};
        });
        if (aborted)
            break;
        busyPre += result.times.preprocess;
        busyInfer += result.times.network;
        busyCombine += result.times.combine;
        QElapsedTimer t;
        t.start();
        if (outcome)
            outcome = Impl::report(m_writer, result, labels, bgr);
        result.times.report = secondsSince(t);
        busyReport += result.times.report;
        if (!outcome) {
            sink.imageFailed(*task, outcome.error());
            ++stats.imagesFailed;
        } else {
            if (m_labelsObserver)
                m_labelsObserver(result.task, labels);
            sink.imageDone(result);
            ++stats.imagesDone;
        }
    }
    stats.wallSeconds = secondsSince(wall);
    stats.stageBusySeconds = {{QStringLiteral("fetch"), busyFetch},     {QStringLiteral("decode"), busyDecode},
                              {QStringLiteral("preprocess"), busyPre}, {QStringLiteral("infer"), busyInfer},
                              {QStringLiteral("combine"), busyCombine}, {QStringLiteral("report"), busyReport}};
    return stats;
}

namespace {

// One image travelling through the pipelined stages.
struct ImageJob {
    ImageTask task;
    cv::Mat bgr;
    bool damaged = false;
    bool holdsSlot = false;  // owns one of the in-flight slots; report gives it back
    MemoryBudget::Reservation memory;  // its bytes of the memory budget; report gives them back
    std::unique_ptr<Combiner> combiner;
    int windowsLeft = 0;              // touched by the combine thread only
    bool abandoned = false;           // failed in the combine thread; its other windows are skipped
    std::atomic<int> levelsLeft{0};   // counted down by the pool threads finishing levels
    std::optional<Error> failure;     // a level that failed (under timesMutex)
    StageTimes times;
    std::mutex timesMutex;
};
using JobPtr = std::shared_ptr<ImageJob>;

struct WindowItem {
    JobPtr job;
    int level = 0, window = 0;
    at::Tensor input;  // 3 x crop x crop
};

struct ProbItem {
    JobPtr job;
    int level = 0, window = 0;
    at::Tensor probs;  // a view into its batch's output, in the layout the job's Combiner takes
};

struct Finished {
    JobPtr job;
    ImageTask task;  // set for failures before a job exists
    cv::Mat labels;
    std::vector<double> composition;
    std::optional<Error> error;
};

struct ThreadJoiner {
    void operator()(QThread *t) const
    {
        t->wait();
        delete t;
    }
};
using ThreadPtr = std::unique_ptr<QThread, ThreadJoiner>;

// On the CPU the network's intra-op threads take every core, and a forward pass is a
// series of parallel regions that wait for their slowest thread: any other stage
// running at the same priority stalls one of them and the whole region with it
// (measured: forward passes 8% slower in the pipelined run than alone). The other
// stages are niced, so that they run in the gaps between regions instead. Linux
// keeps a nice value per thread.
void yieldToNetwork()
{
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
}

// OpenCV's own worker threads (cv::resize, cv::add in the host combine) would compete
// with the network in the same way: one thread for OpenCV while a CPU run lasts.
class OpenCvThreads {
public:
    explicit OpenCvThreads(bool single) : m_before(cv::getNumThreads()), m_changed(single)
    {
        if (m_changed)
            cv::setNumThreads(1);
    }
    ~OpenCvThreads()
    {
        if (m_changed)
            cv::setNumThreads(m_before);
    }
    OpenCvThreads(const OpenCvThreads &) = delete;
    OpenCvThreads &operator=(const OpenCvThreads &) = delete;

private:
    int m_before;
    bool m_changed;
};

template <typename F>
ThreadPtr startThread(const char *name, F &&f)
{
    ThreadPtr t(QThread::create(std::forward<F>(f)));
    t->setObjectName(QString::fromLatin1(name));
    t->start();
    return t;
}

} // namespace

RunStats Engine::runPipelined(ImageSource &source, ResultSink &sink)
{
    RunStats stats;
    stats.mode = QStringLiteral("pipelined");
    QElapsedTimer wall;
    wall.start();
    const auto &card = m_network->card();
    const SegmentOptions &o = m_options;
    const int batch = std::max(1, o.effectiveBatch());
    const bool tensorCombine = o.tensorCombine();
    const c10::Device device = m_network->device();
    const bool cpu = !device.is_cuda();
    const OpenCvThreads openCvThreads(cpu);
    const int fetchThreads = std::max(1, std::min(o.fetchAhead, 8));

    // Declared before the queues, so that reservations still in them go back to it.
    MemoryBudget budget(memoryBudget(o));
    BoundedQueue<Decoded> decoded(static_cast<size_t>(std::max(1, o.fetchAhead)));
    BoundedQueue<WindowItem> windows(static_cast<size_t>(2 * batch));
    BoundedQueue<ProbItem> probs(static_cast<size_t>(2 * batch));
    BoundedQueue<Finished> finished(static_cast<size_t>(std::max(2, o.effectiveImagesInFlight())));
    // Bounds the images between pre-processing and report: their accumulators are the
    // big allocations, so this is what keeps memory flat.
    QSemaphore inFlight(std::max(1, o.effectiveImagesInFlight()));
    BusyClock busy;
    std::atomic<long long> forwardNs{0}, forwardCalls{0}, windowCount{0};
    std::atomic<int> done{0}, failedCount{0};
    std::mutex sourceMutex;
    std::atomic<int> fetchersLeft{fetchThreads};

    {
        // abort() from another thread must wake stages blocked on full or empty queues.
        std::lock_guard lock(m_hookMutex);
        m_abortHook = [&] {
            decoded.abort();
            windows.abort();
            probs.abort();
            finished.abort();
            inFlight.release(1000);
            budget.abort();
        };
        if (m_abort)
            m_abortHook();
    }

    // Stage 1: fetch + decode, several images in flight (storage latency hides here).
    std::vector<ThreadPtr> fetchers;
    for (int i = 0; i < fetchThreads; ++i) {
        fetchers.push_back(startThread("segscale-fetch", [&] {
            if (cpu)
                yieldToNetwork();
            while (!m_cancel) {
                std::optional<ImageTask> task;
                {
                    std::lock_guard lock(sourceMutex);
                    if (m_cancel)
                        break;
                    task = source.next();
                }
                if (!task)
                    break;
                Decoded d = Impl::fetchAndDecode(*task, o);
                busy.add(QStringLiteral("fetch"), d.times.fetch);
                busy.add(QStringLiteral("decode"), d.times.decode);
                // The image reserves all it will hold before it goes further: it waits here
                // (its decoded pixels only) until the images ahead of it leave room.
                if (d.image) {
                    if (auto error = Impl::tooLarge(d.task, d.image->bgr, card.numClasses, o, budget.capacity())) {
                        d.image = *error;
                    } else {
                        d.memory = budget.reserve(bytesInFlight(d.image->bgr.cols, d.image->bgr.rows, card.numClasses, o));
                        if (!d.memory.bytes())
                            break;  // aborted
                    }
                }
                // After cancel(), an image not yet pre-processed is dropped, not finished:
                // "in flight" means already on its way through the network.
                if (m_cancel || !decoded.push(std::move(d)))
                    break;
            }
            if (--fetchersLeft == 0)
                decoded.close();
        }));
    }

    // Stage 2: pre-processing: every window of every level of an image, normalised.
    ThreadPtr preprocessor = startThread("segscale-preprocess", [&] {
        if (cpu)
            yieldToNetwork();
        while (auto d = decoded.pop()) {
            if (m_cancel)
                continue;  // drain without starting anything new
            if (!d->image) {
                finished.push(Finished{nullptr, d->task, {}, {}, d->image.error()});
                continue;
            }
            inFlight.acquire();
            if (m_abort)
                break;
            if (m_cancel) {
                inFlight.release();
                continue;
            }
            QElapsedTimer t;
            t.start();
            auto job = std::make_shared<ImageJob>();
            job->holdsSlot = true;
            job->memory = std::move(d->memory);
            job->task = d->task;
            job->times = d->times;
            job->damaged = d->image->damaged;
            job->bgr = d->image->bgr;
            std::vector<WindowItem> items;
            auto prepared = guarded(job->task.name, [&]() -> Result<void> {
                const cv::Mat image = Preprocessor::toNetworkImage(job->bgr, card.input.colorOrder);
                job->combiner = Combiner::create(tensorCombine, Tiling::plan(image.cols, image.rows, tilingOf(o)), card.numClasses, device);
                job->windowsLeft = job->combiner->plan().windowCount();
                job->levelsLeft = static_cast<int>(job->combiner->plan().scales.size());
                for (size_t level = 0; level < job->combiner->plan().scales.size(); ++level) {
                    const ScalePlan &s = job->combiner->plan().scales[level];
                    const cv::Mat padded = Preprocessor::scaleAndPad(image, s, card.input.mean);
                    for (size_t w = 0; w < s.windows.size(); ++w)
                        items.push_back(WindowItem{job, static_cast<int>(level), static_cast<int>(w),
                                                   Impl::windowTensor(padded, s.windows[w], o, card.input)});
                }
                return {};
            });
            job->times.preprocess = secondsSince(t);
            busy.add(QStringLiteral("preprocess"), job->times.preprocess);
            if (!prepared) {
                finished.push(Finished{job, job->task, {}, {}, prepared.error()});
                continue;
            }
            for (auto &item : items)
                if (!windows.push(std::move(item)))
                    break;
        }
        windows.close();
    });

    // Stage 3: the network, in batches filled across levels, flips and images.
    std::map<double, ScaleTime> perScale;  // the infer thread's alone until it is joined
    ThreadPtr inferer = startThread("segscale-infer", [&] {
        c10::InferenceMode inferenceMode;
        std::vector<WindowItem> pending;
        while (true) {
            pending.clear();
            auto first = windows.pop();
            if (!first)
                break;
            pending.push_back(std::move(*first));
            while (static_cast<int>(pending.size()) < batch) {
                auto more = windows.tryPop();
                if (!more)
                    break;
                pending.push_back(std::move(*more));
            }
            QElapsedTimer t;
            t.start();
            std::vector<at::Tensor> inputs;
            inputs.reserve(pending.size());
            for (const auto &item : pending)
                inputs.push_back(item.input);
            auto out = guarded(QStringLiteral("batch"), [&]() -> Result<at::Tensor> {
                at::Tensor stacked;
                if (!cpu) {  // host-to-GPU copies are asynchronous only from page-locked memory
                    stacked = torch::empty({static_cast<int64_t>(inputs.size()), 3, o.crop, o.crop},
                                           torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
                    at::stack_out(stacked, inputs, 0);
                } else {
                    stacked = torch::stack(inputs);
                }
                return Combiner::inputLayout(tensorCombine, WindowInference::probabilities(*m_network, stacked, o.flip));
            });
            const double seconds = secondsSince(t);
            for (const auto &item : pending) {
                ScaleTime &st = perScale[item.job->combiner->plan().scales[static_cast<size_t>(item.level)].scale];
                st.windows += 1;
                st.networkSeconds += seconds / static_cast<double>(pending.size());
            }
            busy.add(QStringLiteral("infer"), seconds);
            forwardNs += t.nsecsElapsed();
            ++forwardCalls;
            windowCount += static_cast<long long>(pending.size());
            for (size_t k = 0; k < pending.size(); ++k) {
                auto &item = pending[k];
                {
                    std::lock_guard lock(item.job->timesMutex);
                    item.job->times.network += seconds / static_cast<double>(pending.size());
                }
                ProbItem p{item.job, item.level, item.window, out ? out.value()[static_cast<int64_t>(k)] : at::Tensor()};
                if (!probs.push(std::move(p)))
                    break;
            }
        }
        probs.close();
    });

    // Stage 4: combine. Windows are accumulated here in arrival order (which is plan
    // order per image); the heavy finish (divide, resize, sum, argmax) of a whole image
    // runs on a thread pool, its levels in parallel.
    // The split of the cores: on the CPU the network's intra-op threads take them all
    // (measured: 2 threads give 1.89x the images/s of 1 on 2 cores), the combine gets the
    // cores left over, at least one thread, running in the network's gaps; on CUDA the
    // host cores are free and the combine is GPU work anyway.
    QThreadPool combinePool;
    const int cores = std::max(1, QThread::idealThreadCount());
    combinePool.setMaxThreadCount(cpu ? std::max(1, cores - at::get_num_threads()) : cores);
    ThreadPtr combiner = startThread("segscale-combine", [&] {
        if (cpu)
            yieldToNetwork();
        while (auto p = probs.pop()) {
            JobPtr job = p->job;
            if (job->abandoned)  // an earlier window of this image failed
                continue;
            QElapsedTimer t;
            t.start();
            if (!p->probs.defined()) {
                // Not reset: pool threads may still be finishing this image's other levels.
                job->abandoned = true;
                finished.push(Finished{job, job->task, {}, {}, Error{ErrorCategory::Internal, QStringLiteral("%1: the network failed on one of its windows").arg(job->task.name)}});
                continue;
            }
            auto added = guarded(job->task.name, [&]() -> Result<void> {
                job->combiner->addWindow(p->level, p->window, p->probs);
                return {};
            });
            const double seconds = secondsSince(t);
            busy.add(QStringLiteral("combine"), seconds);
            {
                std::lock_guard lock(job->timesMutex);
                job->times.combine += seconds;
            }
            if (!added) {
                job->abandoned = true;
                finished.push(Finished{job, job->task, {}, {}, added.error()});
                continue;
            }
            --job->windowsLeft;
            if (!job->combiner->levelComplete(p->level))
                continue;
            // A complete level is divided, un-padded and resized on a pool thread while
            // the windows of the next levels keep arriving here; whoever finishes the last
            // level sums them in scale order and hands the image to the report stage.
            combinePool.start([&, job, level = p->level] {
                if (cpu)
                    yieldToNetwork();
                QElapsedTimer ft;
                ft.start();
                auto levelDone = guarded(job->task.name, [&]() -> Result<void> {
                    job->combiner->finishLevel(level);
                    return {};
                });
                if (!levelDone) {
                    std::lock_guard lock(job->timesMutex);
                    job->failure = levelDone.error();
                }
                const bool last = --job->levelsLeft == 0;
                Finished f{job, job->task, {}, {}, std::nullopt};
                if (last) {
                    std::optional<Error> error;
                    {
                        std::lock_guard lock(job->timesMutex);
                        error = job->failure;
                    }
                    auto seg = error ? Result<Segmentation>(*error)
                                     : guarded(job->task.name, [&]() -> Result<Segmentation> { return job->combiner->finish(); });
                    job->combiner.reset();
                    if (seg) {
                        f.labels = seg->labels;
                        f.composition = std::move(seg->composition);
                    } else {
                        f.error = seg.error();
                    }
                }
                const double s = secondsSince(ft);
                busy.add(QStringLiteral("combine"), s);
                {
                    std::lock_guard lock(job->timesMutex);
                    job->times.combine += s;
                }
                if (last)
                    finished.push(std::move(f));
            });
        }
        combinePool.waitForDone();
        finished.close();
    });

    // Stage 5: report (this thread): write files, tell the sink.
    while (auto f = finished.pop()) {
        QElapsedTimer t;
        t.start();
        const ImageTask &task = f->job ? f->job->task : f->task;
        if (f->job && f->job->holdsSlot) {
            f->job->holdsSlot = false;
            inFlight.release();
        }
        if (f->job)
            f->job->memory.reset();
        if (f->error) {
            sink.imageFailed(task, *f->error);
            ++failedCount;
            continue;
        }
        ImageResult result;
        result.task = task;
        result.width = f->job->bgr.cols;
        result.height = f->job->bgr.rows;
        result.damaged = f->job->damaged;
        result.composition = std::move(f->composition);
        auto written = Impl::report(m_writer, result, f->labels, f->job->bgr);
        result.times = f->job->times;
        result.times.report = secondsSince(t);
        busy.add(QStringLiteral("report"), result.times.report);
        if (!written) {
            sink.imageFailed(task, written.error());
            ++failedCount;
        } else {
            if (m_labelsObserver)
                m_labelsObserver(result.task, f->labels);
            sink.imageDone(result);
            ++done;
        }
    }
    {
        std::lock_guard lock(m_hookMutex);
        m_abortHook = nullptr;
    }
    fetchers.clear();
    preprocessor.reset();
    inferer.reset();
    combiner.reset();

    stats.imagesDone = done;
    stats.imagesFailed = failedCount;
    stats.wallSeconds = secondsSince(wall);
    stats.forwardSeconds = static_cast<double>(forwardNs.load()) / 1e9;
    stats.forwardCalls = forwardCalls;
    stats.windows = windowCount;
    stats.stageBusySeconds = busy.take();
    stats.perScale = std::move(perScale);
    stats.memoryBudgetBytes = budget.capacity();
    stats.memoryReservedHighWater = budget.highWater();
    stats.queues = {{QStringLiteral("decoded"), {decoded.capacity(), decoded.highWater()}},
                    {QStringLiteral("windows"), {windows.capacity(), windows.highWater()}},
                    {QStringLiteral("probabilities"), {probs.capacity(), probs.highWater()}},
                    {QStringLiteral("finished"), {finished.capacity(), finished.highWater()}}};
    return stats;
}

} // namespace SegScale::Pipeline
