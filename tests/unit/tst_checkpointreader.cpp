// CheckpointReader: both PyTorch checkpoint formats, written here byte by byte the way
// torch.save writes them (no Python in the test environment), read back exactly; the
// restricted unpickler refuses code; damaged files fail cleanly; the authors' real ESPNet
// checkpoint reads.

#include "model/checkpointreader.h"
#include "model/pickleunpickler.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

using namespace SegScale;
using namespace SegScale::Model;

namespace {

// Emits protocol-2 pickle opcodes as CPython's pickle module does for torch.save.
class PickleWriter {
public:
    QByteArray bytes;

    void op(char c) { bytes.append(c); }
    void u8(unsigned v) { bytes.append(static_cast<char>(v & 0xff)); }
    void u32(std::uint32_t v) { for (int i = 0; i < 4; ++i) u8(v >> (8 * i)); }
    void proto() { op('\x80'); u8(2); }
    void stop() { op('.'); }
    void mark() { op('('); }
    void global(const char *module, const char *name)
    {
        op('c');
        bytes.append(module).append('\n').append(name).append('\n');
    }
    void str(const std::string &s)
    {
        op('X');
        u32(static_cast<std::uint32_t>(s.size()));
        bytes.append(s.data(), static_cast<qsizetype>(s.size()));
    }
    void integer(std::int64_t v)
    {
        if (v >= 0 && v < 256) { op('K'); u8(static_cast<unsigned>(v)); }
        else if (v >= 0 && v < 65536) { op('M'); u8(static_cast<unsigned>(v)); u8(static_cast<unsigned>(v >> 8)); }
        else if (v >= INT32_MIN && v <= INT32_MAX) { op('J'); u32(static_cast<std::uint32_t>(v)); }
        else { op('\x8a'); u8(8); for (int i = 0; i < 8; ++i) u8(static_cast<unsigned>(static_cast<std::uint64_t>(v) >> (8 * i))); }
    }
    void binfloat(double d)
    {
        op('G');
        std::uint64_t bits;
        std::memcpy(&bits, &d, 8);
        for (int i = 7; i >= 0; --i) u8(static_cast<unsigned>(bits >> (8 * i)));
    }
    void intTuple(const std::vector<std::int64_t> &v)
    {
        if (v.empty()) { op(')'); return; }
        if (v.size() > 3) mark();
        for (auto x : v) integer(x);
        op(v.size() == 1 ? '\x85' : v.size() == 2 ? '\x86' : v.size() == 3 ? '\x87' : 't');
    }
    void put(unsigned i) { op('q'); u8(i); }
    void get(unsigned i) { op('h'); u8(i); }
    void orderedDict()
    {
        global("collections", "OrderedDict");
        op(')');
        op('R');
    }
};

struct FakeStorage {
    std::string key;
    const char *type;  // "FloatStorage", ...
    at::Tensor data;   // 1-d, contiguous, the bytes that follow the pickle
};

// A tensor as torch.save (legacy or zip) pickles it: _rebuild_tensor_v2 with a
// persistent id for its storage.
void writeTensor(PickleWriter &w, const FakeStorage &s, std::int64_t offset, const std::vector<std::int64_t> &sizes,
                 const std::vector<std::int64_t> &strides, bool legacy)
{
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.mark();
    w.mark();
    w.str("storage");
    w.global("torch", s.type);
    w.str(s.key);
    w.str("cpu");
    w.integer(s.data.numel());
    if (legacy)
        w.op('N');  // view_metadata
    w.op('t');
    w.op('Q');
    w.integer(offset);
    w.intTuple(sizes);
    w.intTuple(strides);
    w.op('\x89');
    w.orderedDict();
    w.op('t');
    w.op('R');
}

struct Entry {
    std::string name;
    int storage;
    std::int64_t offset;
    std::vector<std::int64_t> sizes, strides;
};

struct Fixture {
    std::vector<FakeStorage> storages;
    std::vector<Entry> entries;

    Fixture()
    {
        auto floats = torch::arange(12, torch::kFloat) * 0.5f - 1.25f;
        storages.push_back({"94101", "FloatStorage", floats});                               // shared by two
        storages.push_back({"94102", "DoubleStorage", torch::tensor({1.5, -2.25, 1e300, 3.0}, torch::kDouble)});
        storages.push_back({"94103", "LongStorage", torch::tensor({std::int64_t(1) << 40, std::int64_t(-7), std::int64_t(3)}, torch::kLong)});
        storages.push_back({"94104", "ByteStorage", torch::tensor({0, 1, 127, 200, 255}, torch::kByte)});
        storages.push_back({"94105", "HalfStorage", torch::tensor({0.5f, -1.0f, 65504.0f, 0.000061035f}).to(torch::kHalf)});
        storages.push_back({"94106", "FloatStorage", torch::arange(6, torch::kFloat) + 10});  // transposed view
        entries = {
            {"conv.weight", 0, 0, {3, 4}, {4, 1}},
            {"conv.bias", 0, 4, {2, 2}, {4, 1}},  // shares conv.weight's storage, offset 4
            {"bn.double", 1, 0, {4}, {1}},
            {"bn.num_batches_tracked", 2, 1, {}, {}},
            {"idx.long", 2, 0, {3}, {1}},
            {"mask.byte", 3, 0, {5}, {1}},
            {"half.weight", 4, 0, {2, 2}, {2, 1}},
            {"fc.weight_t", 5, 0, {3, 2}, {1, 3}},  // a 2x3 matrix transposed: non-contiguous
        };
    }

    at::Tensor expected(const Entry &e) const
    {
        return storages[static_cast<size_t>(e.storage)].data.as_strided(e.sizes, e.strides, e.offset);
    }

    // The state dict as torch.save pickles it: an OrderedDict with _metadata set by BUILD.
    void writeStateDict(PickleWriter &w, bool legacy) const
    {
        w.orderedDict();
        w.put(1);
        w.mark();
        for (const auto &e : entries) {
            w.str(e.name);
            writeTensor(w, storages[static_cast<size_t>(e.storage)], e.offset, e.sizes, e.strides, legacy);
        }
        w.op('u');
        w.op('}');
        w.str("_metadata");
        w.orderedDict();
        w.mark();
        w.str("");
        w.op('}');
        w.str("version");
        w.integer(1);
        w.op('s');
        w.op('u');
        w.op('s');
        w.op('b');
    }

    // {epoch, state_dict, optimizer}, as training scripts save it.
    void writeWrapped(PickleWriter &w, bool legacy) const
    {
        w.op('}');
        w.put(0);
        w.mark();
        w.str("epoch");
        w.integer(42);
        w.str("state_dict");
        writeStateDict(w, legacy);
        w.str("optimizer");
        w.op('}');
        w.mark();
        w.str("state");
        w.op('}');
        w.str("param_groups");
        w.op(']');
        w.mark();
        w.op('}');
        w.mark();
        w.str("lr");
        w.binfloat(0.01);
        w.str("params");
        w.op(']');
        w.mark();
        w.integer(140000000000LL);
        w.integer(1);
        w.op('e');
        w.op('u');
        w.op('e');
        w.op('u');
        w.op('u');
    }
};

QByteArray legacyHeader()
{
    PickleWriter w;
    w.proto();
    w.op('\x8a');
    w.u8(10);
    for (unsigned char c : {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19})
        w.u8(c);
    w.stop();
    w.proto();
    w.integer(1001);
    w.stop();
    w.proto();
    w.op('}');
    w.mark();
    w.str("protocol_version");
    w.integer(1001);
    w.str("little_endian");
    w.op('\x88');
    w.str("type_sizes");
    w.op('}');
    w.mark();
    w.str("short");
    w.integer(2);
    w.str("int");
    w.integer(4);
    w.str("long");
    w.integer(4);
    w.op('u');
    w.op('u');
    w.stop();
    return w.bytes;
}

// The legacy format: header pickles, main pickle, key list pickle, raw storages.
QByteArray legacyFile(const Fixture &f, const std::function<void(PickleWriter &)> &body)
{
    QByteArray out = legacyHeader();
    PickleWriter main;
    main.proto();
    body(main);
    main.stop();
    out += main.bytes;
    PickleWriter keys;
    keys.proto();
    keys.op(']');
    keys.mark();
    for (const auto &s : f.storages)
        keys.str(s.key);
    keys.op('e');
    keys.stop();
    out += keys.bytes;
    for (const auto &s : f.storages) {
        const std::int64_t n = s.data.numel();
        out.append(reinterpret_cast<const char *>(&n), 8);
        out.append(static_cast<const char *>(s.data.data_ptr()), static_cast<qsizetype>(s.data.nbytes()));
    }
    return out;
}

void writeZip(const QString &path, const Fixture &f, const QByteArray &pickle)
{
    caffe2::serialize::PyTorchStreamWriter writer(QFile::encodeName(path).toStdString());
    writer.writeRecord("data.pkl", pickle.constData(), static_cast<size_t>(pickle.size()));
    writer.writeRecord("byteorder", "little", 6);
    for (const auto &s : f.storages)
        writer.writeRecord("data/" + s.key, s.data.data_ptr(), s.data.nbytes());
    writer.writeEndOfFile();
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

} // namespace

class TestCheckpointReader : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Fixture m_fixture;

    void checkFixture(const StateDict &sd)
    {
        QCOMPARE(sd.size(), m_fixture.entries.size());
        for (size_t i = 0; i < sd.size(); ++i) {
            const auto &e = m_fixture.entries[i];
            const auto &[name, t] = sd[i];
            QCOMPARE(QString::fromStdString(name), QString::fromStdString(e.name));  // file order kept
            const at::Tensor want = m_fixture.expected(e);
            QCOMPARE(t.scalar_type(), want.scalar_type());
            QCOMPARE(t.sizes().vec(), e.sizes);
            QCOMPARE(t.strides().vec(), e.strides);
            QCOMPARE(t.storage_offset(), e.offset);
            QVERIFY2(torch::equal(t, want), name.c_str());
        }
        // Tensors that shared a storage in the file share it after reading.
        QVERIFY(sd[0].second.is_alias_of(sd[1].second));
        QCOMPARE(sd[1].second.data_ptr<float>(), sd[0].second.data_ptr<float>() + 4);
        QVERIFY(!sd[7].second.is_contiguous());
        QVERIFY(!sd[0].second.is_alias_of(sd[7].second));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void legacyWrappedCheckpoint()
    {
        const QString path = m_dir.filePath(QStringLiteral("legacy.pth"));
        QVERIFY(writeFile(path, legacyFile(m_fixture, [&](PickleWriter &w) { m_fixture.writeWrapped(w, true); })));
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY2(sd.ok(), sd ? "" : qPrintable(sd.error().toString()));
        checkFixture(*sd);
    }

    void legacyBareStateDict()
    {
        const QString path = m_dir.filePath(QStringLiteral("bare.pth"));
        QVERIFY(writeFile(path, legacyFile(m_fixture, [&](PickleWriter &w) { m_fixture.writeStateDict(w, true); })));
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY2(sd.ok(), sd ? "" : qPrintable(sd.error().toString()));
        checkFixture(*sd);
    }

    void zipWrittenByStreamWriter()
    {
        const QString path = m_dir.filePath(QStringLiteral("zip.pth"));
        PickleWriter w;
        w.proto();
        m_fixture.writeWrapped(w, false);
        w.stop();
        writeZip(path, m_fixture, w.bytes);
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY2(sd.ok(), sd ? "" : qPrintable(sd.error().toString()));
        checkFixture(*sd);
    }

    void zipWrittenByTorchPickleSave()
    {
        // LibTorch's own writer of the torch.save zip format (its pickler, its archive).
        auto base = torch::randn({4, 6});
        auto view = base.t();                 // non-contiguous, same storage
        auto slice = base.narrow(0, 1, 2);    // offset into the same storage
        c10::Dict<std::string, at::Tensor> stateDict;
        stateDict.insert("a.weight", base);
        stateDict.insert("a.weight_t", view);
        stateDict.insert("a.rows", slice);
        stateDict.insert("b.long", torch::arange(5, torch::kLong));
        stateDict.insert("b.double", torch::randn({3}, torch::kDouble));
        stateDict.insert("b.half", torch::randn({2, 3}).to(torch::kHalf));
        stateDict.insert("b.byte", torch::tensor({1, 2, 250}, torch::kByte));
        c10::impl::GenericDict checkpoint(c10::StringType::get(), c10::AnyType::get());
        checkpoint.insert("epoch", 7);
        checkpoint.insert("state_dict", stateDict);
        checkpoint.insert("optimizer", c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()));
        const std::vector<char> bytes = torch::pickle_save(checkpoint);
        const QString path = m_dir.filePath(QStringLiteral("pickle_save.pt"));
        QVERIFY(writeFile(path, QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size()))));
        QVERIFY2(bytes.size() > 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0, "pickle_save no longer writes a zip");

        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY2(sd.ok(), sd ? "" : qPrintable(sd.error().toString()));
        QCOMPARE(sd->size(), size_t(7));
        for (const auto &[name, t] : *sd) {
            const at::Tensor want = stateDict.at(name);
            QCOMPARE(t.scalar_type(), want.scalar_type());
            QCOMPARE(t.sizes(), want.sizes());
            QCOMPARE(t.strides(), want.strides());
            QVERIFY2(torch::equal(t, want), name.c_str());
        }
        QVERIFY((*sd)[0].second.is_alias_of((*sd)[1].second));
        QVERIFY((*sd)[0].second.is_alias_of((*sd)[2].second));
    }

    void maliciousPickleIsRefused_data()
    {
        QTest::addColumn<QByteArray>("module");
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<bool>("zip");
        QTest::addColumn<bool>("stackGlobal");
        QTest::newRow("posix.system legacy") << QByteArray("posix") << QByteArray("system") << false << false;
        QTest::newRow("posix.system zip") << QByteArray("posix") << QByteArray("system") << true << false;
        QTest::newRow("os.system stack_global") << QByteArray("os") << QByteArray("system") << false << true;
        QTest::newRow("builtins.eval") << QByteArray("builtins") << QByteArray("eval") << true << true;
        QTest::newRow("subprocess.Popen") << QByteArray("subprocess") << QByteArray("Popen") << false << false;
        QTest::newRow("torch.load") << QByteArray("torch") << QByteArray("load") << false << false;
    }

    void maliciousPickleIsRefused()
    {
        QFETCH(QByteArray, module);
        QFETCH(QByteArray, name);
        QFETCH(bool, zip);
        QFETCH(bool, stackGlobal);
        const QString marker = m_dir.filePath(QStringLiteral("pwned-%1").arg(QString::fromLatin1(name)));
        const std::string command = "touch " + QFile::encodeName(marker).toStdString();
        // A tensor first, so the refusal happens mid-file, after legitimate content.
        auto body = [&](PickleWriter &w) {
            w.op('}');
            w.mark();
            w.str("w");
            writeTensor(w, m_fixture.storages[0], 0, {12}, {1}, !zip);
            w.str("x");
            if (stackGlobal) {
                w.str(module.toStdString());
                w.str(name.toStdString());
                w.op('\x93');
            } else {
                w.global(module.constData(), name.constData());
            }
            w.str(command);
            w.op('\x85');
            w.op('R');
            w.op('u');
        };
        const QString path = m_dir.filePath(QStringLiteral("evil.pth"));
        if (zip) {
            PickleWriter w;
            w.proto();
            body(w);
            w.stop();
            writeZip(path, m_fixture, w.bytes);
        } else {
            QVERIFY(writeFile(path, legacyFile(m_fixture, body)));
        }
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY(!sd.ok());
        QCOMPARE(sd.error().category, ErrorCategory::Model);
        const QString qualified = QString::fromLatin1(module + '.' + name);
        QVERIFY2(sd.error().message.contains(qualified), qPrintable(sd.error().message));
        QVERIFY2(sd.error().message.contains(QStringLiteral("refused")), qPrintable(sd.error().message));
        QVERIFY(!QFile::exists(marker));
    }

    void allowList()
    {
        QVERIFY(PickleUnpickler::isAllowedGlobal("torch._utils", "_rebuild_tensor_v2"));
        QVERIFY(PickleUnpickler::isAllowedGlobal("torch", "BFloat16Storage"));
        QVERIFY(PickleUnpickler::isAllowedGlobal("collections", "OrderedDict"));
        QVERIFY(!PickleUnpickler::isAllowedGlobal("torch", "load"));
        QVERIFY(!PickleUnpickler::isAllowedGlobal("builtins", "getattr"));
        QVERIFY(!PickleUnpickler::isAllowedGlobal("collections", "OrderedDict.fromkeys"));
        QVERIFY(!PickleUnpickler::isAllowedGlobal("torch._utils", "_rebuild_tensor_v2\nposix"));
    }

    void storageTypeIsNotCallable()
    {
        // A storage class is an allowed *value*; calling it would construct something.
        PickleWriter w;
        w.proto();
        w.global("torch", "FloatStorage");
        w.op(')');
        w.op('R');
        w.stop();
        PickleUnpickler u(w.bytes.constData(), static_cast<size_t>(w.bytes.size()));
        auto v = u.load();
        QVERIFY(!v.ok());
        QVERIFY2(v.error().message.contains(QStringLiteral("torch.FloatStorage")), qPrintable(v.error().message));
    }

    void truncatedFilesFailCleanly_data()
    {
        QTest::addColumn<bool>("zip");
        QTest::newRow("legacy") << false;
        QTest::newRow("zip") << true;
    }

    void truncatedFilesFailCleanly()
    {
        QFETCH(bool, zip);
        QByteArray whole;
        if (zip) {
            PickleWriter w;
            w.proto();
            m_fixture.writeWrapped(w, false);
            w.stop();
            const QString full = m_dir.filePath(QStringLiteral("full.pth"));
            writeZip(full, m_fixture, w.bytes);
            QFile f(full);
            QVERIFY(f.open(QIODevice::ReadOnly));
            whole = f.readAll();
        } else {
            whole = legacyFile(m_fixture, [&](PickleWriter &w) { m_fixture.writeWrapped(w, true); });
        }
        const QString path = m_dir.filePath(QStringLiteral("cut.pth"));
        int failures = 0;
        // Every cut point for the pickle part, then strides through the data.
        for (qsizetype len = 0; len < whole.size(); len += len < 2000 ? 1 : 7) {
            QVERIFY(writeFile(path, whole.left(len)));
            auto sd = CheckpointReader::readStateDict(path);
            QVERIFY2(!sd.ok(), qPrintable(QStringLiteral("a file cut at %1 of %2 bytes was accepted").arg(len).arg(whole.size())));
            QCOMPARE(sd.error().category, ErrorCategory::Model);
            QVERIFY(sd.error().message.contains(path));
            ++failures;
        }
        QVERIFY(failures > 100);
        // The legacy cut inside the storages says so in words.
        if (!zip) {
            QVERIFY(writeFile(path, whole.left(whole.size() - 3)));
            auto sd = CheckpointReader::readStateDict(path);
            QVERIFY(!sd.ok());
            QVERIFY2(sd.error().message.contains(QStringLiteral("truncated")), qPrintable(sd.error().message));
        }
    }

    void garbageAndMissing()
    {
        const QString path = m_dir.filePath(QStringLiteral("garbage.pth"));
        QVERIFY(writeFile(path, QByteArray("<html>not found</html>")));
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY(!sd.ok());
        QCOMPARE(sd.error().category, ErrorCategory::Model);
        auto missing = CheckpointReader::readStateDict(m_dir.filePath(QStringLiteral("nope.pth")));
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().category, ErrorCategory::Missing);
        // A tensor that reaches past its storage is refused, not read out of bounds.
        Fixture bad = m_fixture;
        bad.storages.resize(1);
        bad.entries = {{"oob", 0, 10, {3}, {1}}};
        QVERIFY(writeFile(path, legacyFile(bad, [&](PickleWriter &w) { bad.writeStateDict(w, true); })));
        auto oob = CheckpointReader::readStateDict(path);
        QVERIFY(!oob.ok());
        QVERIFY2(oob.error().message.contains(QStringLiteral("oob")), qPrintable(oob.error().message));
    }

    void realEspnetCheckpoint()
    {
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        const QString dir = shared + QStringLiteral("/models/espnet-cityscapes");
        const QString path = dir + QStringLiteral("/espnet_p_2_q_8.pth");
        if (shared.isEmpty() || !QFile::exists(path))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes/espnet_p_2_q_8.pth is absent: real checkpoint not tested");

        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray sha = QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex();
        QFile cardFile(dir + QStringLiteral("/model.json"));
        QVERIFY(cardFile.open(QIODevice::ReadOnly));
        const QJsonObject card = QJsonDocument::fromJson(cardFile.readAll()).object();
        const QString expectedSha = card[QStringLiteral("about")][QStringLiteral("source")][QStringLiteral("weights_sha256")].toString();
        QCOMPARE(QString::fromLatin1(sha), expectedSha);

        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY2(sd.ok(), sd ? "" : qPrintable(sd.error().toString()));
        std::map<std::string, at::Tensor> byName(sd->begin(), sd->end());
        QCOMPARE(byName.size(), sd->size());  // no duplicate names
        QCOMPARE(sd->front().first, std::string("encoder.level1.conv.weight"));
        QCOMPARE(byName.at("encoder.level1.conv.weight").sizes().vec(), (std::vector<std::int64_t>{16, 3, 3, 3}));
        QCOMPARE(byName.at("encoder.level3.7.c1.conv.weight").sizes().vec(), (std::vector<std::int64_t>{25, 128, 1, 1}));
        QCOMPARE(byName.at("classifier.weight").sizes().vec(), (std::vector<std::int64_t>{20, 20, 2, 2}));
        QVERIFY(!byName.count("encoder.level3.8.c1.conv.weight"));  // q = 8 blocks: 0..7
        std::int64_t learnable = 0;
        for (const auto &[name, t] : *sd) {
            QCOMPARE(t.scalar_type(), at::kFloat);
            QVERIFY2(torch::isfinite(t).all().item<bool>(), name.c_str());
            if (name.find("running_") == std::string::npos && name.find("num_batches") == std::string::npos)
                learnable += t.numel();
        }
        // README: 364,569 parameters.
        QCOMPARE(learnable, std::int64_t(364569));
        // Trained batch norms: variances are positive and not all one.
        const at::Tensor var = byName.at("encoder.level1.bn.running_var");
        QVERIFY((var > 0).all().item<bool>());
        QVERIFY(!torch::allclose(var, torch::ones_like(var)));
    }
};

QTEST_GUILESS_MAIN(TestCheckpointReader)
#include "tst_checkpointreader.moc"
