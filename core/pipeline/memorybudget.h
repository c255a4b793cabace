#pragma once
// MemoryBudget: the bytes that the images in flight may hold together. An image reserves
// what it will need (its pixels, its windows, its combine: Engine::bytesInFlight) once
// it is decoded and gives it back when it is reported, so that a panorama waits for
// room instead of pushing the process out of memory, while many small photos still run
// side by side. A count of images could not do both: two 640x640 tiles and two 8K
// panoramas differ a hundredfold.
//
// Reservations are served in the order they are asked for: a large image waits for room
// and the small ones behind it wait with it, so it is never starved. One that cannot fit
// even alone is the caller's to refuse (fits()). Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

namespace SegScale::Pipeline {

class MemoryBudget {
public:
    explicit MemoryBudget(std::size_t bytes) : m_capacity(bytes) {}
    MemoryBudget(const MemoryBudget &) = delete;
    MemoryBudget &operator=(const MemoryBudget &) = delete;

    // Bytes reserved for the caller until the Reservation is destroyed or reset; an empty
    // Reservation reserves nothing.
    class Reservation {
    public:
        Reservation() = default;
        Reservation(Reservation &&o) noexcept : m_budget(std::exchange(o.m_budget, nullptr)), m_bytes(std::exchange(o.m_bytes, 0)) {}
        Reservation &operator=(Reservation &&o) noexcept
        {
            if (this != &o) {
                reset();
                m_budget = std::exchange(o.m_budget, nullptr);
                m_bytes = std::exchange(o.m_bytes, 0);
            }
            return *this;
        }
        ~Reservation() { reset(); }
        void reset();
        std::size_t bytes() const { return m_bytes; }

    private:
        friend class MemoryBudget;
        Reservation(MemoryBudget *budget, std::size_t bytes) : m_budget(budget), m_bytes(bytes) {}
        MemoryBudget *m_budget = nullptr;
        std::size_t m_bytes = 0;
    };

    std::size_t capacity() const { return m_capacity; }
    bool fits(std::size_t bytes) const { return bytes <= m_capacity; }
    // Blocks until `bytes` fit beside the other reservations and every earlier request
    // has been served. Empty when aborted, or when the bytes can never fit.
    Reservation reserve(std::size_t bytes);
    // Wakes every waiter with an empty reservation; later calls return at once.
    void abort();

    std::size_t reserved() const;
    std::size_t highWater() const;
    // Requests not served yet: the images waiting for room.
    std::size_t waiting() const;

    // Half of what this process may use: the smallest of the machine's memory, the
    // cgroup's limit (containers, Slurm) and the address-space and data limits
    // (ulimit -v / -d). The other half is the model's, the libraries' and the stages'
    // shared buffers.
    static std::size_t machineDefault();
    // The smallest of those limits; 0 when none could be read.
    static std::uint64_t processMemoryLimit();

private:
    void release(std::size_t bytes);

    const std::size_t m_capacity;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::size_t m_reserved = 0;
    std::size_t m_highWater = 0;
    std::uint64_t m_nextTicket = 0;  // requests are numbered ...
    std::uint64_t m_serving = 0;     // ... and served in that order
    bool m_aborted = false;
};

} // namespace SegScale::Pipeline
