// Fidelity on real photos: the engine with the real ESPNet Cityscapes model from
// ../shared, at the card's defaults, against the official procedure transcribed line for
// line (tests/common/referenceprocedure.h: semseg's loader makes the image float32, then
// tool/test.py). The reference runs the model as the official code does (the TorchScript
// module as loaded); the engine runs as shipped (optimised graph).
//
// Tolerance, written down: at least 99.99% of each image's pixels carry the same label,
// and no class's share differs by more than 0.0001 (one pixel in 10,000). The engine
// accumulates in float32 where numpy uses float64, and its optimised graph folds batch
// norms, so a pixel whose two best classes tie within float rounding may flip; measured:
// none to a handful per million. Resizing the 8-bit image instead (the bug this test was
// written for) agreed on 91-99.8% of pixels.
//
// Skips, saying so, when ../shared has no model or photos.

#include "common/referenceprocedure.h"
#include "model/modelcard.h"
#include "model/network.h"
#include "model/networkloader.h"
#include "pipeline/engine.h"
#include "pipeline/imagecombiner.h"
#include "pipeline/imagedecoder.h"

#include <opencv2/imgcodecs.hpp>

#include <QtTest>

using namespace SegScale;

class FidelityTest : public QObject {
    Q_OBJECT
private:
    QString m_shared;
    std::shared_ptr<const Model::Network> m_asLoaded, m_optimised;

private Q_SLOTS:
    void initTestCase()
    {
        m_shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        const QString model = m_shared + QStringLiteral("/models/espnet-cityscapes");
        if (m_shared.isEmpty() || !QFile::exists(model + QStringLiteral("/model.json")))
            QSKIP(qPrintable(QStringLiteral("no real model at %1 (../shared is absent): fidelity not checked").arg(model)));
        auto card = Model::ModelCard::load(model);
        QVERIFY2(card.ok(), qPrintable(card.ok() ? QString() : card.error().message));
        Model::NetworkLoader::configureThreads(2);
        Model::LoadOptions original;
        original.optimize = false;
        auto a = Model::NetworkLoader::load(*card, original);
        QVERIFY2(a.ok(), qPrintable(a.ok() ? QString() : a.error().message));
        m_asLoaded = *a;
        auto b = Model::NetworkLoader::load(*card);
        QVERIFY2(b.ok(), qPrintable(b.ok() ? QString() : b.error().message));
        m_optimised = *b;
    }

    void matchesOfficialProcedureAtCardDefaults_data()
    {
        QTest::addColumn<QString>("photo");
        // A full Cityscapes frame (2048x1024: at base 1024 it is padded to the crop, so the
        // float mean border is exercised) and a 640x640 crop (upscaled to 1024). Two photos
        // keep the test near a minute; tests/bench/compare_python.sh measures all of them.
        QTest::newRow("frankfurt frame") << QStringLiteral("frankfurt_000000_000294_leftImg8bit.jpg");
        QTest::newRow("tree, sky, buildings")
            << QStringLiteral("crop640_frankfurt576_x0824_y0000_side0800_tree-sky-buildings.jpg");
    }
    void matchesOfficialProcedureAtCardDefaults()
    {
        QFETCH(QString, photo);
        const QString path = m_shared + QStringLiteral("/samples/streets/") + photo;
        if (!QFile::exists(path))
            QSKIP(qPrintable(QStringLiteral("sample photo %1 is absent").arg(path)));
        const auto &card = m_optimised->card();

        // Our decoder gives the pixels the official loader's cv2.imread gives.
        auto decoded = Pipeline::ImageDecoder::load(path, {});
        QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
        const cv::Mat bgr = decoded->bgr;
        const cv::Mat imread = cv::imread(path.toStdString(), cv::IMREAD_COLOR);
        QCOMPARE(cv::norm(bgr, imread, cv::NORM_INF), 0.0);

        Testing::ReferenceSettings ref;
        ref.scales.assign(card.defaults.scales.begin(), card.defaults.scales.end());
        ref.baseSize = card.defaults.baseSize;
        ref.crop = card.defaults.crop;
        ref.flip = card.defaults.flip;
        ref.strideRate = card.defaults.strideRate;
        const cv::Mat expected = Testing::referenceLabels(*m_asLoaded, bgr, ref);

        auto seg = Pipeline::Engine(m_optimised, Pipeline::SegmentOptions::fromCard(card), nullptr).segmentImage(bgr);
        QVERIFY2(seg.ok(), qPrintable(seg.ok() ? QString() : seg.error().message));
        cv::Mat got;
        seg->labels.convertTo(got, CV_16U);
        QCOMPARE(got.size(), expected.size());

        const int differing = cv::countNonZero(got != expected);
        const double agreement = 1.0 - double(differing) / double(expected.total());
        double worstShare = 0;
        std::vector<double> expectedShare(size_t(card.numClasses), 0.0);
        for (auto it = expected.begin<std::uint16_t>(); it != expected.end<std::uint16_t>(); ++it)
            expectedShare[*it] += 1.0 / double(expected.total());
        for (size_t k = 0; k < expectedShare.size(); ++k)
            worstShare = std::max(worstShare, std::abs(expectedShare[k] - seg->composition[k]));
        qInfo("%s: %dx%d, %d of %zu pixels differ (agreement %.6f%%), largest class share difference %.6f",
              qPrintable(photo), bgr.cols, bgr.rows, differing, expected.total(), 100.0 * agreement, worstShare);
        QVERIFY2(agreement >= 0.9999, qPrintable(QStringLiteral("agreement %1%").arg(100.0 * agreement)));
        QVERIFY(worstShare <= 1e-4);
        // Not vacuous: a street photo has several classes.
        int present = 0;
        for (double s : expectedShare)
            present += s > 0.01;
        QVERIFY(present >= 3);
    }
};

QTEST_GUILESS_MAIN(FidelityTest)
#include "tst_fidelity.moc"
