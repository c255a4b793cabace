// The engine against the official procedure transcribed line for line
// (tests/common/referenceprocedure.h: semseg's util/dataset.py loader, which makes the
// image float32, and tool/test.py with numpy's float64 accumulators), on a tiny
// deterministic network; and the pyramid against the float resize the loader implies.
// Tolerance: the engine computes in float32, the reference in float64, so a pixel whose
// two best classes differ by less than float32 rounding may flip; we allow at most
// 0.1% of pixels to differ and require the compositions to agree within 0.001.
// Sequential and pipelined schedules must agree bit for bit, at every batch size.

#include "common/referenceprocedure.h"
#include "common/enginefixtures.h"
#include "common/syntheticphoto.h"
#include "common/testnetworks.h"
#include "pipeline/engine.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/imagetask.h"
#include "pipeline/outputwriter.h"
#include "pipeline/preprocessor.h"
#include "pipeline/tiling.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QtTest>

#include <cmath>

using namespace SegScale;
using namespace SegScale::Pipeline;

namespace {

using Testing::syntheticPhoto;

SegScale::Testing::ReferenceSettings referenceOf(const SegmentOptions &o)
{
    SegScale::Testing::ReferenceSettings r;
    r.scales.assign(o.scales.begin(), o.scales.end());
    r.baseSize = o.baseSize;
    r.crop = o.crop;
    r.flip = o.flip;
    r.strideRate = o.strideRate;
    return r;
}

using Testing::CollectSink;
using Testing::png;
using Testing::VectorSource;

} // namespace

class ProcedureTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    void matchesDirectImplementation_data()
    {
        QTest::addColumn<int>("w");
        QTest::addColumn<int>("h");
        QTest::addColumn<QString>("scales");
        QTest::addColumn<bool>("flip");
        QTest::addColumn<bool>("downsample");
        QTest::newRow("smaller than crop, 1 scale") << 30 << 20 << QStringLiteral("1") << true << true;
        QTest::newRow("landscape, 4 scales, flip") << 90 << 61 << QStringLiteral("0.5,0.75,1,1.25") << true << true;
        QTest::newRow("portrait, 2 scales, no flip") << 47 << 83 << QStringLiteral("0.75,1.5") << false << true;
        QTest::newRow("full-size output, 3 scales") << 64 << 64 << QStringLiteral("0.5,1,1.25") << true << false;
    }
    void matchesDirectImplementation()
    {
        QFETCH(int, w);
        QFETCH(int, h);
        QFETCH(QString, scales);
        QFETCH(bool, flip);
        QFETCH(bool, downsample);
        auto net = std::make_shared<Test::TinyNetwork>(5, downsample);
        SegmentOptions o;
        o.scales.clear();
        for (const auto &s : scales.split(QLatin1Char(',')))
            o.scales << s.toDouble();
        o.baseSize = 64;
        o.crop = 33;
        o.flip = flip;
        const cv::Mat photo = syntheticPhoto(w, h, w * 7 + h);
        cv::Mat expected;
        SegScale::Testing::referenceLabels(*net, photo, referenceOf(o)).convertTo(expected, CV_8U);
        Engine engine(net, o, nullptr);
        auto seg = engine.segmentImage(photo);
        QVERIFY2(seg.ok(), qPrintable(seg.ok() ? QString() : seg.error().message));
        QCOMPARE(seg->labels.size(), expected.size());
        const int differing = cv::countNonZero(seg->labels != expected);
        const int allowed = std::max(1, int(expected.total() / 1000));
        QVERIFY2(differing <= allowed, qPrintable(QStringLiteral("%1 of %2 pixels differ").arg(differing).arg(expected.total())));
        // The labels are not all one class: the test would be vacuous otherwise.
        double minV, maxV;
        cv::minMaxLoc(expected, &minV, &maxV);
        QVERIFY(maxV > minV);
        double sum = 0;
        for (double f : seg->composition)
            sum += f;
        QVERIFY(std::abs(sum - 1.0) < 1e-9);
    }

    // The regression that the float32 loader step guards against: on an image with fine
    // detail OpenCV's 8-bit resize (fixed point, rounded to integers) and its float resize
    // differ; the pyramid must be the float one, and the border the exact float mean.
    void pyramidIsTheFloatResize()
    {
        // Fine stripes and noise: bilinear weights land between grey levels everywhere.
        cv::Mat photo(57, 83, CV_8UC3);
        cv::RNG rng(11);
        rng.fill(photo, cv::RNG::UNIFORM, 0, 256);
        Model::InputSpec input;
        input.colorOrder = Model::ColorOrder::RGB;
        input.mean = {123.675f, 116.28f, 103.53f};  // not integers: rounding would show
        TilingParams t;
        t.scales = {0.75, 1.0, 1.6};
        t.baseSize = 83;
        t.crop = 95;  // every level is padded in height
        const ImagePlan plan = Tiling::plan(photo.cols, photo.rows, t);
        const cv::Mat image = Preprocessor::toNetworkImage(photo, input.colorOrder);
        QCOMPARE(image.type(), CV_32FC3);
        // The loader's steps, independently: cvtColor on the 8-bit image, then np.float32.
        cv::Mat rgb, floats;
        cv::cvtColor(photo, rgb, cv::COLOR_BGR2RGB);
        rgb.convertTo(floats, CV_32F);
        QCOMPARE(cv::norm(image, floats, cv::NORM_INF), 0.0);
        int levelsWhereUint8Differs = 0;
        for (const ScalePlan &s : plan.scales) {
            const cv::Mat level = Preprocessor::scaleAndPad(image, s, input.mean);
            QCOMPARE(level.type(), CV_32FC3);
            QCOMPARE(level.size(), cv::Size(s.paddedWidth, s.paddedHeight));
            cv::Mat wantScaled, uint8Scaled;
            cv::resize(floats, wantScaled, cv::Size(s.scaledWidth, s.scaledHeight), 0, 0, cv::INTER_LINEAR);
            cv::resize(rgb, uint8Scaled, cv::Size(s.scaledWidth, s.scaledHeight), 0, 0, cv::INTER_LINEAR);
            const cv::Rect inner(s.padLeft, s.padTop, s.scaledWidth, s.scaledHeight);
            const double diff = cv::norm(level(inner), wantScaled, cv::NORM_INF);
            QVERIFY2(diff <= 1e-4, qPrintable(QStringLiteral("scale %1: max diff %2").arg(s.scale).arg(diff)));
            cv::Mat uint8AsFloat;
            uint8Scaled.convertTo(uint8AsFloat, CV_32F);
            if (cv::norm(uint8AsFloat, wantScaled, cv::NORM_INF) > 0.25)
                ++levelsWhereUint8Differs;
            QVERIFY(s.padTop + s.padBottom > 0);
            for (int y = 0; y < level.rows; ++y)
                for (int x = 0; x < level.cols; ++x) {
                    if (inner.contains(cv::Point(x, y)))
                        continue;
                    const auto &px = level.at<cv::Vec3f>(y, x);
                    for (int c = 0; c < 3; ++c)
                        QCOMPARE(px[c], input.mean[size_t(c)]);  // exact, not rounded to 8 bits
                }
        }
        // Scale 1 is a copy; the other two must show the difference, or this test is vacuous.
        QCOMPARE(levelsWhereUint8Differs, 2);
    }

    void pipelinedEqualsSequentialBitForBit_data()
    {
        QTest::addColumn<int>("batch");
        QTest::newRow("batch 1") << 1;
        QTest::newRow("batch 3") << 3;
        QTest::newRow("batch 8") << 8;
    }
    void pipelinedEqualsSequentialBitForBit()
    {
        QFETCH(int, batch);
        auto net = std::make_shared<Test::TinyNetwork>(7, true);
        SegmentOptions o;
        o.scales = {0.5, 0.75, 1.0, 1.25};
        o.baseSize = 72;
        o.crop = 33;
        o.flip = true;
        o.batch = batch;
        std::vector<QByteArray> inputs;
        for (int i = 0; i < 6; ++i)
            inputs.push_back(png(syntheticPhoto(40 + 13 * i, 90 - 9 * i, i)));
        inputs.insert(inputs.begin() + 2, QByteArray("this is not an image"));  // fails alone

        o.mode = EngineMode::Sequential;
        CollectSink seq;
        VectorSource s1(inputs);
        Engine(net, o, nullptr).run(s1, seq);
        o.mode = EngineMode::Pipelined;
        CollectSink pip;
        VectorSource s2(inputs);
        const RunStats stats = Engine(net, o, nullptr).run(s2, pip);

        QCOMPARE(seq.done.size(), size_t(6));
        QCOMPARE(pip.done.size(), size_t(6));
        QCOMPARE(pip.failed.size(), size_t(1));
        QCOMPARE(pip.failed.begin()->first, qint64(2));
        QCOMPARE(pip.failed.begin()->second.category, ErrorCategory::Unsupported);
        for (const auto &[id, comp] : seq.done)
            QCOMPARE(pip.done.at(id), comp);  // exact equality of every fraction
        QVERIFY(stats.windowsPerForward() <= batch);
        if (batch > 1)
            QVERIFY(stats.windowsPerForward() > 1.0);  // batches really were filled
    }

    void labelsIdenticalAcrossSchedules()
    {
        // Bit-identical label maps (not only compositions): segmentImage is the sequential
        // loop; compare with a one-image pipelined run through a sink that keeps labels.
        auto net = std::make_shared<Test::TinyNetwork>(6, true);
        SegmentOptions o;
        o.scales = {0.75, 1.0};
        o.baseSize = 80;
        o.crop = 41;
        const cv::Mat photo = syntheticPhoto(77, 52, 3);
        auto a = Engine(net, o, nullptr).segmentImage(photo);
        QVERIFY(a.ok());
        // Batch-size invariance of the network step is what makes schedules agree.
        o.batch = 5;
        QTemporaryDir dir;
        OutputWriter writer(dir.path(), net->card().palette, true, false);
        QVERIFY(writer.prepare().ok());
        CollectSink sink;
        VectorSource src({png(photo), png(photo)});
        Engine(net, o, &writer).run(src, sink);
        QCOMPARE(sink.done.size(), size_t(2));
        for (const char *name : {"img0", "img1"}) {
            const cv::Mat written = cv::imread(QString(dir.path() + QStringLiteral("/labels/%1.png").arg(QLatin1StringView(name))).toStdString(),
                                               cv::IMREAD_UNCHANGED);
            QCOMPARE(written.size(), a->labels.size());
            QCOMPARE(cv::countNonZero(written != a->labels), 0);
            QVERIFY(QFile::exists(dir.path() + QStringLiteral("/overlays/%1.jpg").arg(QLatin1StringView(name))));
        }
        QCOMPARE(sink.done.at(0), a->composition);
    }
};

QTEST_GUILESS_MAIN(ProcedureTest)
#include "tst_procedure.moc"
