#pragma once
// InterruptWatcher: Ctrl-C (SIGINT) and SIGTERM for long commands. The first signal asks
// for a clean drain (finish what is in flight, start nothing new), the second stops now.
// The signal handler only bumps an atomic counter; a watcher thread turns that into the
// callbacks, outside signal context.

#include <functional>
#include <memory>

namespace SegScale::Cli {

class InterruptWatcher {
public:
    InterruptWatcher(std::function<void()> onFirst, std::function<void()> onSecond);
    ~InterruptWatcher();
    bool interrupted() const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace SegScale::Cli
