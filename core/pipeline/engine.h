#pragma once
// Engine: runs the reference procedure over a stream of images.
//
// Sequential mode is the original monolithic loop — one window (and its flip) through
// the network at a time, level after level, image after image — kept as the correctness
// reference and the baseline of every speed comparison. Pipelined mode (the default)
// decomposes the same arithmetic into stages on their own threads linked by bounded
// queues: fetch+decode (several images ahead) -> pre-process (all windows of all levels)
// -> infer (batches of windows, filled across images) -> combine (a thread pool) ->
// report. Same numbers, different schedule: the labels are identical.
//
// Memory: once decoded, an image reserves what it will hold until it is reported
// (bytesInFlight()) against a MemoryBudget of SegmentOptions::memoryBudget bytes, so large
// images wait for room instead of piling up; one that could never fit fails alone as
// too-large. --images-in-flight caps their number besides.
//
// run() blocks until the source is exhausted, or cancel() (finish the images in flight,
// take no new ones) or abort() (drop the images in flight; nothing half-written, since
// outputs are written atomically and only reported images count). Both are thread-safe
// and may be called from a signal-watching thread.

#include "model/network.h"
#include "pipeline/imagetask.h"
#include "pipeline/runstats.h"
#include "pipeline/segmentoptions.h"

#include <opencv2/core/mat.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <memory>

namespace SegScale::Pipeline {

class OutputWriter;
struct Segmentation;

class Engine {
public:
    // writer may be null: nothing is written, results still reach the sink.
    Engine(std::shared_ptr<const Model::Network> network, SegmentOptions options, const OutputWriter *writer);
    ~Engine();

    RunStats run(ImageSource &source, ResultSink &sink);
    void cancel() { m_cancel = true; }
    void abort();
    bool cancelled() const { return m_cancel; }

    // The memory budget a run gets: SegmentOptions::memoryBudget, or the machine's
    // default (MemoryBudget::machineDefault()).
    static std::size_t memoryBudget(const SegmentOptions &options);
    // Bytes one image of that size holds at most between decode and report (pipelined):
    // its pixels in their forms, its windows and its combine. What it reserves of the
    // budget; an image needing more than the whole budget fails alone as too-large.
    static std::size_t bytesInFlight(int width, int height, int numClasses, const SegmentOptions &options);

    // One image through the reference procedure, synchronously (tests, the GUI preview).
    Result<Segmentation> segmentImage(const cv::Mat &bgr) const;

    // Sees each done image's label map on the report thread, just before the sink hears
    // of it: `segscale bench` checks with it that both schedules label alike, without
    // writing files. Set before run(); must not keep the Mat beyond the call unless it
    // copies it.
    using LabelsObserver = std::function<void(const ImageTask &task, const cv::Mat &labels)>;
    void setLabelsObserver(LabelsObserver observer) { m_labelsObserver = std::move(observer); }

private:
    struct Impl;
    RunStats runSequential(ImageSource &source, ResultSink &sink);
    RunStats runPipelined(ImageSource &source, ResultSink &sink);

    std::shared_ptr<const Model::Network> m_network;
    SegmentOptions m_options;
    const OutputWriter *m_writer;
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_abort{false};
    std::mutex m_hookMutex;
    std::function<void()> m_abortHook;  // set while a pipelined run is in progress
    LabelsObserver m_labelsObserver;
};

} // namespace SegScale::Pipeline
