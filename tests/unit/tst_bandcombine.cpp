// The banded combine (BandCombine, what ImageCombiner::finish() runs) against the
// whole-image combine it replaced (ImageCombiner::finishFullMap(): cv::resize of every
// level to H x W x C, cv::add, `/= n`, argmax), bit for bit: the same labels and the same
// composition across image sizes and aspect ratios, scale sets, 2, 20 and 150 classes and
// band sizes down to one row. And the band resize on its own against cv::resize, row by
// row: upscales, downscales, exactly half (INTER_AREA's path), same size, one axis equal.
//
// No tolerance anywhere: both sides do the same float32 operations in the same order.

#include "pipeline/bandcombine.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/tiling.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <QtTest>

#include <cstring>

using namespace SegScale;
using Pipeline::BandCombine;
using Pipeline::ImageCombiner;
using Pipeline::Segmentation;

namespace {

bool sameBits(const cv::Mat &a, const cv::Mat &b)
{
    if (a.size() != b.size() || a.type() != b.type())
        return false;
    for (int y = 0; y < a.rows; ++y)
        if (std::memcmp(a.ptr(y), b.ptr(y), a.cols * a.elemSize()) != 0)
            return false;
    return true;
}

// Window probabilities for a plan, crop x crop x C per window, in plan order. `coarse`
// draws multiples of 1/4, so that exact ties between classes are everywhere and the
// tie rule (lowest class) is exercised, not just the arithmetic.
std::vector<std::vector<cv::Mat>> windowsFor(const Pipeline::ImagePlan &plan, int classes, bool coarse, int seed)
{
    cv::RNG rng(static_cast<uint64>(seed));
    std::vector<std::vector<cv::Mat>> all;
    for (const auto &s : plan.scales) {
        std::vector<cv::Mat> level;
        for (size_t w = 0; w < s.windows.size(); ++w) {
            cv::Mat p(s.crop, s.crop, CV_32FC(classes));
            if (coarse) {
                cv::Mat q(s.crop, s.crop, CV_32SC(classes));
                rng.fill(q, cv::RNG::UNIFORM, 0, 5);
                q.convertTo(p, CV_32F, 0.25);
            } else {
                rng.fill(p, cv::RNG::UNIFORM, 0.0, 1.0);
            }
            level.push_back(p);
        }
        all.push_back(std::move(level));
    }
    return all;
}

void feed(ImageCombiner &c, const std::vector<std::vector<cv::Mat>> &windows)
{
    for (size_t l = 0; l < windows.size(); ++l) {
        for (size_t w = 0; w < windows[l].size(); ++w)
            c.addWindow(static_cast<int>(l), static_cast<int>(w), windows[l][w].ptr<float>());
        c.finishLevel(static_cast<int>(l));
    }
}

} // namespace

class BandCombineTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bandsEqualTheFullMap_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<QList<double>>("scales");
        QTest::addColumn<int>("baseSize");
        QTest::addColumn<int>("crop");
        QTest::addColumn<int>("classes");
        QTest::addColumn<bool>("coarse");
        // Small images and a small base size, so that levels are enlarged several times
        // over, as a photo's levels are (base 512 against 4000 pixels).
        QTest::newRow("2 classes, one scale") << 97 << 61 << QList<double>{1.0} << 40 << 25 << 2 << false;
        QTest::newRow("2 classes, four scales, ties") << 90 << 70 << QList<double>{0.5, 0.75, 1.0, 1.25} << 48 << 29 << 2 << true;
        QTest::newRow("20 classes, portrait") << 61 << 97 << QList<double>{0.5, 1.0} << 48 << 29 << 20 << false;
        QTest::newRow("20 classes, panorama 4:1") << 240 << 60 << QList<double>{0.5, 0.75, 1.0, 1.25} << 64 << 33 << 20 << false;
        QTest::newRow("20 classes, three scales (1/3 mean), ties") << 75 << 50 << QList<double>{0.5, 1.0, 1.5} << 40 << 25 << 20 << true;
        QTest::newRow("150 classes, four scales") << 120 << 90 << QList<double>{0.5, 0.75, 1.0, 1.25} << 48 << 29 << 150 << false;
        QTest::newRow("150 classes, tall 1:3, ties") << 30 << 90 << QList<double>{0.75, 1.0} << 40 << 25 << 150 << true;
        QTest::newRow("150 classes, shrunk (base > image)") << 50 << 40 << QList<double>{1.0, 1.25} << 90 << 49 << 150 << false;
        QTest::newRow("20 classes, same size (copy)") << 64 << 48 << QList<double>{1.0} << 64 << 33 << 20 << false;
        QTest::newRow("20 classes, exactly half (INTER_AREA)") << 32 << 24 << QList<double>{0.5, 1.0} << 64 << 33 << 20 << false;
        QTest::newRow("150 classes, one row image") << 80 << 1 << QList<double>{1.0} << 40 << 25 << 150 << false;
    }
    void bandsEqualTheFullMap()
    {
        QFETCH(int, width);
        QFETCH(int, height);
        QFETCH(QList<double>, scales);
        QFETCH(int, baseSize);
        QFETCH(int, crop);
        QFETCH(int, classes);
        QFETCH(bool, coarse);
        const auto plan = Pipeline::Tiling::plan(width, height, Pipeline::TilingParams{Pipeline::toScaleVector(scales), baseSize, crop, 2.0 / 3.0});
        const auto windows = windowsFor(plan, classes, coarse, width * 31 + classes);

        ImageCombiner full(plan, classes);
        feed(full, windows);
        const Segmentation expected = full.finishFullMap();

        for (int band : {1, 2, 7, 32, height}) {
            ImageCombiner banded(plan, classes);
            banded.setBandRows(band);
            feed(banded, windows);
            const Segmentation got = banded.finish();
            QVERIFY2(sameBits(got.labels, expected.labels), qPrintable(QStringLiteral("labels differ with bands of %1 rows").arg(band)));
            QCOMPARE(got.composition, expected.composition);
        }
    }

    // Several OpenCV threads take bands in parallel: nothing changes.
    void threadsChangeNothing()
    {
        const auto plan = Pipeline::Tiling::plan(150, 110, Pipeline::TilingParams{{0.5, 1.0, 1.25}, 48, 29, 2.0 / 3.0});
        const auto windows = windowsFor(plan, 20, false, 5);
        ImageCombiner full(plan, 20);
        feed(full, windows);
        const Segmentation expected = full.finishFullMap();
        const int before = cv::getNumThreads();
        cv::setNumThreads(2);
        ImageCombiner banded(plan, 20);
        banded.setBandRows(3);
        feed(banded, windows);
        const Segmentation got = banded.finish();
        cv::setNumThreads(before);
        QVERIFY(sameBits(got.labels, expected.labels));
        QCOMPARE(got.composition, expected.composition);
    }

    void resizeRowsIsCvResize_data()
    {
        QTest::addColumn<int>("inW");
        QTest::addColumn<int>("inH");
        QTest::addColumn<int>("outW");
        QTest::addColumn<int>("outH");
        QTest::addColumn<int>("channels");
        QTest::newRow("enlarge 8x, 150 channels") << 16 << 12 << 131 << 97 << 150;
        QTest::newRow("enlarge 2.37x, 20 channels") << 27 << 19 << 64 << 45 << 20;
        QTest::newRow("shrink, 3 channels") << 90 << 70 << 41 << 33 << 3;
        QTest::newRow("exactly half, 20 channels") << 64 << 48 << 32 << 24 << 20;
        QTest::newRow("exactly double, 2 channels") << 20 << 15 << 40 << 30 << 2;
        QTest::newRow("same width, taller, 5 channels") << 40 << 10 << 40 << 37 << 5;
        QTest::newRow("same height, wider, 5 channels") << 10 << 40 << 37 << 40 << 5;
        QTest::newRow("one source row, 1 channel") << 9 << 1 << 30 << 20 << 1;
        QTest::newRow("one source column, 4 channels") << 1 << 9 << 20 << 30 << 4;
        QTest::newRow("3x shrink, 7 channels") << 63 << 63 << 21 << 21 << 7;
    }
    void resizeRowsIsCvResize()
    {
        QFETCH(int, inW);
        QFETCH(int, inH);
        QFETCH(int, outW);
        QFETCH(int, outH);
        QFETCH(int, channels);
        cv::Mat src(inH, inW, CV_32FC(channels));
        cv::RNG rng(static_cast<uint64>(inW * 100 + outW));
        rng.fill(src, cv::RNG::UNIFORM, 0.0, 1.0);
        cv::Mat expected;
        cv::resize(src, expected, cv::Size(outW, outH), 0, 0, cv::INTER_LINEAR);
        for (int band : {1, 3, outH}) {
            for (int y0 = 0; y0 < outH; y0 += band) {
                const int y1 = std::min(outH, y0 + band);
                cv::Mat rows;
                BandCombine::resizeRows(src, cv::Size(outW, outH), y0, y1, rows);
                QVERIFY2(sameBits(rows, expected.rowRange(y0, y1)),
                         qPrintable(QStringLiteral("rows %1..%2 (bands of %3) differ from cv::resize").arg(y0).arg(y1).arg(band)));
            }
        }
    }

    void estimateDoesNotGrowWithClassesTimesPixels()
    {
        // A 12 MP photo, 150 classes, four scales: the whole-image combine held four
        // 7.2 GB maps; the banded one holds the levels at base size and a few rows.
        const auto plan = Pipeline::Tiling::plan(4000, 3000, Pipeline::TilingParams{{0.5, 0.75, 1.0, 1.25}, 512, 473, 2.0 / 3.0});
        const size_t bytes = ImageCombiner::estimateBytes(plan, 150);
        qInfo("12 MP, 150 classes, 4 scales: the combine holds at most %.0f MiB", static_cast<double>(bytes) / (1 << 20));
        QVERIFY(bytes < size_t(1200) << 20);
        QVERIFY(bytes > size_t(4000) * 3000 * 2);  // the label map at least
    }

    void misuseIsRefused()
    {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BandCombine::run({}, cv::Size(4, 4), 3));
        const cv::Mat wrong(4, 4, CV_32FC(2), cv::Scalar::all(0.5));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BandCombine::run({wrong}, cv::Size(4, 4), 3));
    }
};

QTEST_GUILESS_MAIN(BandCombineTest)
#include "tst_bandcombine.moc"
