#include "pipeline/memorybudget.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <string>

namespace SegScale::Pipeline {

namespace {

// A cgroup memory limit ("max" or a number, v2; a huge number means none in v1).
std::uint64_t cgroupLimit()
{
    std::uint64_t limit = 0;
    for (const char *path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
        std::ifstream in(path);
        std::string value;
        if (!(in >> value) || value == "max")
            continue;
        try {
            const std::uint64_t v = std::stoull(value);
            if (v > 0 && v < (std::uint64_t{1} << 60))
                limit = limit ? std::min(limit, v) : v;
        } catch (const std::exception &) {
        }
    }
    return limit;
}

std::uint64_t softLimit(int resource)
{
    struct rlimit r{};
    if (getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
        return 0;
    return static_cast<std::uint64_t>(r.rlim_cur);
}

} // namespace

void MemoryBudget::Reservation::reset()
{
    if (m_budget && m_bytes)
        m_budget->release(m_bytes);
    m_budget = nullptr;
    m_bytes = 0;
}

MemoryBudget::Reservation MemoryBudget::reserve(std::size_t bytes)
{
    if (!fits(bytes))
        return {};
    std::unique_lock lock(m_mutex);
    const std::uint64_t ticket = m_nextTicket++;
    m_changed.wait(lock, [&] { return m_aborted || (ticket == m_serving && m_reserved + bytes <= m_capacity); });
    if (m_aborted)
        return {};
    ++m_serving;
    m_reserved += bytes;
    m_highWater = std::max(m_highWater, m_reserved);
    m_changed.notify_all();  // the next ticket may fit too
    return Reservation(this, bytes);
}

void MemoryBudget::release(std::size_t bytes)
{
    {
        const std::lock_guard lock(m_mutex);
        m_reserved -= std::min(bytes, m_reserved);
    }
    m_changed.notify_all();
}

void MemoryBudget::abort()
{
    {
        const std::lock_guard lock(m_mutex);
        m_aborted = true;
    }
    m_changed.notify_all();
}

std::size_t MemoryBudget::reserved() const
{
    const std::lock_guard lock(m_mutex);
    return m_reserved;
}

std::size_t MemoryBudget::highWater() const
{
    const std::lock_guard lock(m_mutex);
    return m_highWater;
}

std::size_t MemoryBudget::waiting() const
{
    const std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(m_nextTicket - m_serving);
}

std::uint64_t MemoryBudget::processMemoryLimit()
{
    std::uint64_t limit = 0;
    const auto consider = [&](std::uint64_t v) {
        if (v > 0)
            limit = limit ? std::min(limit, v) : v;
    };
    const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && pageSize > 0)
        consider(static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(pageSize));
    consider(cgroupLimit());
    consider(softLimit(RLIMIT_AS));
    consider(softLimit(RLIMIT_DATA));
    return limit;
}

std::size_t MemoryBudget::machineDefault()
{
    const std::uint64_t limit = processMemoryLimit();
    // Nothing readable: assume a small machine rather than none.
    const std::uint64_t half = limit ? limit / 2 : (std::uint64_t{2} << 30);
    return static_cast<std::size_t>(std::min<std::uint64_t>(half, std::numeric_limits<std::size_t>::max()));
}

} // namespace SegScale::Pipeline
