#pragma once
// PickleUnpickler: a restricted reader of Python pickles (protocols 0-4, everything
// torch.save and TorchScript's pickler emit) that never executes anything. Only an
// allow-list of globals may appear — tensor rebuild functions, torch storage types,
// collections.OrderedDict and the builtins plain containers need; any other global
// (os.system, builtins.eval, ...) stops the load with an error that names it, before a
// REDUCE could ever call it. Persistent ids (torch's storages) go to a callback.
//
// Reads one pickle per load() from a byte buffer that the caller keeps alive; the legacy
// checkpoint format is several pickles in a row, so position() tells where one ended.
// Not thread-safe; cheap to create.
//
// Hostile files: the opcodes are interpreted in a loop (no recursion the input can
// drive), values are destroyed iteratively, and PickleLimits bound nesting, container
// sizes, the memo and the number of objects; going over one is a Model error that names
// the limit. Dict keys are indexed, so SETITEMS stays linear however large the dict.

#include "base/result.h"
#include "model/picklevalue.h"

#include <cstddef>
#include <functional>
#include <string>

namespace SegScale::Model {

// What one pickle may build. The defaults are far above any real checkpoint (a PSPNet-101
// training checkpoint with its optimizer: ~2,000 tensors, ~80,000 objects, nesting 7)
// and far below what exhausts memory or time.
struct PickleLimits {
    // Python's own pickler stops at its recursion limit (1,000 frames by default), so no
    // torch.save output nests deeper.
    std::size_t maxDepth = 1000;
    std::size_t maxContainerItems = 1'000'000;  // items of one list/tuple/dict (pairs count once)
    std::size_t maxMemoEntries = 4'000'000;
    // Objects created plus references placed (into a container, or onto the stack by
    // GET/DUP): each costs memory, ~100-300 bytes for an object.
    std::size_t maxObjects = 8'000'000;
};

class PickleUnpickler {
public:
    // Receives the persistent id (a tuple for torch) and returns the object it names,
    // or throws std::runtime_error with a message for the user.
    using PersistentLoad = std::function<PickleValuePtr(const PickleValuePtr &pid)>;

    PickleUnpickler(const char *data, std::size_t size, std::size_t offset = 0, PickleLimits limits = {});
    void setPersistentLoad(PersistentLoad load) { m_persistentLoad = std::move(load); }

    // Reads up to and including the next STOP. Errors are Model errors: "truncated",
    // "refused global posix.system", "unsupported opcode 0x..", ...
    Result<PickleValuePtr> load();
    std::size_t position() const { return m_pos; }

    // Whether `module.name` is on the allow-list (for tests and messages).
    static bool isAllowedGlobal(const std::string &module, const std::string &name);
    // Text from the file made safe to quote in a message: printable ASCII, other bytes
    // as \xNN, at most maxChars characters (then "...").
    static std::string printable(const std::string &text, std::size_t maxChars = 80);

private:
    PickleValuePtr run();

    const char *m_data;
    std::size_t m_size;
    std::size_t m_pos;
    PersistentLoad m_persistentLoad;
    PickleLimits m_limits;
};

} // namespace SegScale::Model
