#include "pipeline/benchmark.h"

#include "pipeline/engine.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/preprocessor.h"
#include "pipeline/tiling.h"
#include "pipeline/windowinference.h"

#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <map>

namespace SegScale::Pipeline {

namespace {

// Per-run peaks: ru_maxrss cannot be reset (and thread exits fold the high-water mark
// into it for good), but writing 5 to clear_refs resets VmHWM, which we then read.
bool resetPeakRss()
{
    QFile f(QStringLiteral("/proc/self/clear_refs"));
    return f.open(QIODevice::WriteOnly) && f.write("5") == 1;
}

long peakRssKiB()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return RunStats::peakRssKiBNow();
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLong();
    return RunStats::peakRssKiBNow();
}

// Hands out the in-memory images, `count` of them, cycling when count exceeds them.
class MemorySource final : public ImageSource {
public:
    MemorySource(const std::vector<BenchImage> &images, int count) : m_images(images), m_count(count) {}
    std::optional<ImageTask> next() override
    {
        if (m_next >= m_count || m_images.empty())
            return std::nullopt;
        const BenchImage &img = m_images[static_cast<size_t>(m_next) % m_images.size()];
        ImageTask task;
        task.id = m_next++;
        task.name = img.name;
        task.fetch = [bytes = img.bytes]() -> Result<QByteArray> { return bytes; };  // shared, not copied
        return task;
    }

private:
    const std::vector<BenchImage> &m_images;
    int m_count;
    int m_next = 0;
};

class CountingSink final : public ResultSink {
public:
    void imageDone(const ImageResult &) override
    {
        ++done;
        if (onDone)
            onDone(done);
    }
    void imageFailed(const ImageTask &, const Error &error) override
    {
        if (failed++ == 0)
            firstError = error;
    }
    int done = 0, failed = 0;
    Error firstError;
    std::function<void(int)> onDone;
};

double perImage(const RunStats &s)
{
    return s.imagesDone ? s.wallSeconds / s.imagesDone : 0;
}

QJsonArray toJsonArray(const QList<double> &values)
{
    QJsonArray a;
    for (double v : values)
        a.append(v);
    return a;
}

} // namespace

double ScaleSetResult::sequentialPerImage() const { return perImage(sequential); }
double ScaleSetResult::pipelinedPerImage() const { return perImage(pipelined); }

double ScaleSetResult::speedup() const
{
    return pipelinedPerImage() > 0 ? sequentialPerImage() / pipelinedPerImage() : 0;
}

double ScaleSetResult::fractionOfLimit() const
{
    return pipelinedPerImage() > 0 ? networkOnlyPerImage() / pipelinedPerImage() : 0;
}

QJsonObject ScaleSetResult::toJson() const
{
    QJsonObject seq = sequential.toJson();
    seq[QStringLiteral("seconds_per_image")] = sequentialPerImage();
    seq[QStringLiteral("run_peak_rss_kib")] = static_cast<qint64>(sequentialPeakRssKiB);
    QJsonObject pipe = pipelined.toJson();
    pipe[QStringLiteral("seconds_per_image")] = pipelinedPerImage();
    pipe[QStringLiteral("run_peak_rss_kib")] = static_cast<qint64>(pipelinedPeakRssKiB);
    return QJsonObject{
        {QStringLiteral("scales"), toJsonArray(scales)},
        {QStringLiteral("images"), images},
        {QStringLiteral("windows"), windows},
        {QStringLiteral("windows_per_image"), windowsPerImage()},
        {QStringLiteral("network_only"), QJsonObject{{QStringLiteral("seconds"), networkOnlySeconds},
                                                     {QStringLiteral("seconds_per_image"), networkOnlyPerImage()},
                                                     {QStringLiteral("forward_passes"), networkOnlyPasses}}},
        {QStringLiteral("sequential"), seq},
        {QStringLiteral("pipelined"), pipe},
        {QStringLiteral("speedup_pipelined_vs_sequential"), speedup()},
        {QStringLiteral("fraction_of_network_limit"), fractionOfLimit()},
        {QStringLiteral("peak_rss_per_run"), peakRssPerRun},
        {QStringLiteral("labels_identical"), labelsIdentical()},
        {QStringLiteral("images_compared"), imagesCompared},
        {QStringLiteral("images_with_differing_labels"), imagesDiffering},
        {QStringLiteral("differing_pixels"), pixelsDiffering},
        {QStringLiteral("compared_pixels"), pixelsCompared},
        {QStringLiteral("label_agreement"), agreement()},
    };
}

double RssResult::ratio() const
{
    return rssKiB.size() >= 2 && rssKiB.front() > 0 ? static_cast<double>(rssKiB.back()) / static_cast<double>(rssKiB.front()) : 0;
}

QJsonObject RssResult::toJson() const
{
    QJsonArray at, kib;
    for (int c : checkpoints)
        at.append(c);
    for (long k : rssKiB)
        kib.append(static_cast<qint64>(k));
    return QJsonObject{{QStringLiteral("images"), at},
                       {QStringLiteral("rss_kib"), kib},
                       {QStringLiteral("ratio_last_to_first"), ratio()},
                       {QStringLiteral("within_5_percent"), rssKiB.size() >= 2 && std::abs(ratio() - 1.0) <= 0.05},
                       {QStringLiteral("run"), stats.toJson()}};
}

Benchmark::Benchmark(std::shared_ptr<const Model::Network> network, SegmentOptions options,
                     std::shared_ptr<const Model::Network> baseline)
    : m_network(std::move(network)), m_baseline(baseline ? std::move(baseline) : m_network), m_options(std::move(options))
{
}

void Benchmark::progress(const QString &message) const
{
    if (onProgress)
        onProgress(message);
}

Result<void> Benchmark::setImages(std::vector<BenchImage> images)
{
    if (images.empty())
        return Error{ErrorCategory::Usage, QStringLiteral("no images to benchmark")};
    DecodeOptions decode;
    decode.maxPixels = m_options.maxPixels;
    for (BenchImage &img : images) {
        auto d = ImageDecoder::decode(img.bytes, img.name, decode);
        if (!d)
            return d.error();
        img.width = d->bgr.cols;
        img.height = d->bgr.rows;
    }
    m_images = std::move(images);
    return {};
}

void Benchmark::warmUp()
{
    c10::InferenceMode guard;
    const int crop = m_options.crop;
    for (int k : {1, m_options.effectiveBatch()})
        (void)WindowInference::run(*m_network, torch::zeros({k, 3, crop, crop}), m_options.flip);
    if (m_baseline != m_network)
        (void)WindowInference::run(*m_baseline, torch::zeros({1, 3, crop, crop}), m_options.flip);
}

Result<double> Benchmark::networkOnly(const QList<double> &scales, long long &windows, long long &passes) const
{
    c10::InferenceMode guard;
    const auto &card = m_network->card();
    TilingParams tiling{toScaleVector(scales), m_options.baseSize, m_options.crop, m_options.strideRate};
    const int batch = m_options.effectiveBatch();
    DecodeOptions decode;
    decode.maxPixels = m_options.maxPixels;
    // Built outside the clock, in the order the pipelined engine feeds them (image by
    // image, level by level, plan order) and cut into the batches it would form when
    // the network is the bottleneck: full ones across level and image boundaries.
    std::vector<at::Tensor> batches;
    std::vector<at::Tensor> pending;
    windows = 0;
    for (const BenchImage &img : m_images) {
        auto d = ImageDecoder::decode(img.bytes, img.name, decode);
        if (!d)
            return d.error();
        const cv::Mat image = Preprocessor::toNetworkImage(d->bgr, card.input.colorOrder);
        const ImagePlan plan = Tiling::plan(image.cols, image.rows, tiling);
        for (const ScalePlan &level : plan.scales) {
            const cv::Mat padded = Preprocessor::scaleAndPad(image, level, card.input.mean);
            for (const Window &w : level.windows) {
                at::Tensor t = torch::empty({3, m_options.crop, m_options.crop}, torch::kFloat32);
                Preprocessor::normaliseWindow(padded, w, m_options.crop, card.input, t.data_ptr<float>());
                pending.push_back(std::move(t));
                ++windows;
                if (static_cast<int>(pending.size()) == batch) {
                    batches.push_back(torch::stack(pending));
                    pending.clear();
                }
            }
        }
    }
    if (!pending.empty())
        batches.push_back(torch::stack(pending));
    pending.clear();

    double seconds = 0;
    for (const at::Tensor &b : batches) {
        QElapsedTimer t;
        t.start();
        const at::Tensor probs = WindowInference::run(*m_network, b, m_options.flip);
        seconds += static_cast<double>(t.nsecsElapsed()) / 1e9;
    }
    passes = static_cast<long long>(batches.size());
    return seconds;
}

Result<ScaleSetResult> Benchmark::measure(const QList<double> &scales, int repeats)
{
    ScaleSetResult r;
    r.scales = scales;
    r.images = static_cast<int>(m_images.size());
    const int n = r.images;
    const QString label = scalesText(scales);

    std::map<qint64, cv::Mat> reference;  // sequential labels per image
    auto runEngine = [&](EngineMode mode, RunStats &best, long &peak) -> Result<void> {
        SegmentOptions o = m_options;
        o.scales = scales;
        o.mode = mode;
        Engine engine(mode == EngineMode::Sequential ? m_baseline : m_network, o, nullptr);
        int compared = 0, differing = 0;
        long long pixels = 0, comparedPixels = 0;
        if (mode == EngineMode::Sequential) {
            engine.setLabelsObserver([&](const ImageTask &task, const cv::Mat &labels) {
                if (!reference.count(task.id))
                    reference[task.id] = labels.clone();
            });
        } else {
            engine.setLabelsObserver([&](const ImageTask &task, const cv::Mat &labels) {
                auto it = reference.find(task.id);
                if (it == reference.end())
                    return;
                ++compared;
                comparedPixels += static_cast<long long>(labels.total());
                long long diff = 0;
                if (it->second.size() != labels.size() || it->second.type() != labels.type()) {
                    diff = static_cast<long long>(labels.total());
                } else {
                    cv::Mat ne;
                    cv::compare(it->second, labels, ne, cv::CMP_NE);
                    diff = cv::countNonZero(ne);
                }
                if (diff) {
                    ++differing;
                    pixels += diff;
                }
            });
        }
        MemorySource source(m_images, n);
        CountingSink sink;
        r.peakRssPerRun = resetPeakRss() && r.peakRssPerRun;
        RunStats stats = engine.run(source, sink);
        peak = std::max(peak, peakRssKiB());
        if (sink.failed)
            return Error{sink.firstError.category, QStringLiteral("scales %1, %2 run: %3 image(s) failed, first: %4")
                                                       .arg(label, stats.mode)
                                                       .arg(sink.failed)
                                                       .arg(sink.firstError.message)};
        if (best.imagesDone == 0 || stats.wallSeconds < best.wallSeconds)
            best = stats;
        if (mode == EngineMode::Pipelined) {
            r.imagesCompared = compared;
            r.imagesDiffering = std::max(r.imagesDiffering, differing);
            if (pixels >= r.pixelsDiffering) {  // the worst repeat
                r.pixelsDiffering = pixels;
                r.pixelsCompared = comparedPixels;
            }
        }
        progress(QStringLiteral("scales %1: %2 %3 s/image").arg(label, stats.mode).arg(perImage(stats), 0, 'f', 3));
        return {};
    };

    repeats = std::max(1, repeats);
    for (int rep = 0; rep < repeats; ++rep) {
        long long windows = 0, passes = 0;
        auto net = networkOnly(scales, windows, passes);
        if (!net)
            return net.error();
        if (rep == 0 || *net < r.networkOnlySeconds) {
            r.networkOnlySeconds = *net;
            r.networkOnlyPasses = passes;
        }
        r.windows = windows;
        progress(QStringLiteral("scales %1: network only %2 s/image (%3 windows/image)")
                     .arg(label)
                     .arg(n ? *net / n : 0, 0, 'f', 3)
                     .arg(n ? static_cast<double>(windows) / n : 0, 0, 'f', 1));
        // The sequential run goes first the first time: it makes the reference labels.
        // Later repeats alternate the order so that neither mode always runs second.
        const bool sequentialFirst = rep % 2 == 0;
        for (int k = 0; k < 2; ++k) {
            const bool seq = (k == 0) == sequentialFirst;
            auto ok = seq ? runEngine(EngineMode::Sequential, r.sequential, r.sequentialPeakRssKiB)
                          : runEngine(EngineMode::Pipelined, r.pipelined, r.pipelinedPeakRssKiB);
            if (!ok)
                return ok.error();
        }
    }
    return r;
}

Result<RssResult> Benchmark::measureRss(std::vector<int> checkpoints)
{
    std::sort(checkpoints.begin(), checkpoints.end());
    checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
    if (checkpoints.empty() || checkpoints.front() < 1)
        return Error{ErrorCategory::Usage, QStringLiteral("--rss-images needs image counts >= 1")};
    RssResult r;
    r.checkpoints = checkpoints;
    SegmentOptions o = m_options;
    o.scales = {1.0};
    o.mode = EngineMode::Pipelined;
    Engine engine(m_network, o, nullptr);
    const int total = checkpoints.back();
    MemorySource source(m_images, total);
    CountingSink sink;
    QElapsedTimer clock;
    clock.start();
    size_t nextCheckpoint = 0;
    sink.onDone = [&](int done) {
        // Read on the report thread at the moment the image is reported: the engine's
        // steady state, with the next images in flight.
        if (nextCheckpoint < checkpoints.size() && done == checkpoints[nextCheckpoint]) {
            r.rssKiB.push_back(RunStats::currentRssKiB());
            ++nextCheckpoint;
            progress(QStringLiteral("rss: image %1: %2 MiB").arg(done).arg(static_cast<double>(r.rssKiB.back()) / 1024, 0, 'f', 1));
        } else if (done % 100 == 0) {
            progress(QStringLiteral("rss: %1/%2 images, %3 s").arg(done).arg(total).arg(static_cast<double>(clock.elapsed()) / 1000, 0, 'f', 0));
        }
    };
    r.stats = engine.run(source, sink);
    if (sink.failed)
        return Error{sink.firstError.category, QStringLiteral("memory run: %1 image(s) failed, first: %2").arg(sink.failed).arg(sink.firstError.message)};
    return r;
}

double SizeRssResult::combineBusySecondsPerMegapixel() const
{
    const auto it = stats.stageBusySeconds.find(QStringLiteral("combine"));
    const double seconds = it == stats.stageBusySeconds.end() ? 0.0 : it->second;
    return images > 0 && width > 0 && height > 0 ? seconds / (megapixels() * images) : 0.0;
}

QJsonObject SizeRssResult::toJson() const
{
    return QJsonObject{{QStringLiteral("width"), width},
                       {QStringLiteral("height"), height},
                       {QStringLiteral("megapixels"), megapixels()},
                       {QStringLiteral("images"), images},
                       {QStringLiteral("start_rss_kib"), static_cast<qint64>(startRssKiB)},
                       {QStringLiteral("peak_rss_kib"), static_cast<qint64>(peakRssKiB)},
                       {QStringLiteral("peak_rss_per_run"), peakRssPerRun},
                       {QStringLiteral("combine_busy_seconds_per_megapixel"), combineBusySecondsPerMegapixel()},
                       {QStringLiteral("stats"), stats.toJson()}};
}

std::pair<int, int> Benchmark::sizeForMegapixels(double megapixels)
{
    const double pixels = megapixels * 1e6;
    const double aspect = megapixels >= 20 ? 2.0 : 4.0 / 3.0;
    const int height = std::max(1, static_cast<int>(std::lround(std::sqrt(pixels / aspect))));
    const int width = std::max(1, static_cast<int>(std::lround(pixels / height)));
    return {width, height};
}

Result<SizeRssResult> Benchmark::measureRssAtSize(int width, int height, int images)
{
    SizeRssResult r;
    r.width = width;
    r.height = height;
    r.images = std::max(1, images);
    // Made before the measurement: the picture and its PNG are the bench's, not the run's.
    const std::vector<BenchImage> pictures = syntheticImages(1, width, height);
    SegmentOptions o = m_options;
    o.mode = EngineMode::Pipelined;
    Engine engine(m_network, o, nullptr);
    MemorySource source(pictures, r.images);
    CountingSink sink;
    sink.onDone = [&](int done) {
        progress(QStringLiteral("%1x%2: image %3/%4 done, RSS now %5 MiB")
                     .arg(width)
                     .arg(height)
                     .arg(done)
                     .arg(r.images)
                     .arg(static_cast<double>(RunStats::currentRssKiB()) / 1024, 0, 'f', 0));
    };
    r.startRssKiB = RunStats::currentRssKiB();
    r.peakRssPerRun = resetPeakRss();
    r.stats = engine.run(source, sink);
    r.peakRssKiB = peakRssKiB();
    if (sink.failed)
        return Error{sink.firstError.category, QStringLiteral("%1x%2: %3 image(s) failed, first: %4").arg(width).arg(height).arg(sink.failed).arg(sink.firstError.message)};
    return r;
}

std::vector<BenchImage> Benchmark::syntheticImages(int count, int width, int height)
{
    std::vector<BenchImage> images;
    for (int i = 0; i < count; ++i) {
        cv::RNG rng(static_cast<uint64_t>(1000 + i));
        cv::Mat img(height, width, CV_8UC3);
        const int horizon = height / 3 + static_cast<int>(rng.uniform(-height / 10, height / 10 + 1));
        const int road = 2 * height / 3;
        for (int y = 0; y < height; ++y) {
            cv::Vec3b c;
            if (y < horizon)
                c = cv::Vec3b(static_cast<uchar>(230 - 60 * y / std::max(1, horizon)), 180, 120);  // sky (BGR)
            else if (y < road)
                c = cv::Vec3b(90, 100, 120);  // facades
            else
                c = cv::Vec3b(110, 105, 100);  // road
            img.row(y).setTo(cv::Scalar(c[0], c[1], c[2]));
        }
        for (int k = 0; k < 12; ++k) {  // windows, trees, cars
            const int w = rng.uniform(width / 20, width / 5), h = rng.uniform(height / 20, height / 6);
            const int x = rng.uniform(0, std::max(1, width - w)), y = rng.uniform(horizon, std::max(horizon + 1, height - h));
            cv::rectangle(img, cv::Rect(x, y, w, h), cv::Scalar(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256)), cv::FILLED);
        }
        cv::Mat noise(img.size(), img.type());
        rng.fill(noise, cv::RNG::UNIFORM, 0, 12);
        img += noise;  // texture, so the network sees something other than flat colour
        std::vector<uchar> png;
        cv::imencode(".png", img, png);
        images.push_back(BenchImage{QStringLiteral("synthetic-%1.png").arg(i + 1),
                                    QByteArray(reinterpret_cast<const char *>(png.data()), static_cast<qsizetype>(png.size())),
                                    width, height});
    }
    return images;
}

} // namespace SegScale::Pipeline
