#include "interruptwatcher.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace SegScale::Cli {

namespace {
std::atomic<int> g_signals{0};
extern "C" void onSignal(int)
{
    g_signals.fetch_add(1);
}
} // namespace

struct InterruptWatcher::State {
    std::function<void()> first, second;
    std::atomic<bool> stop{false};
    int seen = 0;
    std::thread thread;
};

InterruptWatcher::InterruptWatcher(std::function<void()> onFirst, std::function<void()> onSecond)
    : m_state(std::make_unique<State>())
{
    m_state->first = std::move(onFirst);
    m_state->second = std::move(onSecond);
    g_signals = 0;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    m_state->thread = std::thread([s = m_state.get()] {
        while (!s->stop) {
            const int n = g_signals.load();
            if (n >= 1 && s->seen < 1 && s->first)
                s->first();
            if (n >= 2 && s->seen < 2 && s->second)
                s->second();
            s->seen = n;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
}

InterruptWatcher::~InterruptWatcher()
{
    m_state->stop = true;
    m_state->thread.join();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

bool InterruptWatcher::interrupted() const
{
    return g_signals.load() > 0;
}

} // namespace SegScale::Cli
