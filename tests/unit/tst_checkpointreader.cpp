// CheckpointReader: both PyTorch checkpoint formats, written here byte by byte the way
// torch.save writes them (no Python in the test environment), read back exactly; the
// restricted unpickler refuses code; damaged files fail cleanly; the authors' real ESPNet
// checkpoint reads.

#include "base/printabletext.h"
#include "model/checkpointreader.h"
#include "model/modelcard.h"
#include "model/networkloader.h"
#include "model/pickleunpickler.h"
#include "model/weightsfile.h"

#include "common/picklewriter.h"
#include "common/printablecheck.h"

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
using SegScale::Tests::PickleWriter;

namespace {

struct FakeStorage {
    std::string key;
    const char *type;  // "FloatStorage", ...
    at::Tensor data;   // 1-d, contiguous, the bytes that follow the pickle
};

void writeTensor(PickleWriter &w, const FakeStorage &s, std::int64_t offset, const std::vector<std::int64_t> &sizes,
                 const std::vector<std::int64_t> &strides, bool legacy)
{
    w.tensor(s.key, s.type, s.data.numel(), offset, sizes, strides, legacy);
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
    w.legacyPreamble();
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

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The object pickle of the hostile-inputs issue: `depth` containers, each inside the
// next. Lists: EMPTY_LIST x (depth + 1), APPEND x depth; tuples: EMPTY_TUPLE, TUPLE1 x
// depth; marks: MARK x depth, an empty tuple, TUPLE x depth.
QByteArray nestedPickle(const char *how, int depth)
{
    PickleWriter w;
    w.proto();
    if (qstrcmp(how, "lists") == 0) {
        w.bytes.append(QByteArray(depth + 1, ']'));
        w.bytes.append(QByteArray(depth, 'a'));
    } else if (qstrcmp(how, "tuples") == 0) {
        w.op(')');
        w.bytes.append(QByteArray(depth, '\x85'));
    } else {
        w.bytes.append(QByteArray(depth, '('));
        w.op(')');
        w.bytes.append(QByteArray(depth, 't'));
    }
    w.stop();
    return w.bytes;
}

using SegScale::Tests::printable;

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

    // The hostile-inputs issue: 300,000 nested lists crashed the reader (SIGSEGV, from
    // the recursive destruction of the nested values). Now a clean Model error naming
    // the limit, for lists, tuples and open marks, in a legacy checkpoint as filed.
    void deepNestingIsRefused_data()
    {
        QTest::addColumn<QByteArray>("how");
        QTest::newRow("lists") << QByteArray("lists");
        QTest::newRow("tuples") << QByteArray("tuples");
        QTest::newRow("marks") << QByteArray("marks");
    }

    void deepNestingIsRefused()
    {
        QFETCH(QByteArray, how);
        const QString path = m_dir.filePath(QStringLiteral("nested.pth"));
        const QByteArray pickle = nestedPickle(how.constData(), 300000);
        QVERIFY(writeFile(path, legacyHeader() + pickle));
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY(!sd.ok());
        QCOMPARE(sd.error().category, ErrorCategory::Model);
        QVERIFY2(sd.error().message.contains(QStringLiteral("nesting depth limit of 1000")), qPrintable(sd.error().message));
        // Just inside the limit the pickle itself is fine (then it is no checkpoint).
        const QByteArray ok = nestedPickle(how.constData(), 999);
        PickleUnpickler u(ok.constData(), static_cast<size_t>(ok.size()));
        auto v = u.load();
        QVERIFY2(v.ok(), v ? "" : qPrintable(v.error().message));
        QCOMPARE((*v)->depth, 999u);
    }

    void deepValuesAreDestroyedWithoutRecursion()
    {
        // With the depth limit lifted, 400,000 nested lists parse, and releasing them
        // must not recurse (the default destructor overflowed the stack at ~175,000).
        const QByteArray pickle = nestedPickle("lists", 400000);
        PickleLimits limits;
        limits.maxDepth = 3000000;
        PickleUnpickler u(pickle.constData(), static_cast<size_t>(pickle.size()), 0, limits);
        auto v = u.load();
        QVERIFY2(v.ok(), v ? "" : qPrintable(v.error().message));
        QCOMPARE((*v)->depth, 400000u);
        PickleValuePtr root = std::move(v).value();
        root.reset();  // would crash here
    }

    void eachLimitIsNamed_data()
    {
        QTest::addColumn<QByteArray>("pickle");
        QTest::addColumn<QString>("limit");
        // A list of 11 Nones with at most 10 items per container.
        PickleWriter list;
        list.proto();
        list.op(']');
        list.mark();
        for (int i = 0; i < 11; ++i)
            list.op('N');
        list.op('e');
        list.stop();
        QTest::newRow("container size") << list.bytes << QStringLiteral("container size limit of 10");
        // A dict with 11 distinct keys.
        PickleWriter dict;
        dict.proto();
        dict.op('}');
        dict.mark();
        for (int i = 0; i < 11; ++i) {
            dict.str("k" + std::to_string(i));
            dict.op('N');
        }
        dict.op('u');
        dict.stop();
        QTest::newRow("dict size") << dict.bytes << QStringLiteral("container size limit of 10");
        // Eleven memo entries.
        PickleWriter memo;
        memo.proto();
        memo.op('N');
        for (unsigned i = 0; i < 11; ++i)
            memo.put(i);
        memo.stop();
        QTest::newRow("memo size") << memo.bytes << QStringLiteral("memo size limit of 10");
        // 101 objects: one list referenced 100 times by DUP.
        PickleWriter objects;
        objects.proto();
        objects.op(']');
        for (int i = 0; i < 100; ++i)
            objects.op('2');
        objects.stop();
        QTest::newRow("object count") << objects.bytes << QStringLiteral("object count limit of 100");
    }

    void eachLimitIsNamed()
    {
        QFETCH(QByteArray, pickle);
        QFETCH(QString, limit);
        PickleLimits limits;
        limits.maxContainerItems = 10;
        limits.maxMemoEntries = 10;
        limits.maxObjects = 100;
        PickleUnpickler u(pickle.constData(), static_cast<size_t>(pickle.size()), 0, limits);
        auto v = u.load();
        QVERIFY(!v.ok());
        QCOMPARE(v.error().category, ErrorCategory::Model);
        QVERIFY2(v.error().message.contains(limit), qPrintable(v.error().message));
    }

    void selfReferenceIsRefused()
    {
        // l = []; l.append(l): a cycle would leak, and later walks would never end.
        PickleWriter w;
        w.proto();
        w.op(']');
        w.put(0);
        w.get(0);
        w.op('a');
        w.stop();
        PickleUnpickler u(w.bytes.constData(), static_cast<size_t>(w.bytes.size()));
        auto v = u.load();
        QVERIFY(!v.ok());
        QVERIFY2(v.error().message.contains(QStringLiteral("self-referencing")), qPrintable(v.error().message));
    }

    void largeDictIsReadInLinearTime()
    {
        // SETITEMS used to look for each key among all earlier ones: 10^5 keys were 5 * 10^9
        // comparisons. Now indexed; this takes milliseconds (no timing asserted).
        PickleWriter w;
        w.proto();
        w.op('}');
        w.mark();
        for (int i = 0; i < 100000; ++i) {
            w.str("layer" + std::to_string(i) + ".weight");
            w.integer(i);
        }
        w.op('u');
        w.mark();
        w.str("layer5.weight");
        w.integer(-5);
        w.op('u');
        w.stop();
        PickleUnpickler u(w.bytes.constData(), static_cast<size_t>(w.bytes.size()));
        auto v = u.load();
        QVERIFY2(v.ok(), v ? "" : qPrintable(v.error().message));
        QCOMPARE((*v)->entries.size(), size_t(100000));
        QCOMPARE((*v)->get("layer5.weight")->integer, std::int64_t(-5));  // a repeated key replaces
    }

    void binaryNamesArePrintableInMessages()
    {
        PickleWriter w;
        w.proto();
        w.global("os\x1b[31m\x01\xff", "system\x07");
        w.stop();
        const QString path = m_dir.filePath(QStringLiteral("binary.pth"));
        QVERIFY(writeFile(path, legacyHeader() + w.bytes));
        auto sd = CheckpointReader::readStateDict(path);
        QVERIFY(!sd.ok());
        QVERIFY2(printable(sd.error().message), qPrintable(sd.error().message));
        QVERIFY2(sd.error().message.contains(QStringLiteral("refused global os\\x1b[31m\\x01\\xff.system\\x07")),
                 qPrintable(sd.error().message));
    }

    // LibTorch's zip reader is built without CRC checks; ours checks every record used.
    void zipRecordsAreCheckedAgainstTheirCrc_data()
    {
        QTest::addColumn<QString>("what");
        QTest::newRow("storage bytes") << QStringLiteral("data/94101");
        QTest::newRow("pickle bytes") << QStringLiteral("data.pkl");
        QTest::newRow("directory crc") << QStringLiteral("crc");
    }

    void zipRecordsAreCheckedAgainstTheirCrc()
    {
        QFETCH(QString, what);
        const QString path = m_dir.filePath(QStringLiteral("crc.pth"));
        PickleWriter w;
        w.proto();
        m_fixture.writeWrapped(w, false);
        w.stop();
        writeZip(path, m_fixture, w.bytes);
        QByteArray bytes = readAll(path);
        QVERIFY(CheckpointReader::readStateDict(bytes, path).ok());
        if (what == QLatin1StringView("crc")) {
            // The data intact, the CRC the central directory records for data.pkl changed.
            const qsizetype entry = bytes.indexOf(QByteArray("PK\x01\x02"));
            QVERIFY(entry > 0);
            bytes[entry + 16] = static_cast<char>(bytes[entry + 16] ^ 0x01);
        } else {
            caffe2::serialize::PyTorchStreamReader reader(QFile::encodeName(path).toStdString());
            const std::string record = what.toStdString();
            const qsizetype at = static_cast<qsizetype>(reader.getRecordOffset(record));
            // Flip the last byte of the pickle (its STOP stays a valid opcode) or one bit of
            // a float: either still parses, which is why a CRC is needed.
            const qsizetype flip = record == "data.pkl" ? at + 20 : at + 5;
            bytes[flip] = static_cast<char>(bytes[flip] ^ 0x01);
        }
        auto sd = CheckpointReader::readStateDict(bytes, path);
        QVERIFY(!sd.ok());
        QCOMPARE(sd.error().category, ErrorCategory::Model);
        QVERIFY2(sd.error().message.contains(QStringLiteral("CRC-32")), qPrintable(sd.error().message));
    }

    // A native model's card records its weights' SHA-256 (written by `model import`):
    // one flipped bit is refused, naming both hashes; a card without one still loads.
    void cardWeightsAreVerified()
    {
        const QString dir = m_dir.filePath(QStringLiteral("model"));
        QVERIFY(QDir().mkpath(dir));
        const QString path = dir + QStringLiteral("/weights.pth");
        QByteArray bytes = legacyFile(m_fixture, [&](PickleWriter &w) { m_fixture.writeStateDict(w, true); });
        QVERIFY(writeFile(path, bytes));
        ModelCard card;
        card.name = QStringLiteral("fixture");
        card.architecture = QStringLiteral("espnet");
        card.file = QStringLiteral("weights.pth");
        card.directory = dir;

        auto unverified = CheckpointReader::readCardWeights(card);
        QVERIFY2(unverified.ok(), unverified ? "" : qPrintable(unverified.error().message));
        card.weightsSha256 = WeightsFile::sha256(bytes);
        auto verified = CheckpointReader::readCardWeights(card);
        QVERIFY2(verified.ok(), verified ? "" : qPrintable(verified.error().message));
        checkFixture(*verified);

        // One bit of a float in the last storage: the file still parses.
        bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x04);
        QVERIFY(writeFile(path, bytes));
        QVERIFY(CheckpointReader::readStateDict(path).ok());
        auto refused = CheckpointReader::readCardWeights(card);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Model);
        QVERIFY2(refused.error().message.contains(QString::fromLatin1(card.weightsSha256)) &&
                     refused.error().message.contains(QString::fromLatin1(WeightsFile::sha256(bytes))),
                 qPrintable(refused.error().message));
    }

    void printableText()
    {
        const std::string torch = "PytorchStreamReader failed locating file data.pkl: file not found\n"
                                  "Exception raised from valid at ../caffe2/serialize/inline_container.cc:157 (most recent call first):\n"
                                  "frame #0: c10::Error::Error(...) + 0x8e";
        QCOMPARE(PrintableText::summarise(QStringLiteral("LibTorch"), torch),
                 QStringLiteral("LibTorch: PytorchStreamReader failed locating file data.pkl: file not found"));
        const std::string check = "Expected !name.empty() to be true, but got false.  (Could this error message be improved?  "
                                  "If so, please report an enhancement request to PyTorch.)";
        QCOMPARE(PrintableText::summarise(QStringLiteral("LibTorch"), check),
                 QStringLiteral("LibTorch: Expected !name.empty() to be true, but got false."));
        QCOMPARE(PrintableText::fromBytes(std::string("a\x01" "b\xff")), QStringLiteral("a\\x01b\\xff"));
        QCOMPARE(PrintableText::of(QStringLiteral("line one\r\nline two\x1b[0m \u202e")),
                 QStringLiteral("line one line two\\x1b[0m \\u{202e}"));
        QCOMPARE(PrintableText::of(QString(5000, QLatin1Char('x'))).size(), 1003);
        QCOMPARE(PrintableText::of(QStringLiteral("a\nb\x07"), 100, PrintableText::LineBreaks::Keep), QStringLiteral("a\nb\\x07"));
        QCOMPARE(PrintableText::of(QStringLiteral("Stra\u00dfe \U0001F600")), QStringLiteral("Stra\u00dfe \U0001F600"));
    }

    // The TorchScript path: LibTorch loads the very bytes that were hashed.
    void torchScriptWeightsAreVerified()
    {
        const QString dir = m_dir.filePath(QStringLiteral("script"));
        QVERIFY(QDir().mkpath(dir));
        const QString path = dir + QStringLiteral("/model.pt");
        torch::jit::Module module("TinySegmenter");
        module.register_attribute("training", c10::BoolType::get(), false);
        module.define("def forward(self, x):\n    return torch.cat([x, -x], 1)\n");
        module.save(QFile::encodeName(path).toStdString());
        QByteArray bytes = readAll(path);
        QJsonObject json{{QStringLiteral("name"), QStringLiteral("tiny")},
                         {QStringLiteral("architecture"), QStringLiteral("torchscript")},
                         {QStringLiteral("file"), QStringLiteral("model.pt")},
                         {QStringLiteral("num_classes"), 6},
                         {QStringLiteral("weights_sha256"), QString::fromLatin1(WeightsFile::sha256(bytes))}};
        auto card = ModelCard::fromJson(json, dir);
        QVERIFY2(card.ok(), card ? "" : qPrintable(card.error().message));
        auto loaded = NetworkLoader::load(*card);
        QVERIFY2(loaded.ok(), loaded ? "" : qPrintable(loaded.error().message));
        QCOMPARE(card->toJson()[QStringLiteral("weights_sha256")].toString(), json[QStringLiteral("weights_sha256")].toString());

        // A byte of the object pickle (data.pkl, stored uncompressed; the code records are
        // deflated).
        const qsizetype at = bytes.indexOf("__torch__");
        QVERIFY(at > 0);
        bytes[at] = 'F';
        QVERIFY(writeFile(path, bytes));
        auto refused = NetworkLoader::load(*card);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().category, ErrorCategory::Model);
        QVERIFY2(refused.error().message.contains(json[QStringLiteral("weights_sha256")].toString()) &&
                     refused.error().message.contains(QString::fromLatin1(WeightsFile::sha256(bytes))),
                 qPrintable(refused.error().message));

        // Without a hash in the card, the archive's own CRC-32s still catch the change.
        json.remove(QStringLiteral("weights_sha256"));
        auto unhashed = NetworkLoader::load(*ModelCard::fromJson(json, dir));
        QVERIFY(!unhashed.ok());
        QVERIFY2(unhashed.error().message.contains(QStringLiteral("CRC-32")), qPrintable(unhashed.error().message));

        json[QStringLiteral("weights_sha256")] = QStringLiteral("not-a-hash");
        auto bad = ModelCard::fromJson(json, dir);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.contains(QStringLiteral("weights_sha256")), qPrintable(bad.error().message));
    }

    void foreignTextIsSummarised()
    {
        // A zip archive LibTorch's reader gives up on: its message, no backtrace, no
        // "please report" boilerplate.
        QByteArray bytes("PK\x03\x04");
        bytes += QByteArray(100, 'x');
        auto sd = CheckpointReader::readStateDict(bytes, QStringLiteral("junk.pth"));
        QVERIFY(!sd.ok());
        QVERIFY2(printable(sd.error().message), qPrintable(sd.error().message));
        QVERIFY2(!sd.error().message.contains(QStringLiteral("Exception raised from")), qPrintable(sd.error().message));
        QVERIFY2(sd.error().message.size() < 400, qPrintable(sd.error().message));
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
