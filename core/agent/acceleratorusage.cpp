#include "agent/acceleratorusage.h"

#include <QLibrary>

namespace SegScale::Agent {
namespace {

// The few NVML declarations used (nvml.h, stable ABI since the v2 entry points).
using nvmlReturn_t = int;
using nvmlDevice_t = void *;
struct NvmlMemory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};
struct NvmlUtilization {
    unsigned int gpu;
    unsigned int memory;
};
constexpr nvmlReturn_t kNvmlSuccess = 0;

} // namespace

struct AcceleratorUsage::Nvml {
    QLibrary library;
    nvmlReturn_t (*init)() = nullptr;
    nvmlReturn_t (*shutdown)() = nullptr;
    nvmlReturn_t (*handleByIndex)(unsigned int, nvmlDevice_t *) = nullptr;
    nvmlReturn_t (*memoryInfo)(nvmlDevice_t, NvmlMemory *) = nullptr;
    nvmlReturn_t (*utilization)(nvmlDevice_t, NvmlUtilization *) = nullptr;
    nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int) = nullptr;
    nvmlDevice_t device = nullptr;
    QString deviceName;
    ~Nvml()
    {
        if (shutdown)
            shutdown();
    }
};

AcceleratorUsage::AcceleratorUsage(const QString &device) : m_device(device)
{
    if (device == QLatin1StringView("cuda"))
        m_index = 0;
    else if (device.startsWith(QLatin1StringView("cuda:"))) {
        bool ok = false;
        const int i = device.mid(5).toInt(&ok);
        m_index = ok && i >= 0 ? i : -1;
    }
}

AcceleratorUsage::~AcceleratorUsage() = default;

std::optional<QJsonObject> AcceleratorUsage::sample()
{
    if (m_index < 0)
        return std::nullopt;
    if (!m_tried) {
        m_tried = true;
        auto nvml = std::make_unique<Nvml>();
        nvml->library.setFileNameAndVersion(QStringLiteral("nvidia-ml"), 1);
        if (!nvml->library.load())
            return std::nullopt;
        auto resolve = [&](auto &fn, const char *symbol) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(nvml->library.resolve(symbol));
            return fn != nullptr;
        };
        nvmlReturn_t (*initV2)() = nullptr;
        if (!resolve(initV2, "nvmlInit_v2") || !resolve(nvml->shutdown, "nvmlShutdown") ||
            !resolve(nvml->handleByIndex, "nvmlDeviceGetHandleByIndex_v2") || !resolve(nvml->memoryInfo, "nvmlDeviceGetMemoryInfo") ||
            !resolve(nvml->utilization, "nvmlDeviceGetUtilizationRates") || !resolve(nvml->name, "nvmlDeviceGetName"))
            return std::nullopt;
        if (initV2() != kNvmlSuccess) {
            nvml->shutdown = nullptr;  // not initialised: nothing to shut down
            return std::nullopt;
        }
        nvml->init = initV2;
        if (nvml->handleByIndex(static_cast<unsigned int>(m_index), &nvml->device) != kNvmlSuccess)
            return std::nullopt;
        char name[96] = {};
        if (nvml->name(nvml->device, name, sizeof name) == kNvmlSuccess)
            nvml->deviceName = QString::fromUtf8(name);
        m_nvml = std::move(nvml);
    }
    if (!m_nvml)
        return std::nullopt;
    NvmlMemory memory{};
    if (m_nvml->memoryInfo(m_nvml->device, &memory) != kNvmlSuccess)
        return std::nullopt;
    QJsonObject out{{QStringLiteral("device"), m_index == 0 && m_device == QLatin1StringView("cuda") ? QStringLiteral("cuda:0") : m_device},
                    {QStringLiteral("memory_used_mib"), static_cast<double>(memory.used / (1024 * 1024))},
                    {QStringLiteral("memory_total_mib"), static_cast<double>(memory.total / (1024 * 1024))}};
    if (!m_nvml->deviceName.isEmpty())
        out.insert(QStringLiteral("name"), m_nvml->deviceName);
    NvmlUtilization use{};
    if (m_nvml->utilization(m_nvml->device, &use) == kNvmlSuccess)
        out.insert(QStringLiteral("utilization_percent"), static_cast<int>(use.gpu));
    return out;
}

} // namespace SegScale::Agent
