// The engine against a direct, obviously-correct transcription of PSPNet's tool/test.py
// written here in double precision (as numpy does it), on a tiny deterministic network.
// Tolerance: the engine computes in float32, the reference in float64, so a pixel whose
// two best classes differ by less than float32 rounding may flip; we allow at most
// 0.1% of pixels to differ and require the compositions to agree within 0.001.
// Sequential and pipelined schedules must agree bit for bit, at every batch size.

#include "common/syntheticphoto.h"
#include "common/testnetworks.h"
#include "pipeline/engine.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/imagetask.h"
#include "pipeline/outputwriter.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QtTest>

#include <cfenv>
#include <cmath>

using namespace SegScale;
using namespace SegScale::Pipeline;

namespace {

using Testing::syntheticPhoto;

long long pyRound(double v)
{
    std::fesetround(FE_TONEAREST);
    return static_cast<long long>(std::nearbyint(v));  // ties to even, like Python 3
}

// test.py, line by line, float64 accumulation.
cv::Mat referenceLabels(const Model::Network &net, const cv::Mat &bgr, const SegmentOptions &o)
{
    const auto &card = net.card();
    cv::Mat image;
    cv::cvtColor(bgr, image, cv::COLOR_BGR2RGB);  // the tiny card wants RGB
    const int h = image.rows, w = image.cols, classes = card.numClasses;
    cv::Mat prediction = cv::Mat::zeros(h, w, CV_64FC(classes));
    for (double scale : o.scales) {
        const long long longSize = pyRound(scale * o.baseSize);
        long long newH = longSize, newW = longSize;
        if (h > w)
            newW = pyRound(double(longSize) / h * w);
        else
            newH = pyRound(double(longSize) / w * h);
        cv::Mat scaled;
        cv::resize(image, scaled, cv::Size(int(newW), int(newH)), 0, 0, cv::INTER_LINEAR);
        const int padH = std::max(o.crop - scaled.rows, 0), padW = std::max(o.crop - scaled.cols, 0);
        const int padHHalf = padH / 2, padWHalf = padW / 2;
        if (padH > 0 || padW > 0)
            cv::copyMakeBorder(scaled, scaled, padHHalf, padH - padHHalf, padWHalf, padW - padWHalf, cv::BORDER_CONSTANT,
                               cv::Scalar(card.input.mean[0], card.input.mean[1], card.input.mean[2]));
        const int nh = scaled.rows, nw = scaled.cols;
        const int stride = int(std::ceil(o.crop * o.strideRate));
        const int gridH = int(std::ceil(double(nh - o.crop) / stride) + 1);
        const int gridW = int(std::ceil(double(nw - o.crop) / stride) + 1);
        cv::Mat predCrop = cv::Mat::zeros(nh, nw, CV_64FC(classes));
        cv::Mat count = cv::Mat::zeros(nh, nw, CV_64F);
        for (int ih = 0; ih < gridH; ++ih)
            for (int iw = 0; iw < gridW; ++iw) {
                const int eh = std::min(ih * stride + o.crop, nh), sh = eh - o.crop;
                const int ew = std::min(iw * stride + o.crop, nw), sw = ew - o.crop;
                at::Tensor in = torch::empty({1, 3, o.crop, o.crop});
                for (int c = 0; c < 3; ++c)
                    for (int y = 0; y < o.crop; ++y)
                        for (int x = 0; x < o.crop; ++x)
                            in[0][c][y][x] = (float(scaled.at<cv::Vec3b>(sh + y, sw + x)[c]) - card.input.mean[size_t(c)]) /
                                             card.input.std[size_t(c)];
                at::Tensor input = o.flip ? torch::cat({in, in.flip({3})}, 0) : in;
                at::Tensor out = net.forward(input);
                if (out.size(2) != o.crop || out.size(3) != o.crop)
                    out = torch::nn::functional::interpolate(out, torch::nn::functional::InterpolateFuncOptions()
                                                                      .size(std::vector<int64_t>{o.crop, o.crop})
                                                                      .mode(torch::kBilinear)
                                                                      .align_corners(true));
                out = torch::softmax(out, 1);
                at::Tensor p = o.flip ? (out[0] + out[1].flip({2})) / 2 : out[0];
                p = p.permute({1, 2, 0}).contiguous().to(torch::kFloat64);
                const double *pp = p.data_ptr<double>();
                for (int y = 0; y < o.crop; ++y)
                    for (int x = 0; x < o.crop; ++x) {
                        count.at<double>(sh + y, sw + x) += 1;
                        double *dst = predCrop.ptr<double>(sh + y) + size_t(sw + x) * classes;
                        for (int k = 0; k < classes; ++k)
                            dst[k] += pp[(size_t(y) * o.crop + x) * classes + k];
                    }
            }
        for (int y = 0; y < nh; ++y)
            for (int x = 0; x < nw; ++x)
                for (int k = 0; k < classes; ++k)
                    predCrop.ptr<double>(y)[size_t(x) * classes + k] /= count.at<double>(y, x);
        cv::Mat cropped = predCrop(cv::Rect(padWHalf, padHHalf, int(newW), int(newH))).clone();
        cv::Mat resized;
        cv::resize(cropped, resized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
        prediction += resized;
    }
    prediction /= double(o.scales.size());
    cv::Mat labels(h, w, CV_8U);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double *p = prediction.ptr<double>(y) + size_t(x) * classes;
            labels.at<uchar>(y, x) = uchar(std::max_element(p, p + classes) - p);
        }
    return labels;
}

class VectorSource final : public ImageSource {
public:
    explicit VectorSource(std::vector<QByteArray> images) : m_images(std::move(images)) {}
    std::optional<ImageTask> next() override
    {
        if (m_next >= m_images.size())
            return std::nullopt;
        ImageTask t;
        t.id = qint64(m_next);
        t.name = QStringLiteral("img%1").arg(m_next);
        t.outputStem = t.name;
        t.fetch = [bytes = m_images[m_next]]() -> Result<QByteArray> { return bytes; };
        ++m_next;
        return t;
    }

private:
    std::vector<QByteArray> m_images;
    size_t m_next = 0;
};

class CollectSink final : public ResultSink {
public:
    void imageDone(const ImageResult &r) override { done[r.task.id] = r.composition; }
    void imageFailed(const ImageTask &t, const Error &e) override { failed[t.id] = e; }
    std::map<qint64, std::vector<double>> done;
    std::map<qint64, Error> failed;
};

QByteArray png(const cv::Mat &m)
{
    std::vector<uchar> buf;
    cv::imencode(".png", m, buf);
    return QByteArray(reinterpret_cast<const char *>(buf.data()), qsizetype(buf.size()));
}

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
        const cv::Mat expected = referenceLabels(*net, photo, o);
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
