#pragma once
// RunStats: what --stats-json reports about one engine run — per-stage busy seconds,
// network forward seconds (in all and per pyramid scale), images/s, windows per forward
// pass, queue high-water marks and peak resident memory.

#include <QJsonObject>
#include <QString>

#include <cstddef>
#include <map>

namespace SegScale::Pipeline {

struct QueueStats {
    size_t capacity = 0;
    size_t highWater = 0;
};

// Network time spent on one scale of the pyramid. A batch that mixes scales is shared
// out among them by window count.
struct ScaleTime {
    long long windows = 0;
    double networkSeconds = 0;
};

struct RunStats {
    QString mode;
    int imagesDone = 0;
    int imagesFailed = 0;
    double wallSeconds = 0;
    double forwardSeconds = 0;   // inside Network::forward (+ softmax/flip), summed
    long long forwardCalls = 0;
    long long windows = 0;       // windows through the network (a window and its flip = 1)
    std::map<QString, double> stageBusySeconds;  // fetch, decode, preprocess, infer, combine, report
    std::map<QString, QueueStats> queues;
    std::map<double, ScaleTime> perScale;        // keyed by the scale (0.5, 1.25, ...)
    long peakRssKiB = 0;
    // The memory budget of a pipelined run and the most of it the images in flight held
    // at once (Engine::bytesInFlight); 0 for a sequential run.
    std::size_t memoryBudgetBytes = 0;
    std::size_t memoryReservedHighWater = 0;
    bool untrained = false;

    double imagesPerSecond() const { return wallSeconds > 0 ? imagesDone / wallSeconds : 0; }
    double windowsPerForward() const { return forwardCalls ? static_cast<double>(windows) / forwardCalls : 0; }
    QJsonObject toJson() const;

    static long currentRssKiB();
    static long peakRssKiBNow();
};

} // namespace SegScale::Pipeline
