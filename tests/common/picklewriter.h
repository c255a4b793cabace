#pragma once
// PickleWriter: emits pickle opcodes byte by byte the way CPython's pickle module writes
// them for torch.save (no Python in the test environment). Shared by the checkpoint
// reader's unit test and its fuzz target. Header-only, Qt only.

#include <QByteArray>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace SegScale::Tests {

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
    // The start of a legacy torch.save file: the magic number and the protocol version
    // (1001), each its own pickle. The sys-info pickle comes next.
    void legacyPreamble()
    {
        proto();
        op('\x8a');
        u8(10);
        for (unsigned char c : {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19})
            u8(c);
        stop();
        proto();
        integer(1001);
        stop();
    }
    // A tensor as torch.save (legacy or zip) pickles it: _rebuild_tensor_v2 with a
    // persistent id for its storage (key, type such as "FloatStorage", element count).
    void tensor(const std::string &storageKey, const char *storageType, std::int64_t storageNumel, std::int64_t offset,
                const std::vector<std::int64_t> &sizes, const std::vector<std::int64_t> &strides, bool legacy)
    {
        global("torch._utils", "_rebuild_tensor_v2");
        mark();
        mark();
        str("storage");
        global("torch", storageType);
        str(storageKey);
        str("cpu");
        integer(storageNumel);
        if (legacy)
            op('N');  // view_metadata
        op('t');
        op('Q');
        integer(offset);
        intTuple(sizes);
        intTuple(strides);
        op('\x89');
        orderedDict();
        op('t');
        op('R');
    }
};

} // namespace SegScale::Tests
