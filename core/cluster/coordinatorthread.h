#pragma once
// CoordinatorThread: a Coordinator on a thread of its own, the way `study run`, `serve`
// and the desktop app host one. The thread is quit and joined on destruction, after the
// coordinator committed what it holds.

#include "base/result.h"
#include "cluster/coordinator.h"

#include <QThread>

#include <functional>

namespace SegScale::Cluster {

class CoordinatorThread {
public:
    explicit CoordinatorThread(CoordinatorOptions options);
    ~CoordinatorThread();
    CoordinatorThread(const CoordinatorThread &) = delete;
    CoordinatorThread &operator=(const CoordinatorThread &) = delete;

    // Starts the thread and opens the study there; the error when it cannot.
    Result<void> start();
    Coordinator *coordinator() const { return m_coordinator; }
    // Runs f on the coordinator's thread and waits for it (setup and tests only).
    void call(const std::function<void(Coordinator &)> &f) const;
    // Runs f on the coordinator's thread without waiting.
    void post(std::function<void(Coordinator &)> f) const;

private:
    QThread m_thread;
    Coordinator *m_coordinator = nullptr;
};

} // namespace SegScale::Cluster
