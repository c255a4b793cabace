// The device combine (core/procedure) against the CPU engine's OpenCV combine, on the CPU:
// the same window probabilities go into Pipeline::ImageCombiner and
// Procedure::DeviceCombiner, for plans with one and four scales, padding, non-square
// images, overlapping windows and more than 255 classes.
//
// Tolerance: labels must agree on at least 99.99% of pixels and compositions within
// 1e-4. Both do the same float32 arithmetic in the same order, but the resize of a level
// to the image size is OpenCV's vectorised code on one side and separate tensor kernels
// on the other: a build of OpenCV that fuses a multiply and an add (FMA) rounds once
// where we round twice, and a pixel whose two best classes are that close may flip. The
// observed agreement is printed (qInfo) for every plan.
//
// The tensor combine works in bands of output rows; every band size (one row included)
// gives exactly what one band of every row gives, and exactly the host's whole-image
// combine (ImageCombiner::finishFullMap()).
//
// Also: the window step (Procedure::windowProbabilities) equals Pipeline::WindowInference
// bit for bit in float32; a plan whose probabilities favour a known class per region
// gives that label map (placement bugs that a symmetric comparison would share cannot
// hide); ties go to the lowest class; the device pyramid stays within one grey level of
// OpenCV and normalises exactly as the Preprocessor; a bfloat16 network runs.

#include "common/syntheticphoto.h"
#include "common/testnetworks.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/preprocessor.h"
#include "pipeline/windowinference.h"
#include "procedure/devicecombiner.h"
#include "procedure/devicepyramid.h"
#include "procedure/windowstep.h"

#include <opencv2/imgproc.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <QtTest>

#include <array>
#include <cmath>
#include <optional>
#include <thread>

using namespace SegScale;
using Procedure::DeviceCombiner;
using Procedure::DevicePyramid;

namespace {

const c10::Device cpu(c10::kCPU);

Procedure::ImagePlan makePlan(int w, int h, std::vector<double> scales, int baseSize, int crop)
{
    return Procedure::Tiling::plan(w, h, Procedure::TilingParams{std::move(scales), baseSize, crop, 2.0 / 3.0});
}

// C x crop x crop, softmax-like: positive, summing to one over classes, with structure.
at::Tensor randomProbabilities(int classes, int crop, at::Generator &gen)
{
    return torch::softmax(torch::randn({classes, crop, crop}, gen, torch::kFloat) * 3.0, 0);
}

struct Agreement {
    std::int64_t equal = 0, total = 0;
    double fraction() const { return total ? static_cast<double>(equal) / static_cast<double>(total) : 1.0; }
};

Agreement compareLabels(const cv::Mat &expected, const at::Tensor &labels)
{
    Agreement a;
    const at::Tensor l = labels.to(torch::kInt).contiguous();
    const auto acc = l.accessor<int, 2>();
    for (int y = 0; y < expected.rows; ++y)
        for (int x = 0; x < expected.cols; ++x) {
            const int e = expected.depth() == CV_8U ? expected.at<std::uint8_t>(y, x) : expected.at<std::uint16_t>(y, x);
            a.equal += e == acc[y][x];
            ++a.total;
        }
    return a;
}

// Feeds both combiners the same windows, levels interleaved round-robin (both must
// accept that), and returns their results.
std::pair<Pipeline::Segmentation, DeviceCombiner::Output>
combineBoth(const Procedure::ImagePlan &plan, int classes,
            const std::function<at::Tensor(int level, int window)> &probabilities)
{
    Pipeline::ImageCombiner reference(plan, classes);
    DeviceCombiner device(plan, classes, cpu);
    size_t rounds = 0;
    for (const auto &s : plan.scales)
        rounds = std::max(rounds, s.windows.size());
    for (size_t r = 0; r < rounds; ++r)
        for (size_t l = 0; l < plan.scales.size(); ++l) {
            if (r >= plan.scales[l].windows.size())
                continue;
            const at::Tensor p = probabilities(static_cast<int>(l), static_cast<int>(r));
            const at::Tensor hwc = p.permute({1, 2, 0}).contiguous();
            reference.addWindow(static_cast<int>(l), static_cast<int>(r), hwc.data_ptr<float>());
            device.addWindow(static_cast<int>(l), static_cast<int>(r), p);
            if (device.levelComplete(static_cast<int>(l)))
                device.finishLevel(static_cast<int>(l));
        }
    return {reference.finish(), device.finish()};
}

using Testing::syntheticPhoto;

at::Tensor toTensor(const cv::Mat &hwcU8)
{
    return torch::from_blob(hwcU8.data, {hwcU8.rows, hwcU8.cols, hwcU8.channels()}, torch::kByte).clone();
}

// A tiny convolutional network with its own weights, in any dtype: 3x3 convolution,
// ReLU, 2x2 average pooling (so the output is smaller than the window), 1x1 to classes.
struct TinyConvNet {
    at::Tensor w1, b1, w2, b2;
    TinyConvNet(int classes, c10::ScalarType dtype)
    {
        at::Generator gen = at::detail::createCPUGenerator(11);
        w1 = (torch::randn({8, 3, 3, 3}, gen, torch::kFloat) * 0.3).to(dtype);
        b1 = (torch::randn({8}, gen, torch::kFloat) * 0.1).to(dtype);
        w2 = (torch::randn({classes, 8, 1, 1}, gen, torch::kFloat) * 0.8).to(dtype);
        b2 = (torch::randn({classes}, gen, torch::kFloat) * 0.1).to(dtype);
    }
    at::Tensor operator()(const at::Tensor &x) const
    {
        at::Tensor y = torch::conv2d(x, w1, b1, 1, 1).relu_();
        y = torch::avg_pool2d(y, 2, 2, 0, /*ceil_mode=*/true);
        return torch::conv2d(y, w2, b2);
    }
};

// The CPU engine's window step as it was written before it moved to core/procedure,
// verbatim: the reference for windowProbabilities' bit-for-bit check.
at::Tensor originalWindowInference(const Model::Network &network, const at::Tensor &windows, bool flip)
{
    c10::InferenceMode guard;
    const int64_t k = windows.size(0);
    const int64_t h = windows.size(2), w = windows.size(3);
    at::Tensor input = windows.to(network.device(), /*non_blocking=*/true);
    if (flip)
        input = torch::cat({input, input.flip({3})}, 0);  // [w1..wK, flip(w1)..flip(wK)]
    at::Tensor out = network.forward(input);
    if (out.size(2) != h || out.size(3) != w)
        out = torch::nn::functional::interpolate(
            out, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w})
                     .mode(torch::kBilinear).align_corners(true));
    out = torch::softmax(out, 1);
    if (flip)
        out = (out.slice(0, 0, k) + out.slice(0, k, 2 * k).flip({3})) / 2;
    return out.permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
}

// Labels of one image through the device path end to end: pyramid, windows, network,
// combine.
DeviceCombiner::Output segmentOnDevice(const at::Tensor &image, const Procedure::ImagePlan &plan, int classes,
                                       const Procedure::ForwardFn &forward, c10::ScalarType dtype, bool flip)
{
    const std::array<float, 3> mean{123.675f, 116.28f, 103.53f}, std{58.395f, 57.12f, 57.375f};
    DeviceCombiner combiner(plan, classes, cpu);
    for (size_t l = 0; l < plan.scales.size(); ++l) {
        const auto &s = plan.scales[l];
        const at::Tensor windows = DevicePyramid::windows(DevicePyramid::level(image, s, mean), s, mean, std, dtype);
        const at::Tensor probs = Procedure::windowProbabilities(forward, windows, flip);
        for (int64_t k = 0; k < probs.size(0); ++k)
            combiner.addWindow(static_cast<int>(l), static_cast<int>(k), probs[k]);
        combiner.finishLevel(static_cast<int>(l));
    }
    return combiner.finish();
}

} // namespace

class DeviceCombinerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesImageCombiner_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<QList<double>>("scales");
        QTest::addColumn<int>("baseSize");
        QTest::addColumn<int>("crop");
        QTest::addColumn<int>("classes");
        // crop < scaled size everywhere below except where padding is the point: the
        // windows overlap, so the count division matters.
        QTest::newRow("one scale") << 120 << 90 << QList<double>{1.0} << 120 << 65 << 7;
        QTest::newRow("four scales, padded") << 128 << 96 << QList<double>{0.5, 0.75, 1.0, 1.25} << 128 << 81 << 6;
        QTest::newRow("landscape 300x200") << 300 << 200 << QList<double>{1.0} << 300 << 129 << 5;
        QTest::newRow("portrait 200x300") << 200 << 300 << QList<double>{1.0} << 300 << 129 << 5;
        QTest::newRow("three scales, 1/3 mean") << 150 << 100 << QList<double>{0.5, 1.0, 1.5} << 150 << 97 << 4;
        QTest::newRow("exactly half size (INTER_AREA path)") << 64 << 48 << QList<double>{1.0} << 128 << 65 << 5;
        QTest::newRow("300 classes (int16)") << 80 << 60 << QList<double>{0.75, 1.0} << 80 << 49 << 300;
    }
    void matchesImageCombiner()
    {
        QFETCH(int, width);
        QFETCH(int, height);
        QFETCH(QList<double>, scales);
        QFETCH(int, baseSize);
        QFETCH(int, crop);
        QFETCH(int, classes);
        const auto plan = makePlan(width, height, std::vector<double>(scales.begin(), scales.end()), baseSize, crop);
        at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(width * 1000 + classes));
        // One tensor per window, drawn in plan order so both combiners see the same numbers.
        std::vector<std::vector<at::Tensor>> probs(plan.scales.size());
        for (size_t l = 0; l < plan.scales.size(); ++l)
            for (size_t k = 0; k < plan.scales[l].windows.size(); ++k)
                probs[l].push_back(randomProbabilities(classes, crop, gen));
        const auto [reference, device] = combineBoth(plan, classes, [&](int l, int k) {
            return probs[static_cast<size_t>(l)][static_cast<size_t>(k)];
        });

        QCOMPARE(device.labels.dim(), int64_t(2));
        QCOMPARE(device.labels.size(0), int64_t(height));
        QCOMPARE(device.labels.size(1), int64_t(width));
        QVERIFY(device.labels.device().is_cpu());
        QCOMPARE(device.labels.scalar_type(), classes > 255 ? torch::kShort : torch::kByte);
        const Agreement a = compareLabels(reference.labels, device.labels);
        double maxCompositionDiff = 0;
        double compositionSum = 0;
        QCOMPARE(device.composition.size(), size_t(classes));
        for (int k = 0; k < classes; ++k) {
            maxCompositionDiff = std::max(maxCompositionDiff, std::abs(device.composition[size_t(k)] -
                                                                       reference.composition[size_t(k)]));
            compositionSum += device.composition[size_t(k)];
        }
        qInfo("%d windows: labels agree on %lld of %lld pixels (%.6f), max composition diff %.3g",
              plan.windowCount(), static_cast<long long>(a.equal), static_cast<long long>(a.total), a.fraction(),
              maxCompositionDiff);
        QVERIFY2(a.fraction() >= 0.9999, "labels must agree on at least 99.99% of pixels");
        QVERIFY(maxCompositionDiff <= 1e-4);
        QVERIFY(std::abs(compositionSum - 1.0) < 1e-9);
    }

    // The resize on its own against cv::resize: the only place where the two combines may
    // round differently.
    void resizeMatchesOpenCV_data()
    {
        QTest::addColumn<int>("inH");
        QTest::addColumn<int>("inW");
        QTest::addColumn<int>("outH");
        QTest::addColumn<int>("outW");
        QTest::newRow("up") << 53 << 37 << 80 << 100;
        QTest::newRow("down") << 80 << 100 << 53 << 37;
        QTest::newRow("down, level to image") << 341 << 512 << 200 << 300;
        QTest::newRow("exactly half") << 48 << 64 << 24 << 32;
        QTest::newRow("same") << 50 << 50 << 50 << 50;
        QTest::newRow("tiny up") << 3 << 2 << 9 << 11;
        QTest::newRow("one row and column") << 1 << 1 << 4 << 5;
        QTest::newRow("to one pixel") << 7 << 9 << 1 << 1;
    }
    void resizeMatchesOpenCV()
    {
        QFETCH(int, inH);
        QFETCH(int, inW);
        QFETCH(int, outH);
        QFETCH(int, outW);
        const int channels = 5;
        at::Generator gen = at::detail::createCPUGenerator(3);
        const at::Tensor chw = torch::rand({channels, inH, inW}, gen, torch::kFloat);
        const at::Tensor hwc = chw.permute({1, 2, 0}).contiguous();
        const cv::Mat src(inH, inW, CV_32FC(channels), hwc.data_ptr<float>());
        cv::Mat expected;
        cv::resize(src, expected, cv::Size(outW, outH), 0, 0, cv::INTER_LINEAR);
        const at::Tensor got = DeviceCombiner::resizeLinear(chw, outH, outW).permute({1, 2, 0}).contiguous();
        QCOMPARE(got.size(0), int64_t(outH));
        QCOMPARE(got.size(1), int64_t(outW));
        const at::Tensor want = torch::from_blob(expected.data, {outH, outW, channels}, torch::kFloat);
        const double maxDiff = (got - want).abs().max().item<double>();
        const double exact = got.eq(want).to(torch::kDouble).mean().item<double>();
        qInfo("%dx%d -> %dx%d: %.6f of values bit-identical to cv::resize, max diff %.3g", inW, inH, outW, outH, exact,
              maxDiff);
        QVERIFY(maxDiff <= 1e-6);
    }

    // Probabilities that favour a known class per region of the original image: the label
    // map must show those regions where they are (an x/y swap, a wrong pad offset or a
    // misplaced window would move them), whatever the other combine does.
    void knownClassPerRegion()
    {
        const int width = 160, height = 120, classes = 6;
        const int splitX = 53, splitY = 30;  // asymmetric, so a transposition shows
        const auto truth = [&](double x, double y) { return (x < splitX ? 1 : 3) + (y < splitY ? 0 : 1); };
        const auto plan = makePlan(width, height, {0.5, 1.0, 1.5}, 160, 81);  // 0.5 is padded
        at::Generator gen = at::detail::createCPUGenerator(5);
        // Per level: the padded level's favoured class map (5 in the padding).
        std::vector<at::Tensor> favoured;
        for (const auto &s : plan.scales) {
            at::Tensor map = torch::full({s.paddedHeight, s.paddedWidth}, 5, torch::kLong);
            auto m = map.accessor<int64_t, 2>();
            for (int py = 0; py < s.scaledHeight; ++py)
                for (int px = 0; px < s.scaledWidth; ++px) {
                    // The original pixel this level pixel samples (pixel centres).
                    const double x = (px + 0.5) * width / s.scaledWidth - 0.5;
                    const double y = (py + 0.5) * height / s.scaledHeight - 0.5;
                    m[py + s.padTop][px + s.padLeft] = truth(x, y);
                }
            favoured.push_back(map);
        }
        const auto probabilities = [&](int l, int k) {
            const auto &s = plan.scales[size_t(l)];
            const Procedure::Window &w = s.windows[size_t(k)];
            const at::Tensor cls = favoured[size_t(l)].narrow(0, w.y, s.crop).narrow(1, w.x, s.crop);
            at::Tensor p = torch::one_hot(cls, classes).permute({2, 0, 1}).to(torch::kFloat) * 0.6f + 0.4f / classes;
            // Per-window noise, small enough not to move a label away from the borders.
            p += torch::rand(p.sizes(), gen, torch::kFloat) * 0.05f;
            return (p / p.sum(0, true)).contiguous();
        };
        const auto [reference, device] = combineBoth(plan, classes, probabilities);
        const auto labels = device.labels.to(torch::kInt);
        const auto l = labels.accessor<int, 2>();
        std::int64_t interior = 0, interiorRight = 0, right = 0;
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                const int want = truth(x, y);
                right += l[y][x] == want;
                // Near a region border the resizes blend the two classes.
                if (std::abs(x - splitX) <= 3 || std::abs(y - splitY) <= 3)
                    continue;
                ++interior;
                interiorRight += l[y][x] == want;
            }
        qInfo("known regions: %lld of %lld interior pixels right, %.4f of all pixels",
              static_cast<long long>(interiorRight), static_cast<long long>(interior),
              static_cast<double>(right) / (width * height));
        QCOMPARE(interiorRight, interior);
        // The composition is the regions' areas, up to the blended borders.
        const double area1 = double(splitX) * splitY / (width * height);
        QVERIFY(std::abs(device.composition[1] - area1) < 0.02);
        QCOMPARE(device.composition[0], 0.0);
        QCOMPARE(device.composition[5], 0.0);
        QVERIFY(compareLabels(reference.labels, device.labels).fraction() >= 0.9999);
    }

    void tiesGoToTheLowestClass()
    {
        const int classes = 7;
        const auto plan = makePlan(90, 70, {0.5, 1.0}, 90, 49);
        // Classes 2 and 4 tie everywhere and beat the rest: every pixel must say 2.
        at::Tensor p = torch::full({classes, 49, 49}, 0.1f);
        p[2].fill_(0.25f);
        p[4].fill_(0.25f);
        const auto [reference, device] = combineBoth(plan, classes, [&](int, int) { return p; });
        QVERIFY(torch::all(device.labels == 2).item<bool>());
        QCOMPARE(device.composition[2], 1.0);
        QCOMPARE(compareLabels(reference.labels, device.labels).fraction(), 1.0);
        // All equal: class 0.
        const at::Tensor uniform = torch::full({classes, 49, 49}, 1.0f / classes);
        const auto [reference2, device2] = combineBoth(plan, classes, [&](int, int) { return uniform; });
        QVERIFY(torch::all(device2.labels == 0).item<bool>());
        QCOMPARE(compareLabels(reference2.labels, device2.labels).fraction(), 1.0);
    }

    // Levels finished out of order and on several threads at once give the same bits as
    // levels finished in order (the sum is made in scale order either way).
    void levelsFinishInAnyOrder()
    {
        const int classes = 5;
        const auto plan = makePlan(128, 96, {0.5, 0.75, 1.0, 1.25}, 128, 81);
        at::Generator gen = at::detail::createCPUGenerator(21);
        std::vector<std::vector<at::Tensor>> probs(plan.scales.size());
        for (size_t l = 0; l < plan.scales.size(); ++l)
            for (size_t k = 0; k < plan.scales[l].windows.size(); ++k)
                probs[l].push_back(randomProbabilities(classes, 81, gen));
        const auto fill = [&](DeviceCombiner &c) {
            for (size_t l = 0; l < plan.scales.size(); ++l)
                for (size_t k = 0; k < probs[l].size(); ++k)
                    c.addWindow(static_cast<int>(l), static_cast<int>(k), probs[l][k]);
        };
        DeviceCombiner inOrder(plan, classes, cpu), concurrent(plan, classes, cpu);
        fill(inOrder);
        fill(concurrent);
        for (int l = 0; l < 4; ++l)
            inOrder.finishLevel(l);
        std::vector<std::thread> threads;
        for (int l = 3; l >= 0; --l)
            threads.emplace_back([&concurrent, l] { concurrent.finishLevel(l); });
        for (auto &t : threads)
            t.join();
        const auto a = inOrder.finish(), b = concurrent.finish();
        QVERIFY(torch::equal(a.labels, b.labels));
        QCOMPARE(a.composition, b.composition);
    }

    // The tensor combine works in bands of output rows (memory bounded by a band, not by
    // the photo); every band size gives the whole-image result bit for bit — that of the
    // tensor combine with one band of every row, and that of the host's whole-image
    // combine (cv::resize to H x W x C, cv::add, /= n, argmax).
    void bandsEqualTheFullMap_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<QList<double>>("scales");
        QTest::addColumn<int>("baseSize");
        QTest::addColumn<int>("crop");
        QTest::addColumn<int>("classes");
        QTest::newRow("2 classes, four scales") << 90 << 70 << QList<double>{0.5, 0.75, 1.0, 1.25} << 48 << 29 << 2;
        QTest::newRow("20 classes, panorama 4:1") << 200 << 50 << QList<double>{0.5, 1.0} << 64 << 33 << 20;
        QTest::newRow("20 classes, portrait, 1/3 mean") << 50 << 75 << QList<double>{0.5, 1.0, 1.5} << 40 << 25 << 20;
        QTest::newRow("150 classes, four scales") << 96 << 72 << QList<double>{0.5, 0.75, 1.0, 1.25} << 48 << 29 << 150;
        QTest::newRow("20 classes, exactly half (INTER_AREA)") << 32 << 24 << QList<double>{0.5, 1.0} << 64 << 33 << 20;
        QTest::newRow("20 classes, same size") << 64 << 48 << QList<double>{1.0} << 64 << 33 << 20;
    }
    void bandsEqualTheFullMap()
    {
        QFETCH(int, width);
        QFETCH(int, height);
        QFETCH(QList<double>, scales);
        QFETCH(int, baseSize);
        QFETCH(int, crop);
        QFETCH(int, classes);
        const auto plan = makePlan(width, height, std::vector<double>(scales.begin(), scales.end()), baseSize, crop);
        at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(width * 7 + classes));
        std::vector<std::vector<at::Tensor>> probs(plan.scales.size());
        for (size_t l = 0; l < plan.scales.size(); ++l)
            for (size_t k = 0; k < plan.scales[l].windows.size(); ++k)
                probs[l].push_back(randomProbabilities(classes, crop, gen));

        Pipeline::ImageCombiner host(plan, classes);
        for (size_t l = 0; l < probs.size(); ++l)
            for (size_t k = 0; k < probs[l].size(); ++k) {
                const at::Tensor hwc = probs[l][k].permute({1, 2, 0}).contiguous();
                host.addWindow(static_cast<int>(l), static_cast<int>(k), hwc.data_ptr<float>());
            }
        const Pipeline::Segmentation full = host.finishFullMap();

        std::optional<DeviceCombiner::Output> whole;
        for (int band : {height, 1, 3, 16}) {
            DeviceCombiner device(plan, classes, cpu);
            device.setBandRows(band);
            for (size_t l = 0; l < probs.size(); ++l)
                for (size_t k = 0; k < probs[l].size(); ++k)
                    device.addWindow(static_cast<int>(l), static_cast<int>(k), probs[l][k]);
            DeviceCombiner::Output out = device.finish();
            QCOMPARE(compareLabels(full.labels, out.labels).fraction(), 1.0);
            QCOMPARE(out.composition, full.composition);
            if (!whole) {
                whole = std::move(out);
                continue;
            }
            QVERIFY2(torch::equal(out.labels, whole->labels), qPrintable(QStringLiteral("bands of %1 rows").arg(band)));
            QCOMPARE(out.composition, whole->composition);
        }
    }

    // A band's rows of the resize are the whole resize's rows, bit for bit.
    void resizeRowsEqualTheWholeResize()
    {
        at::Generator gen = at::detail::createCPUGenerator(3);
        for (const auto &[h, w, outH, outW] : std::vector<std::array<int64_t, 4>>{{12, 16, 97, 131}, {70, 90, 33, 41}, {48, 64, 24, 32}, {1, 9, 20, 30}}) {
            const at::Tensor chw = torch::rand({5, h, w}, gen);
            const at::Tensor whole = DeviceCombiner::resizeLinear(chw, outH, outW);
            for (int64_t band : {int64_t(1), int64_t(7)})
                for (int64_t y0 = 0; y0 < outH; y0 += band) {
                    const int64_t y1 = std::min(outH, y0 + band);
                    QVERIFY(torch::equal(DeviceCombiner::resizeLinearRows(chw, outH, outW, y0, y1), whole.narrow(1, y0, y1 - y0)));
                }
        }
    }

    void misuseIsRefused()
    {
        const auto plan = makePlan(90, 70, {1.0}, 90, 49);
        DeviceCombiner c(plan, 3, cpu);
        const at::Tensor p = torch::full({3, 49, 49}, 1.0f / 3);
        QVERIFY_THROWS_EXCEPTION(std::logic_error, c.addWindow(0, 1, p));  // out of order
        QVERIFY_THROWS_EXCEPTION(std::logic_error, c.finishLevel(0));      // incomplete
        QVERIFY_THROWS_EXCEPTION(c10::Error, c.addWindow(0, 0, torch::zeros({3, 48, 49})));
        QVERIFY_THROWS_EXCEPTION(c10::Error, c.addWindow(0, 0, p.to(torch::kDouble)));
        QVERIFY(DeviceCombiner::estimateBytes(plan, 3) >= size_t(90 * 70 * 3 * 4));
    }

    // The window step equals the CPU engine's original one and WindowInference::run, bit
    // for bit, in float32.
    void windowStepMatchesWindowInference_data()
    {
        QTest::addColumn<bool>("downsample");
        QTest::addColumn<bool>("flip");
        QTest::newRow("smaller output, flip") << true << true;
        QTest::newRow("smaller output, no flip") << true << false;
        QTest::newRow("same size, flip") << false << true;
        QTest::newRow("same size, no flip") << false << false;
    }
    void windowStepMatchesWindowInference()
    {
        QFETCH(bool, downsample);
        QFETCH(bool, flip);
        const Test::TinyNetwork net(5, downsample);
        at::Generator gen = at::detail::createCPUGenerator(9);
        const at::Tensor windows = torch::randn({3, 3, 33, 33}, gen, torch::kFloat);
        const at::Tensor expected = originalWindowInference(net, windows, flip);
        const at::Tensor got = Procedure::windowProbabilities([&](const at::Tensor &x) { return net.forward(x); },
                                                              windows, flip);
        QCOMPARE(got.scalar_type(), torch::kFloat);
        QCOMPARE(got.sizes().vec(), (std::vector<int64_t>{3, 5, 33, 33}));
        QVERIFY(torch::equal(got.permute({0, 2, 3, 1}).contiguous(), expected));
        QVERIFY(torch::equal(Pipeline::WindowInference::run(net, windows, flip), expected));
        // Per-window results do not depend on the batch.
        const at::Tensor one = Procedure::windowProbabilities([&](const at::Tensor &x) { return net.forward(x); },
                                                              windows.slice(0, 1, 2), flip);
        QVERIFY(torch::equal(one[0], got[1]));
    }

    // The device pyramid against the Preprocessor (OpenCV), both on the float32 image as
    // the official loader makes it: levels within 1e-4 (float rounding of the resize),
    // the border the exact float mean, the normalisation bit-identical on the same level.
    void pyramidMatchesPreprocessor()
    {
        const cv::Mat photo = syntheticPhoto(150, 100, 4);
        Model::InputSpec input;
        const cv::Mat image = Pipeline::Preprocessor::toNetworkImage(photo, input.colorOrder);
        cv::Mat ordered;  // the card's order (RGB), still 8-bit: DevicePyramid makes the floats
        cv::cvtColor(photo, ordered, cv::COLOR_BGR2RGB);
        const at::Tensor tensor = toTensor(ordered);
        const at::Tensor floats = torch::from_blob(image.data, {image.rows, image.cols, 3}, torch::kFloat).clone();
        const auto plan = makePlan(150, 100, {0.5, 0.75, 1.0, 1.25, 2.0}, 150, 97);
        for (const auto &s : plan.scales) {
            const cv::Mat expected = Pipeline::Preprocessor::scaleAndPad(image, s, input.mean);
            const at::Tensor got = DevicePyramid::level(tensor, s, input.mean);
            QVERIFY(torch::equal(got, DevicePyramid::level(floats, s, input.mean)));
            QCOMPARE(got.scalar_type(), torch::kFloat);
            QCOMPARE(got.sizes().vec(), (std::vector<int64_t>{3, s.paddedHeight, s.paddedWidth}));
            const at::Tensor want =
                torch::from_blob(expected.data, {expected.rows, expected.cols, 3}, torch::kFloat).permute({2, 0, 1});
            const double maxDiff = (got - want).abs().max().item<double>();
            qInfo("scale %.2f: %.6f of values equal to OpenCV's, max diff %g", s.scale,
                  got.eq(want).to(torch::kDouble).mean().item<double>(), maxDiff);
            QVERIFY2(maxDiff <= 1e-4, qPrintable(QStringLiteral("max diff %1").arg(maxDiff)));
            // The padding is the exact float mean on both sides (not rounded to 8 bits).
            if (s.padTop > 0)
                for (int64_t c = 0; c < 3; ++c)
                    QVERIFY(torch::all(got[c].narrow(0, 0, s.padTop).eq(input.mean[size_t(c)])).item<bool>());

            // Normalisation: OpenCV's padded image through both.
            const at::Tensor windows =
                DevicePyramid::windows(want.contiguous(), s, input.mean, input.std, torch::kFloat);
            QCOMPARE(windows.size(0), int64_t(s.windows.size()));
            std::vector<float> buffer(size_t(3) * s.crop * s.crop);
            for (size_t k = 0; k < s.windows.size(); ++k) {
                Pipeline::Preprocessor::normaliseWindow(expected, s.windows[k], s.crop, input, buffer.data());
                const at::Tensor ref = torch::from_blob(buffer.data(), {3, s.crop, s.crop}, torch::kFloat);
                QVERIFY(torch::equal(windows[int64_t(k)], ref));
            }
        }
    }

    // A bfloat16 network through the whole device path: it runs on the CPU, gives float32
    // probabilities, and labels close to the float32 network's.
    void bfloat16Runs()
    {
        const int classes = 6;
        const auto plan = makePlan(130, 97, {0.75, 1.0}, 130, 65);
        const at::Tensor image = toTensor(syntheticPhoto(130, 97, 8));
        const TinyConvNet fp32(classes, torch::kFloat), bf16(classes, torch::kBFloat16);
        const auto windows = DevicePyramid::windows(
            DevicePyramid::level(image, plan.scales[1], {123.675f, 116.28f, 103.53f}), plan.scales[1],
            {123.675f, 116.28f, 103.53f}, {58.395f, 57.12f, 57.375f}, torch::kBFloat16);
        QCOMPARE(windows.scalar_type(), torch::kBFloat16);
        const at::Tensor probs = Procedure::windowProbabilities(bf16, windows, true);
        QCOMPARE(probs.scalar_type(), torch::kFloat);
        QVERIFY(torch::allclose(probs.sum(1), torch::ones({probs.size(0), 65, 65}), 1e-4, 1e-4));

        const auto a = segmentOnDevice(image, plan, classes, fp32, torch::kFloat, true);
        const auto b = segmentOnDevice(image, plan, classes, bf16, torch::kBFloat16, true);
        const double agreement = a.labels.eq(b.labels).to(torch::kDouble).mean().item<double>();
        qInfo("bfloat16 vs float32 network: labels agree on %.6f of pixels", agreement);
        QVERIFY(agreement > 0.9);
    }
};

QTEST_GUILESS_MAIN(DeviceCombinerTest)
#include "tst_devicecombiner.moc"
