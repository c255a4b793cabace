// The native PSPNet: architecture (shapes, zoom factors, official key names), weight
// loading (round trips, DataParallel prefix, aux head, bad keys), batch-norm folding, the
// NetworkLoader branch, and failures that must be Model errors. Small 8k+1 inputs keep it
// fast; the architecture is always the real, full-width one.

#include "model/networkloader.h"
#include "model/pspnetmodule.h"
#include "model/pspnetnetwork.h"
#include "model/statedictloader.h"

#include <torch/torch.h>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <fstream>
#include <map>
#include <set>

using namespace SegScale;
using namespace SegScale::Model;

namespace {

ModelCard pspCard(int layers, int classes, int zoom = 8, bool randomInit = true, const QString &dir = QString(),
                  const QString &file = QString())
{
    QJsonObject json{{QStringLiteral("name"), QStringLiteral("psp-test")},
                     {QStringLiteral("architecture"), QStringLiteral("pspnet")},
                     {QStringLiteral("num_classes"), classes},
                     {QStringLiteral("pspnet"), QJsonObject{{QStringLiteral("layers"), layers},
                                                            {QStringLiteral("bins"), QJsonArray{1, 2, 3, 6}},
                                                            {QStringLiteral("zoom_factor"), zoom}}}};
    if (randomInit)
        json[QStringLiteral("random_init")] = true;
    if (!file.isEmpty())
        json[QStringLiteral("file")] = file;
    auto card = ModelCard::fromJson(json, dir.isEmpty() ? QDir::tempPath() : dir);
    if (!card)
        qFatal("test card rejected: %s", qPrintable(card.error().toString()));
    return card.value();
}

at::Tensor input(int64_t n, int64_t h, int64_t w, uint64_t seed = 7)
{
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return at::normal(0.0, 1.0, {n, 3, h, w}, gen);
}

// A checkpoint-like state dict that is not the identity batch norm of random init, so
// that loading and folding are really exercised: every tensor is perturbed.
StateDict makePerturbedWeights(int layers, int classes)
{
    PspNetModule module(layers, classes);
    module->randomInit(1);
    at::Generator gen = at::detail::createCPUGenerator(99);
    StateDict dict;
    for (auto &[name, t] : StateDictLoader::extract(*module)) {
        at::Tensor v = t.clone();
        if (name.ends_with(".running_var"))
            v = at::rand(v.sizes(), gen) * 0.8 + 0.6;
        else if (name.ends_with(".running_mean") || name.ends_with(".bias"))
            v = at::normal(0.0, 0.1, v.sizes(), gen);
        else if (v.is_floating_point() && v.dim() == 1)
            v = at::rand(v.sizes(), gen) * 0.5 + 0.75;  // batch norm gammas
        dict.emplace_back(name, v);
    }
    return dict;
}

// Building and initialising a full-width PSPNet costs seconds on this CPU: once per shape.
const StateDict &perturbedWeights(int layers, int classes)
{
    static std::map<std::pair<int, int>, StateDict> cache;
    auto it = cache.find({layers, classes});
    if (it == cache.end())
        it = cache.emplace(std::make_pair(layers, classes), makePerturbedWeights(layers, classes)).first;
    return it->second;
}

// Writes weights as Python's torch.save does (zip: archive/data.pkl with persistent ids
// for the storages, archive/data/<id>), a bare dict of tensors, optionally "module."d.
// torch::pickle_save would tag the dict with its C++ type (torch.jit._pickle
// .restore_type_tag), which Python checkpoints never contain.
void writeTorchSaveZip(const QString &path, const StateDict &weights, const std::string &prefix)
{
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto &[name, t] : weights)
        dict.insert(prefix + name, t);
    std::vector<char> pickled;
    int64_t next = 0;
    torch::jit::Pickler pickler([&](const char *data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                                nullptr, nullptr, nullptr, [&](const at::Tensor &) { return std::to_string(next++); },
                                /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(c10::IValue(dict));
    pickler.stop();

    std::ofstream out(path.toStdString(), std::ios::binary);
    caffe2::serialize::PyTorchStreamWriter writer([&](const void *data, size_t size) {
        out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
        return size;
    });
    writer.writeRecord("data.pkl", pickled.data(), pickled.size());
    const auto &tensors = pickler.tensorData();
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto data = torch::jit::getWriteableTensorData(tensors[i]);
        writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
    }
    writer.writeEndOfFile();
}

double maxRelativeDiff(const at::Tensor &a, const at::Tensor &b)
{
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

} // namespace

class TestPspNet : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { NetworkLoader::configureThreads(2); }

    void stateDictKeysAreTheOfficialOnes();
    void forwardShapes50();
    void forwardShapes101();
    void zoomFactors_data();
    void zoomFactors();
    void randomInitIsDeterministic();
    void stateDictRoundTrip_data();
    void stateDictRoundTrip();
    void foldedMatchesUnfolded();
    void badKeysAreNamed();
    void networkLoaderProbe();
    void missingWeightsFileIsModelError();
    void loadsZipCheckpointFile();
};

void TestPspNet::stateDictKeysAreTheOfficialOnes()
{
    PspNetModule module(50, 150);
    std::set<std::string> keys;
    for (const auto &[name, t] : StateDictLoader::extract(*module))
        keys.insert(name);
    for (const char *k : {"layer0.0.weight", "layer0.1.weight", "layer0.1.bias", "layer0.1.running_mean", "layer0.1.running_var",
                          "layer0.1.num_batches_tracked", "layer0.3.weight", "layer0.4.weight", "layer0.6.weight", "layer0.7.running_var",
                          "layer1.0.conv1.weight", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_mean",
                          "layer1.2.bn3.weight", "layer2.3.conv2.weight", "layer3.5.bn2.bias", "layer3.0.downsample.0.weight",
                          "layer4.2.conv3.weight", "ppm.features.0.1.weight", "ppm.features.3.2.running_var",
                          "cls.0.weight", "cls.1.weight", "cls.4.weight", "cls.4.bias"})
        QVERIFY2(keys.count(k), k);
    for (const char *k : {"layer0.2.weight", "layer1.3.conv1.weight", "layer3.6.conv1.weight", "layer1.1.downsample.0.weight",
                          "cls.0.bias", "ppm.features.0.1.bias", "aux.0.weight"})
        QVERIFY2(!keys.count(k), k);
    // Every conv + batch norm pair gives 6 keys (conv weight; bn weight, bias, running_mean,
    // running_var, num_batches_tracked): stem 3 pairs, 16 blocks x 3 pairs, 4 downsample
    // pairs, 4 ppm branches, cls 1 pair; plus the classifier's weight and bias.
    const size_t pairs = 3 + 16 * 3 + 4 + 4 + 1;
    QCOMPARE(keys.size(), pairs * 6 + 2);

    // The shapes that matter for the official checkpoints.
    const StateDict dict = StateDictLoader::extract(*module);
    auto shape = [&](const std::string &k) {
        for (const auto &[name, t] : dict)
            if (name == k)
                return t.sizes().vec();
        return std::vector<int64_t>{};
    };
    QCOMPARE(shape("layer0.0.weight"), (std::vector<int64_t>{64, 3, 3, 3}));
    QCOMPARE(shape("layer0.6.weight"), (std::vector<int64_t>{128, 64, 3, 3}));
    QCOMPARE(shape("layer1.0.conv1.weight"), (std::vector<int64_t>{64, 128, 1, 1}));
    QCOMPARE(shape("layer4.0.downsample.0.weight"), (std::vector<int64_t>{2048, 1024, 1, 1}));
    QCOMPARE(shape("ppm.features.2.1.weight"), (std::vector<int64_t>{512, 2048, 1, 1}));
    QCOMPARE(shape("cls.0.weight"), (std::vector<int64_t>{512, 4096, 3, 3}));
    QCOMPARE(shape("cls.4.weight"), (std::vector<int64_t>{150, 512, 1, 1}));
}

void TestPspNet::forwardShapes50()
{
    auto net = PspNetNetwork::load(pspCard(50, 150), c10::kCPU, true);
    QVERIFY2(net.ok(), qPrintable(net ? QString() : net.error().toString()));
    QVERIFY((*net)->untrained());
    QVERIFY((*net)->describe().contains(QStringLiteral("PSPNet-50")));

    const at::Tensor square = (*net)->forward(input(1, 65, 65));
    QCOMPARE(square.sizes().vec(), (std::vector<int64_t>{1, 150, 65, 65}));
    QVERIFY(square.isfinite().all().item<bool>());
    QVERIFY(square.abs().max().item<double>() > 0);

    const at::Tensor wide = (*net)->forward(input(1, 97, 129));
    QCOMPARE(wide.sizes().vec(), (std::vector<int64_t>{1, 150, 97, 129}));
    QVERIFY(wide.isfinite().all().item<bool>());

    // A batch is the same as its images one by one.
    const at::Tensor batch = (*net)->forward(input(2, 65, 65, 3));
    QCOMPARE(batch.sizes().vec(), (std::vector<int64_t>{2, 150, 65, 65}));
    const at::Tensor one = (*net)->forward(input(2, 65, 65, 3).slice(0, 1, 2));
    QVERIFY(maxRelativeDiff(batch.slice(0, 1, 2), one) < 1e-4);
}

void TestPspNet::forwardShapes101()
{
    auto net = PspNetNetwork::load(pspCard(101, 19), c10::kCPU, false);
    QVERIFY2(net.ok(), qPrintable(net ? QString() : net.error().toString()));
    const at::Tensor out = (*net)->forward(input(1, 65, 65));
    QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{1, 19, 65, 65}));
    QVERIFY(out.isfinite().all().item<bool>());
    QVERIFY((*net)->describe().contains(QStringLiteral("PSPNet-101")));
}

void TestPspNet::zoomFactors_data()
{
    QTest::addColumn<int>("zoom");
    QTest::addColumn<int>("outH");
    QTest::addColumn<int>("outW");
    // (H - 1) / 8 * zoom + 1 for 65 x 97 (feature map 9 x 13)
    QTest::newRow("1") << 1 << 9 << 13;
    QTest::newRow("2") << 2 << 17 << 25;
    QTest::newRow("4") << 4 << 33 << 49;
    QTest::newRow("8") << 8 << 65 << 97;
}

void TestPspNet::zoomFactors()
{
    QFETCH(int, zoom);
    QFETCH(int, outH);
    QFETCH(int, outW);
    // The module alone (its default initialisation will do for shapes): cheaper than a
    // full load per row.
    PspNetModule module(50, 21, std::vector<int>{1, 2, 3, 6}, zoom);
    c10::InferenceMode guard;
    const at::Tensor out = module->forward(input(1, 65, 97));
    QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{1, 21, outH, outW}));
}

void TestPspNet::randomInitIsDeterministic()
{
    PspNetModule a(50, 19), b(50, 19), c(50, 19);
    a->randomInit(PspNetNetwork::randomInitSeed);
    b->randomInit(PspNetNetwork::randomInitSeed);
    c->randomInit(PspNetNetwork::randomInitSeed + 1);
    const StateDict da = StateDictLoader::extract(*a), db = StateDictLoader::extract(*b), dc = StateDictLoader::extract(*c);
    QCOMPARE(da.size(), db.size());
    bool anyDifferent = false;
    for (size_t i = 0; i < da.size(); ++i) {
        QVERIFY2(torch::equal(da[i].second, db[i].second), da[i].first.c_str());
        anyDifferent = anyDifferent || !torch::equal(da[i].second, dc[i].second);
    }
    QVERIFY(anyDifferent);
}

void TestPspNet::stateDictRoundTrip_data()
{
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<bool>("withAux");
    QTest::newRow("bare") << QString() << false;
    QTest::newRow("DataParallel") << QStringLiteral("module.") << false;
    QTest::newRow("DataParallel + aux head") << QStringLiteral("module.") << true;
}

void TestPspNet::stateDictRoundTrip()
{
    QFETCH(QString, prefix);
    QFETCH(bool, withAux);
    // The reference: a module with non-trivial weights, run directly.
    // The reference, once for all rows: a module with non-trivial weights, run directly.
    static PspNetModule reference{nullptr};
    static at::Tensor expected;
    if (!reference) {
        reference = PspNetModule(50, 19);
        QVERIFY(StateDictLoader::apply(*reference, perturbedWeights(50, 19), QStringLiteral("reference")).ok());
        c10::InferenceMode guard;
        expected = reference->forward(input(1, 65, 65));
    }

    StateDict exported;
    for (const auto &[name, t] : StateDictLoader::extract(*reference))
        exported.emplace_back(prefix.toStdString() + name, t.clone());
    if (withAux) {
        // The training-time auxiliary head of the official checkpoints.
        exported.emplace_back(prefix.toStdString() + "aux.0.weight", torch::zeros({256, 1024, 3, 3}));
        exported.emplace_back(prefix.toStdString() + "aux.1.running_mean", torch::zeros({256}));
        exported.emplace_back(prefix.toStdString() + "aux.4.bias", torch::zeros({19}));
    }
    auto net = PspNetNetwork::fromStateDict(pspCard(50, 19), exported, c10::kCPU, false);
    QVERIFY2(net.ok(), qPrintable(net ? QString() : net.error().toString()));
    QVERIFY(!(*net)->untrained());
    QVERIFY(torch::equal((*net)->forward(input(1, 65, 65)), expected));
}

void TestPspNet::foldedMatchesUnfolded()
{
    const StateDict &weights = perturbedWeights(50, 150);
    auto plain = PspNetNetwork::fromStateDict(pspCard(50, 150), weights, c10::kCPU, false);
    auto folded = PspNetNetwork::fromStateDict(pspCard(50, 150), weights, c10::kCPU, true);
    QVERIFY(plain.ok() && folded.ok());
    QVERIFY((*folded)->describe().contains(QStringLiteral("folded")));
    const at::Tensor x = input(1, 97, 65);
    const at::Tensor a = (*plain)->forward(x);
    const at::Tensor b = (*folded)->forward(x);
    QVERIFY(a.abs().max().item<double>() > 1e-3);  // not a trivially zero comparison
    const double diff = maxRelativeDiff(b, a);
    QVERIFY2(diff < 1e-4, qPrintable(QStringLiteral("folded vs unfolded relative difference %1").arg(diff)));
    QCOMPARE(a.argmax(1).ne(b.argmax(1)).sum().item<int64_t>(), int64_t(0));
}

void TestPspNet::badKeysAreNamed()
{
    StateDict weights = perturbedWeights(50, 19);
    for (auto &[name, t] : weights)
        if (name == "layer2.1.conv2.weight")
            name = "layer2.1.conv2.wieght";
    weights.emplace_back("head.extra.weight", torch::zeros({3}));
    for (auto &[name, t] : weights)
        if (name == "cls.4.weight")
            t = torch::zeros({150, 512, 1, 1});
    auto net = PspNetNetwork::fromStateDict(pspCard(50, 19), weights, c10::kCPU, true, QStringLiteral("bad.pth"));
    QVERIFY(!net.ok());
    QCOMPARE(net.error().category, ErrorCategory::Model);
    const QString m = net.error().message;
    QVERIFY2(m.contains(QStringLiteral("bad.pth")), qPrintable(m));
    QVERIFY2(m.contains(QStringLiteral("missing key(s): layer2.1.conv2.weight")), qPrintable(m));
    QVERIFY2(m.contains(QStringLiteral("layer2.1.conv2.wieght")), qPrintable(m));
    QVERIFY2(m.contains(QStringLiteral("head.extra.weight")), qPrintable(m));
    QVERIFY2(m.contains(QStringLiteral("cls.4.weight (checkpoint [150, 512, 1, 1], model [19, 512, 1, 1])")), qPrintable(m));
}

void TestPspNet::networkLoaderProbe()
{
    LoadOptions options;
    options.threads = 2;
    auto net = NetworkLoader::load(pspCard(50, 150), options);
    QVERIFY2(net.ok(), qPrintable(net ? QString() : net.error().toString()));
    QVERIFY((*net)->untrained());
    QCOMPARE((*net)->card().numClasses, 150);
}

void TestPspNet::missingWeightsFileIsModelError()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto net = PspNetNetwork::load(pspCard(50, 150, 8, false, dir.path(), QStringLiteral("pspnet50_ade20k.pth")), c10::kCPU, true);
    QVERIFY(!net.ok());
    QCOMPARE(net.error().category, ErrorCategory::Model);
    QVERIFY2(net.error().message.contains(QStringLiteral("pspnet50_ade20k.pth")), qPrintable(net.error().message));
    // The same through the loader: never a silent random init.
    LoadOptions options;
    auto viaLoader = NetworkLoader::load(pspCard(50, 150, 8, false, dir.path(), QStringLiteral("pspnet50_ade20k.pth")), options);
    QVERIFY(!viaLoader.ok());
    QCOMPARE(viaLoader.error().category, ErrorCategory::Model);
}

void TestPspNet::loadsZipCheckpointFile()
{
    // A file as torch.save writes it (zip format), read back through CheckpointReader.
    const StateDict &weights = perturbedWeights(50, 19);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeTorchSaveZip(dir.filePath(QStringLiteral("weights.pth")), weights, "module.");
    QVERIFY(QFileInfo(dir.filePath(QStringLiteral("weights.pth"))).size() > 100'000'000);
    const ModelCard card = pspCard(50, 19, 8, false, dir.path(), QStringLiteral("weights.pth"));
    auto fromFile = PspNetNetwork::load(card, c10::kCPU, false);
    QVERIFY2(fromFile.ok(), qPrintable(fromFile ? QString() : fromFile.error().toString()));
    auto fromMemory = PspNetNetwork::fromStateDict(card, weights, c10::kCPU, false);
    QVERIFY(fromMemory.ok());
    QVERIFY(!(*fromFile)->untrained());
    QVERIFY((*fromFile)->describe().contains(QStringLiteral("weights.pth")));
    QVERIFY(torch::equal((*fromFile)->forward(input(1, 65, 65)), (*fromMemory)->forward(input(1, 65, 65))));
}

QTEST_GUILESS_MAIN(TestPspNet)
#include "tst_pspnet.moc"
