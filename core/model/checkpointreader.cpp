#include "model/checkpointreader.h"

#include "base/printabletext.h"
#include "model/bytearrayreadadapter.h"
#include "model/modelcard.h"
#include "model/pickleunpickler.h"
#include "model/weightsfile.h"
#include "model/zipdirectory.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <QFile>
#include <QFileInfo>

#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>

namespace SegScale::Model {

namespace {

using Kind = PickleValue::Kind;

// torch/serialization.py: the legacy format starts with this number, pickled.
constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kLegacyProtocolVersion = 1001;

struct ReadError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Names from the file (storage keys, state-dict keys) quoted safely in messages.
std::string fromFile(const std::string &text)
{
    return PickleUnpickler::printable(text);
}

// Resolves torch's persistent ids, ('storage', type, key, location, numel[, view]), and
// remembers every storage it was asked for.
class StorageCatalogue {
public:
    PickleValuePtr resolve(const PickleValuePtr &pid)
    {
        if (!pid || pid->kind != Kind::Tuple || pid->items.size() < 5 || !pid->items[0]->isString("storage"))
            throw ReadError("persistent id is not a torch storage");
        const auto &type = pid->items[1];
        const auto &key = pid->items[2];
        const auto &numel = pid->items[4];
        if (type->kind != Kind::Global || key->kind != Kind::String || numel->kind != Kind::Int || numel->integer < 0)
            throw ReadError("malformed torch storage id");
        PickleValue::StorageRef ref;
        ref.key = key->text;
        ref.dtype = dtypeOf(type->text);
        ref.numel = numel->integer;
        auto [it, inserted] = m_storages.emplace(ref.key, ref);
        if (!inserted && (it->second.dtype != ref.dtype || it->second.numel != ref.numel))
            throw ReadError("storage " + fromFile(ref.key) + " is declared twice with different types or sizes");
        // Legacy storage views: (view_key, offset, view_size) into the root storage.
        if (pid->items.size() >= 6 && pid->items[5]->kind == Kind::Tuple) {
            const auto &view = pid->items[5]->items;
            if (view.size() != 3 || view[1]->kind != Kind::Int || view[2]->kind != Kind::Int || view[1]->integer < 0 ||
                view[2]->integer < 0 || view[1]->integer + view[2]->integer > ref.numel)
                throw ReadError("malformed storage view of " + fromFile(ref.key));
            ref.viewOffset = view[1]->integer;
            ref.numel = view[2]->integer;
        }
        auto v = PickleValue::make(Kind::Storage);
        v->storage = ref;
        return v;
    }

    const std::map<std::string, PickleValue::StorageRef> &storages() const { return m_storages; }

private:
    static c10::ScalarType dtypeOf(const std::string &global)
    {
        static const std::map<std::string, c10::ScalarType> types{
            {"torch.FloatStorage", c10::kFloat},   {"torch.DoubleStorage", c10::kDouble},
            {"torch.HalfStorage", c10::kHalf},     {"torch.BFloat16Storage", c10::kBFloat16},
            {"torch.LongStorage", c10::kLong},     {"torch.IntStorage", c10::kInt},
            {"torch.ShortStorage", c10::kShort},   {"torch.CharStorage", c10::kChar},
            {"torch.ByteStorage", c10::kByte},     {"torch.BoolStorage", c10::kBool},
            {"torch.ComplexFloatStorage", c10::kComplexFloat}, {"torch.ComplexDoubleStorage", c10::kComplexDouble},
        };
        const auto it = types.find(global);
        if (it == types.end())
            throw ReadError(fromFile(global) + " is not a storage type");
        return it->second;
    }

    std::map<std::string, PickleValue::StorageRef> m_storages;
};

bool isTensorDict(const PickleValuePtr &v)
{
    if (!v || v->kind != Kind::Dict || v->entries.empty())
        return false;
    for (const auto &[k, value] : v->entries)
        if (k->kind != Kind::String || value->kind != Kind::Tensor)
            return false;
    return true;
}

// {epoch, state_dict, optimizer} -> state_dict; a bare state dict as is.
PickleValuePtr findStateDict(const PickleValuePtr &root)
{
    if (!root || root->kind != Kind::Dict)
        throw ReadError("the checkpoint holds no dict of tensors (its top object is not a dict)");
    if (auto sd = root->get("state_dict"); sd && sd->kind == Kind::Dict)
        return sd;
    if (isTensorDict(root))
        return root;
    PickleValuePtr found;
    for (const char *name : {"model", "net", "model_state_dict"}) {
        if (auto sd = root->get(name); isTensorDict(sd)) {
            if (found)
                throw ReadError("the checkpoint holds several state dicts (model, net); cannot tell which is the network");
            found = sd;
        }
    }
    if (found)
        return found;
    // A state dict may hold the odd non-tensor entry (_extra_state): accept a dict whose
    // values are mostly tensors.
    std::size_t tensors = 0;
    for (const auto &[k, v] : root->entries)
        tensors += v->kind == Kind::Tensor;
    if (tensors > 0)
        return root;
    throw ReadError("the checkpoint holds no state dict (no \"state_dict\" entry and no tensors at its top level)");
}

std::int64_t bytesPerElement(c10::ScalarType t)
{
    return static_cast<std::int64_t>(c10::elementSize(t));
}

at::Tensor materialize(const PickleValue::TensorRef &ref, const at::Tensor &root, const std::string &name)
{
    std::int64_t last = ref.storage.viewOffset + ref.storageOffset;
    if (ref.storageOffset < 0)
        throw ReadError("tensor " + fromFile(name) + " has a negative storage offset");
    bool empty = false;
    for (std::size_t i = 0; i < ref.sizes.size(); ++i) {
        if (ref.sizes[i] < 0 || ref.strides[i] < 0)
            throw ReadError("tensor " + fromFile(name) + " has a negative size or stride");
        if (ref.sizes[i] == 0)
            empty = true;
        else if (ref.sizes[i] > 1 && ref.strides[i] > (std::numeric_limits<std::int64_t>::max() - last) / (ref.sizes[i] - 1))
            throw ReadError("tensor " + fromFile(name) + " has an impossible size");
        else
            last += (ref.sizes[i] - 1) * ref.strides[i];
    }
    const std::int64_t limit = ref.storage.viewOffset + ref.storage.numel;
    if (!empty && last >= limit)
        throw ReadError("tensor " + fromFile(name) + " reaches element " + std::to_string(last) + " of a storage of " +
                        std::to_string(limit) + " elements (damaged file)");
    if (empty)
        return at::empty(ref.sizes, root.options());
    // as_strided keeps the storage shared: tensors that share it in the file share it here.
    return root.as_strided(ref.sizes, ref.strides, ref.storage.viewOffset + ref.storageOffset);
}

StateDict collect(const PickleValuePtr &stateDict, const std::map<std::string, at::Tensor> &roots)
{
    StateDict out;
    for (const auto &[k, v] : stateDict->entries) {
        if (v->kind != Kind::Tensor)
            continue;
        if (k->kind != Kind::String)
            throw ReadError("a state dict key is not a string");
        const auto it = roots.find(v->tensor.storage.key);
        if (it == roots.end())
            throw ReadError("tensor " + fromFile(k->text) + " refers to storage " + fromFile(v->tensor.storage.key) + " that the file does not hold");
        out.emplace_back(k->text, materialize(v->tensor, it->second, k->text));
    }
    if (out.empty())
        throw ReadError("the state dict holds no tensors");
    return out;
}

// The storages the state dict uses (the optimizer's are skipped).
std::map<std::string, PickleValue::StorageRef> usedStorages(const PickleValuePtr &stateDict)
{
    std::map<std::string, PickleValue::StorageRef> used;
    for (const auto &[k, v] : stateDict->entries)
        if (v->kind == Kind::Tensor)
            used.emplace(v->tensor.storage.key, v->tensor.storage);
    return used;
}

StateDict readZip(const QByteArray &bytes)
{
    // LibTorch's zip reader trusts every record (its CRC checks are compiled out): each
    // record used is checked here against the CRC-32 and size the archive's directory
    // records for it.
    Result<ZipDirectory> directory = ZipDirectory::read(bytes);
    if (!directory)
        throw ReadError(directory.error().message.toStdString());
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<ByteArrayReadAdapter>(bytes));
    // PyTorchStreamReader prefixes every name with the first record's folder.
    const std::string prefix = directory->firstName().substr(0, directory->firstName().find('/') + 1);
    auto record = [&](const std::string &name) {
        auto data = reader.getRecord(name);
        const ZipRecord *entry = directory->find(prefix + name);
        if (!entry)
            throw ReadError("record " + fromFile(name) + " is missing from the archive's directory (damaged file)");
        const auto size = std::get<1>(data);
        if (entry->size != size || ZipDirectory::crc32(std::get<0>(data).get(), size) != entry->crc32)
            throw ReadError("record " + fromFile(name) + " fails its CRC-32 check: its bytes changed after it was written (damaged file)");
        return data;
    };
    if (!reader.hasRecord("data.pkl"))
        throw ReadError("a zip archive without data.pkl: not a torch.save checkpoint (a TorchScript model? use architecture \"torchscript\")");
    auto [pickleData, pickleSize] = record("data.pkl");
    StorageCatalogue catalogue;
    PickleUnpickler unpickler(static_cast<const char *>(pickleData.get()), pickleSize);
    unpickler.setPersistentLoad([&](const PickleValuePtr &pid) { return catalogue.resolve(pid); });
    auto root = unpickler.load();
    if (!root)
        throw ReadError(root.error().message.toStdString());
    if (reader.hasRecord("byteorder")) {
        auto [order, n] = record("byteorder");
        if (std::string(static_cast<const char *>(order.get()), n) != "little")
            throw ReadError("the checkpoint was written on a big-endian machine; not supported");
    }
    const PickleValuePtr stateDict = findStateDict(*root);
    std::map<std::string, at::Tensor> roots;
    for (const auto &[key, ref] : usedStorages(stateDict)) {
        const auto &declared = catalogue.storages().at(key);
        const std::string name = "data/" + key;
        if (!reader.hasRecord(name))
            throw ReadError("storage record " + fromFile(name) + " is missing from the archive");
        auto [data, size] = record(name);
        if (declared.numel > static_cast<std::int64_t>(size) / bytesPerElement(declared.dtype))
            throw ReadError("storage record " + fromFile(name) + " holds " + std::to_string(size) + " bytes, fewer than its " +
                            std::to_string(declared.numel) + " elements need (damaged file)");
        const std::int64_t bytesNeeded = declared.numel * bytesPerElement(declared.dtype);
        if (static_cast<std::int64_t>(size) < bytesNeeded)
            throw ReadError("storage record " + fromFile(name) + " holds " + std::to_string(size) + " bytes, " +
                            std::to_string(bytesNeeded) + " expected (damaged file)");
        at::Tensor storage = at::empty({declared.numel}, at::TensorOptions().dtype(declared.dtype));
        if (bytesNeeded > 0)
            std::memcpy(storage.data_ptr(), data.get(), static_cast<std::size_t>(bytesNeeded));
        roots.emplace(key, storage);
    }
    return collect(stateDict, roots);
}

StateDict readLegacy(const QByteArray &bytes)
{
    const char *data = bytes.constData();
    const auto size = static_cast<std::size_t>(bytes.size());
    std::size_t pos = 0;
    auto next = [&](PickleUnpickler::PersistentLoad load = {}) {
        PickleUnpickler unpickler(data, size, pos);
        if (load)
            unpickler.setPersistentLoad(std::move(load));
        auto v = unpickler.load();
        if (!v)
            throw ReadError(v.error().message.toStdString());
        pos = unpickler.position();
        return std::move(v).value();
    };

    const PickleValuePtr magic = next();
    if (magic->kind != Kind::BigInt || magic->text != std::string(reinterpret_cast<const char *>(kLegacyMagic), sizeof kLegacyMagic))
        throw ReadError("not a PyTorch checkpoint (neither a zip archive nor the legacy format's magic number)");
    const PickleValuePtr protocol = next();
    if (protocol->kind != Kind::Int || protocol->integer != kLegacyProtocolVersion)
        throw ReadError("unknown legacy checkpoint protocol version");
    const PickleValuePtr sysInfo = next();
    if (sysInfo->kind == Kind::Dict) {
        if (auto le = sysInfo->get("little_endian"); le && le->kind == Kind::Bool && !le->boolean)
            throw ReadError("the checkpoint was written on a big-endian machine; not supported");
    }
    StorageCatalogue catalogue;
    const PickleValuePtr root = next([&](const PickleValuePtr &pid) { return catalogue.resolve(pid); });
    const PickleValuePtr keys = next();
    if (keys->kind != Kind::List)
        throw ReadError("the legacy checkpoint's list of storages is missing");

    const PickleValuePtr stateDict = findStateDict(root);
    const auto used = usedStorages(stateDict);
    std::map<std::string, at::Tensor> roots;
    // Storages follow in the order of the key list: int64 element count, then the raw
    // little-endian elements.
    for (const auto &keyValue : keys->items) {
        if (keyValue->kind != Kind::String)
            throw ReadError("the legacy checkpoint's storage list holds a non-string key");
        const std::string &key = keyValue->text;
        const auto it = catalogue.storages().find(key);
        if (it == catalogue.storages().end())
            throw ReadError("storage " + fromFile(key) + " is listed but never used (damaged file)");
        if (size - pos < 8)
            throw ReadError("truncated: the file ends before storage " + fromFile(key));
        std::int64_t numel = 0;
        std::memcpy(&numel, data + pos, 8);
        pos += 8;
        const std::int64_t elem = bytesPerElement(it->second.dtype);
        if (numel != it->second.numel)
            throw ReadError("storage " + fromFile(key) + " holds " + std::to_string(numel) + " elements, its id says " +
                            std::to_string(it->second.numel) + " (damaged file)");
        if (numel > static_cast<std::int64_t>(size - pos) / elem)
            throw ReadError("truncated: the file ends inside storage " + fromFile(key));
        const auto nbytes = static_cast<std::size_t>(numel * elem);
        if (used.count(key)) {
            at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(it->second.dtype));
            if (nbytes > 0)
                std::memcpy(storage.data_ptr(), data + pos, nbytes);
            roots.emplace(key, storage);
        }
        pos += nbytes;
    }
    return collect(stateDict, roots);
}

} // namespace

Result<StateDict> CheckpointReader::readCardWeights(const ModelCard &card)
{
    // Parses the very bytes whose SHA-256 was checked against the card.
    Result<QByteArray> bytes = WeightsFile::readVerified(card);
    if (!bytes)
        return bytes.error();
    Result<StateDict> weights = readStateDict(*bytes, card.weightsPath());
    if (!weights)
        return Error{ErrorCategory::Model, weights.error().message};
    return weights;
}

Result<StateDict> CheckpointReader::readStateDict(const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return Error{ErrorCategory::Missing, QStringLiteral("checkpoint %1 does not exist").arg(path)};
    QFile file(path);
    if (!info.isFile() || !file.open(QIODevice::ReadOnly))
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read checkpoint %1: %2").arg(path, file.errorString())};
    QByteArray bytes;
    try {
        bytes = file.readAll();
    } catch (const std::bad_alloc &) {
        return Error{ErrorCategory::Model, QStringLiteral("checkpoint %1: not enough memory to read it").arg(path)};
    }
    if (bytes.size() != info.size() || file.error() != QFileDevice::NoError)
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read checkpoint %1: %2").arg(path, file.errorString())};
    return readStateDict(bytes, path);
}

Result<StateDict> CheckpointReader::readStateDict(const QByteArray &bytes, const QString &name)
{
    auto fail = [&](const QString &why) {
        return Error{ErrorCategory::Model, QStringLiteral("checkpoint %1: %2").arg(name, why)};
    };
    try {
        if (bytes.size() < 4)
            return fail(QStringLiteral("too short to be a PyTorch checkpoint (%1 bytes)").arg(bytes.size()));
        if (bytes.startsWith("PK\x03\x04"))
            return readZip(bytes);
        return readLegacy(bytes);
    } catch (const ReadError &e) {
        return fail(PrintableText::fromBytes(e.what()));
    } catch (const c10::Error &e) {
        // The zip reader reports damaged archives this way.
        return fail(QStringLiteral("damaged zip archive (%1)").arg(PrintableText::summarise(QStringLiteral("LibTorch"), e.what_without_backtrace())));
    } catch (const std::bad_alloc &) {
        return fail(QStringLiteral("not enough memory to read it (damaged file?)"));
    } catch (const std::exception &e) {
        return fail(PrintableText::summarise(QStringLiteral("LibTorch"), e.what()));
    }
}

} // namespace SegScale::Model
