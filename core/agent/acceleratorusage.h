#pragma once
// AcceleratorUsage: what an agent on a CUDA device tells the coordinator about that
// device in its heartbeat — {"device": "cuda:0", "name", "memory_used_mib",
// "memory_total_mib", "utilization_percent"} — read from the NVIDIA driver's NVML
// library (libnvidia-ml.so.1, loaded at run time, so nothing links CUDA). A CPU agent,
// or one whose driver has no NVML, reports nothing: the Workers view then says "—"
// rather than a made-up number. The memory is the whole device's, as nvidia-smi shows
// it (other processes on the GPU included); the index is the CUDA one, which matches
// NVML's unless CUDA_VISIBLE_DEVICES reorders devices.

#include <QJsonObject>
#include <QString>

#include <memory>
#include <optional>

namespace SegScale::Agent {

class AcceleratorUsage {
public:
    // device: the agent's --device ("cpu", "cuda", "cuda:1").
    explicit AcceleratorUsage(const QString &device);
    ~AcceleratorUsage();
    AcceleratorUsage(const AcceleratorUsage &) = delete;
    AcceleratorUsage &operator=(const AcceleratorUsage &) = delete;

    // nullopt on a CPU device or when the driver cannot be asked.
    std::optional<QJsonObject> sample();

private:
    struct Nvml;
    QString m_device;
    int m_index = -1;  // -1: not a CUDA device
    std::unique_ptr<Nvml> m_nvml;
    bool m_tried = false;
};

} // namespace SegScale::Agent
