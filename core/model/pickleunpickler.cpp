#include "model/pickleunpickler.h"

#include "base/printabletext.h"

#include <QString>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace SegScale::Model {

namespace {

using Kind = PickleValue::Kind;

// Thrown inside the unpickler only; load() turns it into an Error.
struct PickleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string &what)
{
    throw PickleError(what);
}

[[noreturn]] void overLimit(const char *limit, std::size_t value, const std::string &what)
{
    fail("refused: over the " + std::string(limit) + " limit of " + std::to_string(value) + " (" + what +
         "); no real checkpoint comes near it (crafted or damaged file)");
}

// Marks a value as held by `parent` (sealing it) and grows the parent's depth; the
// parent must still be open. Every container link of the unpickler goes through here,
// so nesting is counted exactly and a container can never come to hold itself.
void adopt(PickleValue &parent, PickleValue &child, const PickleLimits &limits)
{
    child.sealed = true;
    if (parent.sealed)
        fail("refused: a container changed after it was put inside another one (a self-referencing structure; "
             "checkpoints hold none)");
    if (child.depth + 1u > limits.maxDepth)
        overLimit("nesting depth", limits.maxDepth, "containers nested deeper");
    parent.depth = std::max(parent.depth, child.depth + 1u);
}

struct StorageType {
    const char *name;
    c10::ScalarType dtype;
};

// The storage classes torch.save names in persistent ids (torch/storage.py).
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", c10::ScalarType::Float},          {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},            {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},            {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},          {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},            {"BoolStorage", c10::ScalarType::Bool},
    {"ComplexFloatStorage", c10::ScalarType::ComplexFloat}, {"ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
};

// Functions and classes a state-dict checkpoint legitimately names. Each is either a
// storage type (a value, never called) or has a fixed, data-only meaning below.
const char *const kAllowedCallables[] = {
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
    "collections.OrderedDict",         "torch.Size",                   "torch.device",
    "builtins.set",                    "builtins.frozenset",           "builtins.list",
    "builtins.tuple",                  "builtins.dict",                "__builtin__.set",
    "__builtin__.frozenset",           "_codecs.encode",
    // TorchScript's pickler (torch::pickle_save) tags typed containers with these; in
    // Python they return their first argument.
    "torch.jit._pickle.restore_type_tag", "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",   "torch.jit._pickle.build_tensorlist",
};

bool isStorageGlobal(const std::string &module, const std::string &name)
{
    if (module != "torch")
        return false;
    for (const auto &t : kStorageTypes)
        if (name == t.name)
            return true;
    return false;
}

std::int64_t asInt(const PickleValuePtr &v, const char *what)
{
    if (v && v->kind == Kind::Int)
        return v->integer;
    if (v && v->kind == Kind::Bool)
        return v->boolean ? 1 : 0;
    fail(std::string("expected an integer for ") + what);
}

std::vector<std::int64_t> asIntTuple(const PickleValuePtr &v, const char *what)
{
    if (!v || (v->kind != Kind::Tuple && v->kind != Kind::List))
        fail(std::string("expected a tuple of integers for ") + what);
    std::vector<std::int64_t> out;
    out.reserve(v->items.size());
    for (const auto &item : v->items)
        out.push_back(asInt(item, what));
    return out;
}

PickleValuePtr rebuildTensor(const std::vector<PickleValuePtr> &args, const char *function)
{
    if (args.size() < 4)
        fail(std::string(function) + " called with too few arguments");
    if (!args[0] || args[0]->kind != Kind::Storage)
        fail(std::string(function) + " called without a storage (a storage comes from a persistent id)");
    auto t = PickleValue::make(Kind::Tensor);
    t->tensor.storage = args[0]->storage;
    t->tensor.storageOffset = asInt(args[1], "a tensor's storage offset");
    t->tensor.sizes = asIntTuple(args[2], "a tensor's size");
    t->tensor.strides = asIntTuple(args[3], "a tensor's stride");
    if (t->tensor.sizes.size() != t->tensor.strides.size())
        fail("a tensor has " + std::to_string(t->tensor.sizes.size()) + " sizes but " +
             std::to_string(t->tensor.strides.size()) + " strides");
    return t;
}

// The meaning of calling an allowed global: pure data construction, nothing else.
// `references` counts the container slots it fills, for the object limit.
PickleValuePtr callAllowed(const PickleValuePtr &callable, const PickleValuePtr &argsValue, const PickleLimits &limits,
                           std::size_t &references)
{
    if (!callable || callable->kind != Kind::Global)
        fail("REDUCE/NEWOBJ on something that is not an allowed class or function");
    if (!argsValue || argsValue->kind != Kind::Tuple)
        fail("REDUCE/NEWOBJ arguments are not a tuple");
    const std::string &f = callable->text;
    const auto &args = argsValue->items;
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor")
        return rebuildTensor(args, f.c_str());
    if (f == "torch._utils._rebuild_parameter") {
        if (args.empty() || !args[0] || args[0]->kind != Kind::Tensor)
            fail("_rebuild_parameter called without a tensor");
        return args[0];
    }
    if (f.starts_with("torch.jit._pickle.")) {
        if (args.empty())
            fail(f + " called without arguments");
        return args[0];
    }
    if (f == "collections.OrderedDict" || f == "builtins.dict") {
        auto d = PickleValue::make(Kind::Dict);
        if (!args.empty() && args[0]) {
            // OrderedDict([(k, v), ...])
            for (const auto &pair : args[0]->items) {
                if (!pair || pair->kind != Kind::Tuple || pair->items.size() != 2)
                    fail(f + " called with something other than key/value pairs");
                adopt(*d, *pair->items[0], limits);
                adopt(*d, *pair->items[1], limits);
                d->entries.emplace_back(pair->items[0], pair->items[1]);
            }
            references += 2 * d->entries.size();
        }
        return d;
    }
    if (f == "torch.Size" || f == "builtins.tuple" || f == "builtins.list" || f == "builtins.set" ||
        f == "builtins.frozenset" || f == "__builtin__.set" || f == "__builtin__.frozenset") {
        // Sets are kept as lists: nothing in a state dict depends on set semantics.
        auto out = PickleValue::make(f == "torch.Size" || f == "builtins.tuple" ? Kind::Tuple : Kind::List);
        if (!args.empty() && args[0]) {
            // Already held by args[0]: sealed, depths known.
            out->items = args[0]->items;
            out->depth = args[0]->depth;
            references += out->items.size();
        }
        return out;
    }
    if (f == "torch.device") {
        auto out = PickleValue::make(Kind::String);
        out->text = !args.empty() && args[0] && args[0]->kind == Kind::String ? args[0]->text : std::string("cpu");
        return out;
    }
    if (f == "_codecs.encode") {
        // Python 3 writes bytes at protocol 2 as _codecs.encode(latin-1 text, "latin1").
        if (args.size() != 2 || !args[0] || args[0]->kind != Kind::String || !args[1] || args[1]->kind != Kind::String ||
            (args[1]->text != "latin1" && args[1]->text != "latin-1"))
            fail("_codecs.encode is allowed only for latin1 bytes");
        auto out = PickleValue::make(Kind::Bytes);
        const QByteArray latin1 = QString::fromUtf8(args[0]->text).toLatin1();
        out->text.assign(latin1.constData(), static_cast<size_t>(latin1.size()));
        return out;
    }
    // A storage type or anything else: never called.
    fail("calling " + f + " is not allowed in a checkpoint");
}

} // namespace

bool PickleUnpickler::isAllowedGlobal(const std::string &module, const std::string &name)
{
    if (isStorageGlobal(module, name))
        return true;
    const std::string full = module + "." + name;
    for (const char *allowed : kAllowedCallables)
        if (full == allowed)
            return true;
    return false;
}

PickleUnpickler::PickleUnpickler(const char *data, std::size_t size, std::size_t offset, PickleLimits limits)
    : m_data(data), m_size(size), m_pos(offset), m_limits(limits)
{
}

std::string PickleUnpickler::printable(const std::string &text, std::size_t maxChars)
{
    std::string out;
    for (const char c : text) {
        if (out.size() >= maxChars) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && u != '\\') {
            out += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        }
    }
    return out;
}

Result<PickleValuePtr> PickleUnpickler::load()
{
    try {
        return run();
    } catch (const PickleError &e) {
        return Error{ErrorCategory::Model, QString::fromStdString(e.what())};
    } catch (const std::bad_alloc &) {
        return Error{ErrorCategory::Model, QStringLiteral("pickle needs more memory than is available (damaged file?)")};
    } catch (const std::exception &e) {
        // The persistent-load callback reports its own problems this way.
        return Error{ErrorCategory::Model, PrintableText::fromBytes(e.what())};
    }
}

PickleValuePtr PickleUnpickler::run()
{
    std::vector<PickleValuePtr> stack;
    std::vector<std::size_t> marks;
    std::unordered_map<std::uint64_t, PickleValuePtr> memo;
    // String keys of the dicts being filled -> entry index; holding the dict keeps its
    // address from being reused while the index lives.
    std::unordered_map<const PickleValue *, std::pair<PickleValuePtr, std::unordered_map<std::string, std::size_t>>> dictKeys;
    std::size_t objects = 0;
    const PickleLimits &limits = m_limits;

    auto count = [&](std::size_t n) {
        objects += n;
        if (objects > limits.maxObjects)
            overLimit("object count", limits.maxObjects, "objects created and references to them");
    };
    auto checkSize = [&](std::size_t n) {
        if (n > limits.maxContainerItems)
            overLimit("container size", limits.maxContainerItems, "items in one list, tuple or dict");
    };
    auto push = [&](PickleValuePtr v) {
        count(1);
        stack.push_back(std::move(v));
    };

    auto need = [&](std::size_t n) {
        if (n > m_size - m_pos)
            fail("truncated: the pickle ends at byte " + std::to_string(m_size) + " in the middle of an object");
    };
    auto readBytes = [&](std::size_t n) {
        need(n);
        std::string s(m_data + m_pos, n);
        m_pos += n;
        return s;
    };
    auto readU = [&](int n) -> std::uint64_t {
        need(static_cast<std::size_t>(n));
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(m_data[m_pos + static_cast<std::size_t>(i)])) << (8 * i);
        m_pos += static_cast<std::size_t>(n);
        return v;
    };
    auto readLine = [&]() {
        const void *nl = std::memchr(m_data + m_pos, '\n', m_size - m_pos);
        if (!nl)
            fail("truncated: a text field of the pickle has no end of line");
        const std::size_t end = static_cast<std::size_t>(static_cast<const char *>(nl) - m_data);
        std::string s(m_data + m_pos, end - m_pos);
        m_pos = end + 1;
        return s;
    };
    auto pop = [&]() {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
            fail("pickle stack underflow (damaged file)");
        PickleValuePtr v = std::move(stack.back());
        stack.pop_back();
        return v;
    };
    auto top = [&]() -> PickleValuePtr & {
        if (stack.empty())
            fail("pickle stack underflow (damaged file)");
        return stack.back();
    };
    auto popMark = [&]() {
        if (marks.empty())
            fail("pickle uses a MARK that was never set (damaged file)");
        const std::size_t m = marks.back();
        marks.pop_back();
        std::vector<PickleValuePtr> items(std::make_move_iterator(stack.begin() + static_cast<std::ptrdiff_t>(m)),
                                          std::make_move_iterator(stack.end()));
        stack.resize(m);
        return items;
    };
    auto makeInt = [](std::int64_t v) {
        auto p = PickleValue::make(Kind::Int);
        p->integer = v;
        return p;
    };
    auto makeText = [](Kind kind, std::string s) {
        auto p = PickleValue::make(kind);
        p->text = std::move(s);
        return p;
    };
    auto makeGlobal = [&](const std::string &module, const std::string &name) {
        if (!isAllowedGlobal(module, name))
            fail("refused global " + printable(module) + "." + printable(name) +
                 ": a checkpoint may only hold tensors, storages, OrderedDict and plain containers "
                 "(nothing in it is executed)");
        return makeText(Kind::Global, module + "." + name);
    };
    auto parseInt = [](const std::string &s) -> std::int64_t {
        std::string t = s;
        if (!t.empty() && t.back() == 'L')
            t.pop_back();
        try {
            std::size_t used = 0;
            const long long v = std::stoll(t, &used);
            if (used != t.size())
                fail("bad integer \"" + printable(s) + "\" in pickle");
            return v;
        } catch (const std::logic_error &) {
            fail("bad or too large integer \"" + printable(s) + "\" in pickle");
        }
    };
    auto sequence = [&](Kind kind, std::vector<PickleValuePtr> items) {
        checkSize(items.size());
        auto t = PickleValue::make(kind);
        for (const auto &item : items)
            adopt(*t, *item, limits);
        count(items.size());
        t->items = std::move(items);
        return t;
    };
    auto toTuple = [&](std::vector<PickleValuePtr> items) { return sequence(Kind::Tuple, std::move(items)); };
    auto append = [&](const PickleValuePtr &list, std::vector<PickleValuePtr> items) {
        if (list->kind != Kind::List)
            fail("APPEND(S) to something that is not a list");
        checkSize(list->items.size() + items.size());
        for (auto &item : items) {
            adopt(*list, *item, limits);
            list->items.push_back(std::move(item));
        }
        count(items.size());
    };
    auto setItems = [&](const PickleValuePtr &dict, std::vector<PickleValuePtr> &kv) {
        if (!dict || dict->kind != Kind::Dict)
            fail("SETITEM(S) on something that is not a dict");
        if (kv.size() % 2)
            fail("SETITEMS with an odd number of items (damaged file)");
        auto [it, fresh] = dictKeys.try_emplace(dict.get());
        auto &index = it->second.second;
        if (fresh) {
            it->second.first = dict;
            for (std::size_t e = 0; e < dict->entries.size(); ++e)
                if (dict->entries[e].first->kind == Kind::String)
                    index.emplace(dict->entries[e].first->text, e);
        }
        for (std::size_t i = 0; i < kv.size(); i += 2) {
            adopt(*dict, *kv[i], limits);
            adopt(*dict, *kv[i + 1], limits);
            count(2);
            // Keys are almost always strings; replacing keeps dict semantics for repeats.
            if (kv[i]->kind == Kind::String) {
                const auto [at, added] = index.try_emplace(kv[i]->text, dict->entries.size());
                if (!added) {
                    dict->entries[at->second].second = kv[i + 1];
                    continue;
                }
            }
            checkSize(dict->entries.size() + 1);
            dict->entries.emplace_back(kv[i], kv[i + 1]);
        }
    };
    auto memoize = [&](std::uint64_t key) {
        const PickleValuePtr &value = top();
        const auto it = memo.find(key);
        if (it != memo.end()) {
            it->second = value;
            return;
        }
        if (memo.size() >= limits.maxMemoEntries)
            overLimit("memo size", limits.maxMemoEntries, "memo entries");
        memo.emplace(key, value);
    };
    auto persistent = [&](const PickleValuePtr &pid) {
        if (!m_persistentLoad)
            fail("the pickle refers to external data (a persistent id) where none is expected");
        PickleValuePtr v = m_persistentLoad(pid);
        if (!v)
            fail("unresolved persistent id in pickle");
        return v;
    };

    for (;;) {
        need(1);
        const unsigned char op = static_cast<unsigned char>(m_data[m_pos++]);
        switch (op) {
        case 0x80: { // PROTO
            const auto proto = readU(1);
            if (proto > 5)
                fail("pickle protocol " + std::to_string(proto) + " is newer than this reader knows");
            break;
        }
        case 0x95: // FRAME: only a read-ahead hint
            readU(8);
            break;
        case '.': // STOP
            if (stack.size() != 1 || !marks.empty())
                fail("pickle ends with " + std::to_string(stack.size()) + " objects on its stack (damaged file)");
            return stack.back();
        case '(':
            // Each open MARK is a container being built: marks nest as the data does.
            if (marks.size() >= limits.maxDepth)
                overLimit("nesting depth", limits.maxDepth, "open MARKs");
            marks.push_back(stack.size());
            break;
        case '0':
            if (!marks.empty() && stack.size() == marks.back())
                marks.pop_back();
            else
                pop();
            break;
        case '1': popMark(); break;
        case '2': push(top()); break;
        case 'I': {
            const std::string s = readLine();
            if (s == "00" || s == "01") {
                auto b = PickleValue::make(Kind::Bool);
                b->boolean = s == "01";
                push(b);
            } else {
                push(makeInt(parseInt(s)));
            }
            break;
        }
        case 'J': push(makeInt(static_cast<std::int32_t>(static_cast<std::uint32_t>(readU(4))))); break;
        case 'K': push(makeInt(static_cast<std::int64_t>(readU(1)))); break;
        case 'M': push(makeInt(static_cast<std::int64_t>(readU(2)))); break;
        case 'L': push(makeInt(parseInt(readLine()))); break;
        case 0x8a:
        case 0x8b: { // LONG1, LONG4: little-endian two's complement
            const std::uint64_t n = op == 0x8a ? readU(1) : readU(4);
            need(n);
            std::string bytes = readBytes(n);
            if (n <= 8) {
                std::uint64_t v = 0;
                for (std::size_t i = 0; i < n; ++i)
                    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
                if (n > 0 && n < 8 && (static_cast<unsigned char>(bytes[n - 1]) & 0x80))
                    v |= ~std::uint64_t(0) << (8 * n);
                push(makeInt(static_cast<std::int64_t>(v)));
            } else {
                push(makeText(Kind::BigInt, std::move(bytes)));
            }
            break;
        }
        case 'N': push(PickleValue::make(Kind::None)); break;
        case 0x88:
        case 0x89: {
            auto b = PickleValue::make(Kind::Bool);
            b->boolean = op == 0x88;
            push(b);
            break;
        }
        case 'F': {
            auto f = PickleValue::make(Kind::Float);
            try {
                f->real = std::stod(readLine());
            } catch (const std::logic_error &) {
                fail("bad float in pickle");
            }
            push(f);
            break;
        }
        case 'G': { // BINFLOAT: big-endian IEEE double
            need(8);
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i)
                bits = (bits << 8) | static_cast<unsigned char>(m_data[m_pos + static_cast<std::size_t>(i)]);
            m_pos += 8;
            auto f = PickleValue::make(Kind::Float);
            std::memcpy(&f->real, &bits, sizeof bits);
            push(f);
            break;
        }
        case 'S': case 'V': { // STRING (quoted repr), UNICODE (raw-unicode-escape): protocol 0 text
            std::string s = readLine();
            if (op == 'S') {
                if (s.size() < 2 || (s.front() != '\'' && s.front() != '"') || s.back() != s.front())
                    fail("bad STRING in pickle");
                s = s.substr(1, s.size() - 2);
            }
            if (s.find('\\') != std::string::npos)
                fail("escaped protocol-0 strings are not supported");
            push(makeText(Kind::String, std::move(s)));
            break;
        }
        case 'T': push(makeText(Kind::String, readBytes(readU(4)))); break;
        case 'U': push(makeText(Kind::String, readBytes(readU(1)))); break;
        case 'X': push(makeText(Kind::String, readBytes(readU(4)))); break;
        case 0x8c: push(makeText(Kind::String, readBytes(readU(1)))); break;
        case 0x8d: push(makeText(Kind::String, readBytes(readU(8)))); break;
        case 'B': push(makeText(Kind::Bytes, readBytes(readU(4)))); break;
        case 'C': push(makeText(Kind::Bytes, readBytes(readU(1)))); break;
        case 0x8e: case 0x96: push(makeText(Kind::Bytes, readBytes(readU(8)))); break;
        case ')': push(PickleValue::make(Kind::Tuple)); break;
        case 't': push(toTuple(popMark())); break;
        case 0x85: { auto a = pop(); push(toTuple({a})); break; }
        case 0x86: { auto b = pop(); auto a = pop(); push(toTuple({a, b})); break; }
        case 0x87: { auto c = pop(); auto b = pop(); auto a = pop(); push(toTuple({a, b, c})); break; }
        case ']': case 0x8f: push(PickleValue::make(Kind::List)); break;
        case 'l': case 0x91: push(sequence(Kind::List, popMark())); break;
        case 'a': {
            auto v = pop();
            append(top(), {std::move(v)});
            break;
        }
        case 'e': case 0x90: { // APPENDS, ADDITEMS
            auto items = popMark();
            append(top(), std::move(items));
            break;
        }
        case '}': push(PickleValue::make(Kind::Dict)); break;
        case 'd': {
            auto items = popMark();
            auto d = PickleValue::make(Kind::Dict);
            setItems(d, items);
            push(d);
            break;
        }
        case 's': {
            auto v = pop();
            auto k = pop();
            std::vector<PickleValuePtr> kv{k, v};
            setItems(top(), kv);
            break;
        }
        case 'u': {
            auto kv = popMark();
            setItems(top(), kv);
            break;
        }
        case 'c': {
            const std::string module = readLine();
            const std::string name = readLine();
            push(makeGlobal(module, name));
            break;
        }
        case 0x93: { // STACK_GLOBAL
            auto name = pop();
            auto module = pop();
            if (module->kind != Kind::String || name->kind != Kind::String)
                fail("STACK_GLOBAL with non-string names");
            push(makeGlobal(module->text, name->text));
            break;
        }
        case 'R': case 0x81: { // REDUCE, NEWOBJ: callable(*args) / cls.__new__(cls, *args)
            auto args = pop();
            auto callable = pop();
            std::size_t references = 0;
            push(callAllowed(callable, args, limits, references));
            count(references);
            break;
        }
        case 0x92: { // NEWOBJ_EX
            auto kwargs = pop();
            auto args = pop();
            auto cls = pop();
            if (kwargs->kind != Kind::Dict || !kwargs->entries.empty())
                fail("NEWOBJ_EX with keyword arguments is not supported");
            std::size_t references = 0;
            push(callAllowed(cls, args, limits, references));
            count(references);
            break;
        }
        case 'b': { // BUILD: __setstate__
            auto state = pop();
            const auto &obj = top();
            // OrderedDict state dicts carry `_metadata` (module versions), tensors their
            // hooks: neither matters for the weights.
            if (obj->kind != Kind::Dict && obj->kind != Kind::Tensor)
                fail("BUILD (setting object state) is only allowed on dicts and tensors");
            break;
        }
        case 'i': { // INST: module and name in the stream — name the refused class
            const std::string module = readLine();
            const std::string name = readLine();
            fail("refused global " + printable(module) + "." + printable(name) + ": instantiating classes (INST) is not allowed in a checkpoint");
        }
        case 'o': fail("refused: instantiating classes (OBJ) is not allowed in a checkpoint");
        case 0x82: case 0x83: case 0x84: fail("refused: pickle extension registry codes (EXT) are not allowed in a checkpoint");
        case 'p': memoize(static_cast<std::uint64_t>(parseInt(readLine()))); break;
        case 'q': memoize(readU(1)); break;
        case 'r': memoize(readU(4)); break;
        case 0x94: memoize(memo.size()); break;
        case 'g': case 'h': case 'j': {
            const std::uint64_t k = op == 'g' ? static_cast<std::uint64_t>(parseInt(readLine())) : readU(op == 'h' ? 1 : 4);
            const auto it = memo.find(k);
            if (it == memo.end())
                fail("pickle refers to memo entry " + std::to_string(k) + " that was never stored (damaged file)");
            push(it->second);
            break;
        }
        case 'P': push(persistent(makeText(Kind::String, readLine()))); break;
        case 'Q': { auto pid = pop(); push(persistent(pid)); break; }
        default: {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", op);
            fail(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(m_pos - 1) +
                 " (damaged file or not a PyTorch checkpoint)");
        }
        }
    }
}

} // namespace SegScale::Model
