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

#include "base/result.h"
#include "model/picklevalue.h"

#include <cstddef>
#include <functional>

namespace SegScale::Model {

class PickleUnpickler {
public:
    // Receives the persistent id (a tuple for torch) and returns the object it names,
    // or throws std::runtime_error with a message for the user.
    using PersistentLoad = std::function<PickleValuePtr(const PickleValuePtr &pid)>;

    PickleUnpickler(const char *data, std::size_t size, std::size_t offset = 0);
    void setPersistentLoad(PersistentLoad load) { m_persistentLoad = std::move(load); }

    // Reads up to and including the next STOP. Errors are Model errors: "truncated",
    // "refused global posix.system", "unsupported opcode 0x..", ...
    Result<PickleValuePtr> load();
    std::size_t position() const { return m_pos; }

    // Whether `module.name` is on the allow-list (for tests and messages).
    static bool isAllowedGlobal(const std::string &module, const std::string &name);

private:
    PickleValuePtr run();

    const char *m_data;
    std::size_t m_size;
    std::size_t m_pos;
    PersistentLoad m_persistentLoad;
};

} // namespace SegScale::Model
