// StateDictLoader on a small module: exact copies by name, the DataParallel prefix,
// ignored training heads, dtype conversion, optional num_batches_tracked, and one error
// naming every disagreement without touching the module.

#include "model/statedictloader.h"

#include <torch/torch.h>

#include <QTest>

using namespace SegScale;
using namespace SegScale::Model;

namespace {

// conv (weight + bias) and a batch norm (weight, bias, 3 buffers): 7 keys "0.*", "1.*".
torch::nn::Sequential smallNet()
{
    return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)), torch::nn::BatchNorm2d(4));
}

StateDict randomWeights(uint64_t seed)
{
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return {{"0.weight", at::normal(0.0, 1.0, {4, 3, 3, 3}, gen)},
            {"0.bias", at::normal(0.0, 1.0, {4}, gen)},
            {"1.weight", at::rand({4}, gen) + 0.5},
            {"1.bias", at::normal(0.0, 1.0, {4}, gen)},
            {"1.running_mean", at::normal(0.0, 1.0, {4}, gen)},
            {"1.running_var", at::rand({4}, gen) + 0.5},
            {"1.num_batches_tracked", torch::tensor(int64_t(17))}};
}

at::Tensor valueOf(const torch::nn::Module &m, const std::string &key)
{
    for (const auto &[name, t] : StateDictLoader::extract(m))
        if (name == key)
            return t;
    return {};
}

} // namespace

class TestStateDictLoader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void extractNamesEverything()
    {
        auto net = smallNet();
        const StateDict dict = StateDictLoader::extract(*net);
        QCOMPARE(dict.size(), size_t(7));
        // A conv without bias has an undefined "bias": not a key, as in PyTorch.
        auto noBias = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 1).bias(false));
        QCOMPARE(StateDictLoader::extract(*noBias).size(), size_t(1));
    }

    void appliesExactly_data()
    {
        QTest::addColumn<QString>("prefix");
        QTest::newRow("bare") << QString();
        QTest::newRow("module.") << QStringLiteral("module.");
    }

    void appliesExactly()
    {
        QFETCH(QString, prefix);
        const StateDict weights = randomWeights(1);
        StateDict prefixed;
        for (const auto &[k, t] : weights)
            prefixed.emplace_back(prefix.toStdString() + k, t);
        auto net = smallNet();
        QVERIFY(StateDictLoader::apply(*net, prefixed, QStringLiteral("w")).ok());
        for (const auto &[k, t] : weights)
            QVERIFY2(torch::equal(valueOf(*net, k), t), k.c_str());
    }

    void ignoresAuxAndMissingBatchCounter()
    {
        StateDict weights = randomWeights(2);
        weights.pop_back();  // no num_batches_tracked (pre-0.4.1 checkpoints)
        weights.emplace_back("aux.0.weight", torch::ones({256, 1024, 3, 3}));
        weights.emplace_back("module.aux.4.bias", torch::ones({150}));
        auto net = smallNet();
        const Result<void> r = StateDictLoader::apply(*net, weights, QStringLiteral("w"));
        QVERIFY2(r.ok(), qPrintable(r ? QString() : r.error().message));
        QVERIFY(torch::equal(valueOf(*net, "1.running_var"), weights[5].second));
    }

    void convertsDtypes()
    {
        const StateDict weights = randomWeights(3);
        for (auto dtype : {torch::kHalf, torch::kDouble, torch::kBFloat16}) {
            StateDict converted;
            for (const auto &[k, t] : weights)
                converted.emplace_back(k, t.is_floating_point() ? t.to(dtype) : t);
            auto net = smallNet();
            const Result<void> r = StateDictLoader::apply(*net, converted, QStringLiteral("w"));
            QVERIFY2(r.ok(), qPrintable(r ? QString() : r.error().message));
            const at::Tensor w = valueOf(*net, "0.weight");
            QCOMPARE(w.scalar_type(), torch::kFloat);
            QVERIFY(torch::equal(w, converted[0].second.to(torch::kFloat)));
            QVERIFY(torch::allclose(w, weights[0].second, 1e-2, 1e-2));
        }
    }

    void oneErrorNamesEverything()
    {
        StateDict weights = randomWeights(4);
        weights[1].first = "0.bais";                          // renamed: 0.bias missing, 0.bais unexpected
        weights.emplace_back("2.weight", torch::ones({2}));  // extra
        weights[2].second = torch::ones({5});                 // 1.weight shape
        auto net = smallNet();
        const at::Tensor before = valueOf(*net, "0.weight").clone();
        const Result<void> r = StateDictLoader::apply(*net, weights, QStringLiteral("/data/bad.pth"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().category, ErrorCategory::Model);
        const QString m = r.error().message;
        QVERIFY2(m.contains(QStringLiteral("/data/bad.pth")), qPrintable(m));
        QVERIFY2(m.contains(QStringLiteral("1 missing key(s): 0.bias")), qPrintable(m));
        QVERIFY2(m.contains(QStringLiteral("2 unexpected key(s): 0.bais, 2.weight")), qPrintable(m));
        QVERIFY2(m.contains(QStringLiteral("1.weight (checkpoint [5], model [4])")), qPrintable(m));
        // Nothing was copied: a half-loaded network must not exist.
        QVERIFY(torch::equal(valueOf(*net, "0.weight"), before));
    }

    void integerTensorForWeightIsRejected()
    {
        StateDict weights = randomWeights(5);
        weights[0].second = torch::ones({4, 3, 3, 3}, torch::kLong);
        auto net = smallNet();
        const Result<void> r = StateDictLoader::apply(*net, weights, QStringLiteral("w"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains(QStringLiteral("0.weight")), qPrintable(r.error().message));
    }
};

QTEST_GUILESS_MAIN(TestStateDictLoader)
#include "tst_statedictloader.moc"
