// The native ESPNet against the authors' network as exported to TorchScript: the same
// labels on real street photos, logits within 1e-3; the checkpoint's keys fit; the
// padding path for sizes that are not multiples of 8; random init for cards without
// weights.

#include "model/checkpointreader.h"
#include "model/espnetnetwork.h"
#include "model/modelcard.h"
#include "model/network.h"
#include "model/networkloader.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <QDir>
#include <QTest>

using namespace SegScale;
using namespace SegScale::Model;

class TestEspNet : public QObject {
    Q_OBJECT

private:
    QString m_modelDir;
    std::shared_ptr<const Network> m_native;
    std::shared_ptr<const Network> m_script;

    ModelCard nativeCard() const
    {
        auto card = ModelCard::load(m_modelDir);
        if (!card)
            qFatal("%s", qPrintable(card.error().toString()));
        ModelCard c = *card;
        c.architecture = QStringLiteral("espnet");
        c.file = m_modelDir + QStringLiteral("/espnet_p_2_q_8.pth");
        return c;
    }

    // The card's preprocessing: BGR as decoded, (x - mean) / std on the 0..255 scale.
    at::Tensor preprocess(const cv::Mat &bgr, const ModelCard &card) const
    {
        cv::Mat f;
        bgr.convertTo(f, CV_32FC3);
        at::Tensor t = torch::from_blob(f.data, {f.rows, f.cols, 3}, torch::kFloat).clone().permute({2, 0, 1});
        const auto mean = torch::tensor({card.input.mean[0], card.input.mean[1], card.input.mean[2]}).view({3, 1, 1});
        const auto stdev = torch::tensor({card.input.std[0], card.input.std[1], card.input.std[2]}).view({3, 1, 1});
        return ((t - mean) / stdev).unsqueeze(0).contiguous();
    }

    void compare(const at::Tensor &input, const char *what)
    {
        const at::Tensor a = m_native->forward(input);
        const at::Tensor b = m_script->forward(input);
        QCOMPARE(a.sizes(), b.sizes());
        QCOMPARE(a.size(2), input.size(2));
        QCOMPARE(a.size(3), input.size(3));
        const double maxDiff = (a - b).abs().max().item<double>();
        const double agree = a.argmax(1).eq(b.argmax(1)).to(torch::kDouble).mean().item<double>();
        qInfo("%s %lldx%lld: max |logit diff| %.3g, labels agree on %.5f%% of pixels", what,
              static_cast<long long>(input.size(3)), static_cast<long long>(input.size(2)), maxDiff, agree * 100);
        QVERIFY2(maxDiff <= 1e-3, qPrintable(QStringLiteral("%1: logits differ by %2").arg(QString::fromLatin1(what)).arg(maxDiff)));
        QVERIFY2(agree >= 0.999, qPrintable(QStringLiteral("%1: labels agree on only %2").arg(QString::fromLatin1(what)).arg(agree)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        m_modelDir = shared + QStringLiteral("/models/espnet-cityscapes");
        if (shared.isEmpty() || !QFile::exists(m_modelDir + QStringLiteral("/espnet_p_2_q_8.pth")))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes is absent: the native ESPNet is not tested");
        NetworkLoader::configureThreads(2);
        auto native = NetworkLoader::load(nativeCard());
        QVERIFY2(native.ok(), native ? "" : qPrintable(native.error().toString()));
        m_native = *native;
        auto script = NetworkLoader::load(*ModelCard::load(m_modelDir));
        QVERIFY2(script.ok(), script ? "" : qPrintable(script.error().toString()));
        m_script = *script;
        qInfo("%s", qPrintable(m_native->describe()));
        QVERIFY(m_native->describe().contains(QStringLiteral("364569 parameters")));
        QVERIFY(!m_native->untrained());
    }

    void sameLabelsAsTheAuthorsNetwork()
    {
        const QDir samples(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList images = samples.entryList({QStringLiteral("*.jpg"), QStringLiteral("*.png")}, QDir::Files, QDir::Name);
        if (images.size() < 3)
            QSKIP("fewer than 3 images in SEGSCALE_SHARED_DIR/samples/streets");
        const ModelCard card = m_native->card();
        int compared = 0;
        for (const QString &name : images) {
            if (compared == 4)
                break;
            cv::Mat bgr = cv::imread(QFile::encodeName(samples.filePath(name)).toStdString(), cv::IMREAD_COLOR);
            QVERIFY2(!bgr.empty(), qPrintable(name));
            cv::Mat small;
            cv::resize(bgr, small, cv::Size(512, 256), 0, 0, cv::INTER_LINEAR);
            compare(preprocess(small, card), qPrintable(name));
            ++compared;
        }
        QVERIFY(compared >= 3);
    }

    void sizesThatNeedPadding()
    {
        // 421x317 and 9x7 are not multiples of 8: both pad to the mean colour and crop back.
        const QDir samples(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/samples/streets"));
        const QStringList images = samples.entryList({QStringLiteral("*.jpg")}, QDir::Files, QDir::Name);
        if (images.isEmpty())
            QSKIP("no images in SEGSCALE_SHARED_DIR/samples/streets");
        cv::Mat bgr = cv::imread(QFile::encodeName(samples.filePath(images.last())).toStdString(), cv::IMREAD_COLOR);
        QVERIFY(!bgr.empty());
        for (const auto &size : {cv::Size(421, 317), cv::Size(9, 7)}) {
            cv::Mat small;
            cv::resize(bgr, small, size, 0, 0, cv::INTER_LINEAR);
            compare(preprocess(small, m_native->card()), "padded");
        }
        // A batch of two gives each image's own result.
        cv::Mat a, b;
        cv::resize(bgr, a, cv::Size(160, 96));
        cv::flip(a, b, 1);
        const at::Tensor batch = torch::cat({preprocess(a, m_native->card()), preprocess(b, m_native->card())});
        const at::Tensor both = m_native->forward(batch);
        QVERIFY(torch::allclose(both[1], m_native->forward(batch.narrow(0, 1, 1))[0], 1e-4, 1e-4));
    }

    void checkpointOfAnotherShapeIsRefused()
    {
        // 19 classes against a 20-class checkpoint: one error naming the mismatching keys.
        ModelCard card = nativeCard();
        card.numClasses = 19;
        card.classes = card.classes.mid(0, 19);
        card.palette.resize(19);
        auto weights = CheckpointReader::readStateDict(card.file);
        QVERIFY(weights.ok());
        auto net = EspNetNetwork::fromStateDict(card, *weights, c10::Device(c10::kCPU), card.file);
        QVERIFY(!net.ok());
        QCOMPARE(net.error().category, ErrorCategory::Model);
        QVERIFY2(net.error().message.contains(QStringLiteral("classifier.weight")), qPrintable(net.error().message));

        // A PSPNet-like state dict: keys do not fit at all.
        StateDict alien{{"layer0.0.weight", torch::zeros({64, 3, 3, 3})}};
        auto other = EspNetNetwork::fromStateDict(nativeCard(), alien, c10::Device(c10::kCPU));
        QVERIFY(!other.ok());
        QVERIFY2(other.error().message.contains(QStringLiteral("layer0.0.weight")), qPrintable(other.error().message));
    }

    void randomInitIsDeterministicAndUntrained()
    {
        ModelCard card = nativeCard();
        card.randomInit = true;
        card.file.clear();
        auto a = EspNetNetwork::load(card, c10::Device(c10::kCPU));
        auto b = EspNetNetwork::load(card, c10::Device(c10::kCPU));
        QVERIFY(a.ok() && b.ok());
        QVERIFY((*a)->untrained());
        QVERIFY((*a)->describe().contains(QStringLiteral("UNTRAINED")));
        const at::Tensor x = torch::randn({1, 3, 40, 56});
        const at::Tensor ya = (*a)->forward(x);
        QCOMPARE(ya.sizes().vec(), (std::vector<std::int64_t>{1, 20, 40, 56}));
        QVERIFY(torch::equal(ya, (*b)->forward(x)));
        QVERIFY(!torch::allclose(ya, m_native->forward(x)));
    }
};

QTEST_GUILESS_MAIN(TestEspNet)
#include "tst_espnet.moc"
