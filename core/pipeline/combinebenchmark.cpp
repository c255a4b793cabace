#include "pipeline/combinebenchmark.h"

#include "pipeline/imagecombiner.h"
#include "pipeline/tiling.h"

#include <opencv2/core.hpp>

#include <QJsonArray>

#include <time.h>

#include <cmath>
#include <cstring>

namespace SegScale::Pipeline {

namespace {

// CPU seconds of the calling thread: what the combine costs, whatever else the machine
// runs meanwhile (a wall clock would count the time other processes had the core).
double threadCpuSeconds()
{
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// OpenCV's thread count for a scope: the timings are one thread's CPU time.
class OneOpenCvThread {
public:
    OneOpenCvThread() : m_before(cv::getNumThreads()) { cv::setNumThreads(1); }
    ~OneOpenCvThread() { cv::setNumThreads(m_before); }
    OneOpenCvThread(const OneOpenCvThread &) = delete;
    OneOpenCvThread &operator=(const OneOpenCvThread &) = delete;

private:
    int m_before;
};

// Every window of every level gets the same probabilities: smooth in space (so that the
// labels have regions, as a network's do) and different per class.
void feed(ImageCombiner &c, const cv::Mat &window)
{
    const ImagePlan &plan = c.plan();
    for (size_t l = 0; l < plan.scales.size(); ++l)
        for (size_t w = 0; w < plan.scales[l].windows.size(); ++w)
            c.addWindow(static_cast<int>(l), static_cast<int>(w), window.ptr<float>());
}

bool sameLabels(const cv::Mat &a, const cv::Mat &b)
{
    if (a.size() != b.size() || a.type() != b.type())
        return false;
    for (int y = 0; y < a.rows; ++y)
        if (std::memcmp(a.ptr(y), b.ptr(y), a.cols * a.elemSize()) != 0)
            return false;
    return true;
}

} // namespace

QJsonObject CombineTiming::toJson() const
{
    QJsonArray s;
    for (double v : scales)
        s.append(v);
    QJsonObject o{{QStringLiteral("width"), width},
                  {QStringLiteral("height"), height},
                  {QStringLiteral("classes"), classes},
                  {QStringLiteral("scales"), s},
                  {QStringLiteral("banded_seconds"), bandedSeconds},
                  {QStringLiteral("banded_seconds_per_megapixel"), bandedPerMegapixel()},
                  {QStringLiteral("full_map_bytes"), static_cast<qint64>(fullMapBytes)}};
    if (fullMapSeconds) {
        o[QStringLiteral("full_map_seconds")] = *fullMapSeconds;
        o[QStringLiteral("full_map_seconds_per_megapixel")] = *fullMapPerMegapixel();
        o[QStringLiteral("identical")] = identical;
    } else {
        o[QStringLiteral("full_map_skipped")] = true;
    }
    return o;
}

std::size_t CombineBenchmark::fullMapBytes(int width, int height, int numClasses)
{
    return 2 * static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * static_cast<std::size_t>(numClasses) * sizeof(float);
}

CombineTiming CombineBenchmark::measure(int width, int height, int numClasses, const SegmentOptions &options, std::size_t fullMapLimit)
{
    CombineTiming t;
    t.width = width;
    t.height = height;
    t.classes = numClasses;
    t.scales = options.scales;
    t.fullMapBytes = fullMapBytes(width, height, numClasses);
    const ImagePlan plan = Tiling::plan(width, height, TilingParams{toScaleVector(options.scales), options.baseSize, options.crop, options.strideRate});
    cv::Mat window(options.crop, options.crop, CV_32FC(numClasses));
    for (int y = 0; y < options.crop; ++y) {
        float *p = window.ptr<float>(y);
        for (int x = 0; x < options.crop; ++x)
            for (int k = 0; k < numClasses; ++k)
                *p++ = static_cast<float>(1.0 + std::sin(0.05 * x * (1 + k % 7) + 0.03 * y * (1 + k % 5) + k));
    }
    const OneOpenCvThread oneThread;
    const auto finishAll = [&](ImageCombiner &c) {
        for (size_t l = 0; l < plan.scales.size(); ++l)
            c.finishLevel(static_cast<int>(l));
    };
    Segmentation banded;
    {
        ImageCombiner c(plan, numClasses);
        feed(c, window);
        const double start = threadCpuSeconds();
        finishAll(c);
        banded = c.finish();
        t.bandedSeconds = threadCpuSeconds() - start;
    }
    if (t.fullMapBytes <= fullMapLimit) {
        ImageCombiner c(plan, numClasses);
        feed(c, window);
        const double start = threadCpuSeconds();
        finishAll(c);
        const Segmentation full = c.finishFullMap();
        t.fullMapSeconds = threadCpuSeconds() - start;
        t.identical = sameLabels(full.labels, banded.labels) && full.composition == banded.composition;
    }
    return t;
}

} // namespace SegScale::Pipeline
