#pragma once
// PickleValue: one object of an unpickled PyTorch checkpoint, as far as a restricted
// unpickler lets it exist — plain containers and scalars, the few allowed globals, and
// storage/tensor *descriptions*. Tensors stay descriptions (storage key, dtype, offset,
// sizes, strides) until the storage bytes are known: the legacy format writes the bytes
// after the pickle, so nothing can be materialised while unpickling.
//
// A value may nest as deep as its file says (within the unpickler's limits); destroying
// it never recurses, so no nesting can overflow the stack when the last reference goes.

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace SegScale::Model {

struct PickleValue;
using PickleValuePtr = std::shared_ptr<PickleValue>;

struct PickleValue {
    enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

    // A storage named by a persistent id: the root storage `key` of `numel` elements of
    // `dtype`; a legacy storage view starts `viewOffset` elements into its root.
    struct StorageRef {
        std::string key;
        c10::ScalarType dtype = c10::ScalarType::Float;
        std::int64_t numel = 0;
        std::int64_t viewOffset = 0;
    };

    struct TensorRef {
        StorageRef storage;
        std::int64_t storageOffset = 0;  // elements, relative to the storage (view) start
        std::vector<std::int64_t> sizes;
        std::vector<std::int64_t> strides;
    };

    Kind kind = Kind::None;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0.0;
    // String/Bytes: the bytes (UTF-8 for strings); BigInt: little-endian two's complement;
    // Global: "module.name".
    std::string text;
    std::vector<PickleValuePtr> items;                             // Tuple, List
    std::vector<std::pair<PickleValuePtr, PickleValuePtr>> entries;  // Dict, in insertion order
    StorageRef storage;                                            // Storage
    TensorRef tensor;                                              // Tensor
    // Bookkeeping of the unpickler's limits: containers nest `depth` levels (0 for a
    // scalar); a sealed container sits inside another one and may no longer change, so
    // depths stay exact and no container can ever hold itself (no reference cycles).
    std::uint32_t depth = 0;
    bool sealed = false;

    PickleValue() = default;
    PickleValue(const PickleValue &) = default;
    PickleValue &operator=(const PickleValue &) = default;
    ~PickleValue();

    static PickleValuePtr make(Kind kind)
    {
        auto v = std::make_shared<PickleValue>();
        v->kind = kind;
        return v;
    }
    bool isString(const char *s) const { return kind == Kind::String && text == s; }
    // Dict lookup by string key; nullptr when absent.
    PickleValuePtr get(const std::string &key) const
    {
        for (const auto &[k, v] : entries)
            if (k->kind == Kind::String && k->text == key)
                return v;
        return nullptr;
    }
};

} // namespace SegScale::Model
