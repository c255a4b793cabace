#pragma once
// BoundedQueue: the link between two pipeline stages. push() blocks while the queue is
// full, so a slow stage stalls the one before it and memory stays flat however large the
// dataset; close() wakes everybody: pushes then fail, pops drain what is left and then
// return nothing. Records its high-water mark for --stats-json.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace SegScale::Pipeline {

template <typename T>
class BoundedQueue {
public:
    explicit BoundedQueue(size_t capacity) : m_capacity(capacity ? capacity : 1) {}

    bool push(T item)
    {
        std::unique_lock lock(m_mutex);
        m_notFull.wait(lock, [&] { return m_closed || m_items.size() < m_capacity; });
        if (m_closed)
            return false;
        m_items.push_back(std::move(item));
        m_highWater = std::max(m_highWater, m_items.size());
        m_notEmpty.notify_one();
        return true;
    }

    std::optional<T> pop()
    {
        std::unique_lock lock(m_mutex);
        m_notEmpty.wait(lock, [&] { return m_closed || !m_items.empty(); });
        return takeLocked();
    }

    // Returns at once: an item if one is queued, nothing otherwise.
    std::optional<T> tryPop()
    {
        std::unique_lock lock(m_mutex);
        return takeLocked();
    }

    // No more pushes; consumers drain what is queued.
    void close()
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        m_notEmpty.notify_all();
        m_notFull.notify_all();
    }

    // Drop everything queued (hard cancel) and close.
    void abort()
    {
        std::lock_guard lock(m_mutex);
        m_items.clear();
        m_closed = true;
        m_notEmpty.notify_all();
        m_notFull.notify_all();
    }

    bool closedAndEmpty() const
    {
        std::lock_guard lock(m_mutex);
        return m_closed && m_items.empty();
    }
    size_t capacity() const { return m_capacity; }
    size_t highWater() const
    {
        std::lock_guard lock(m_mutex);
        return m_highWater;
    }

private:
    std::optional<T> takeLocked()
    {
        if (m_items.empty())
            return std::nullopt;
        T item = std::move(m_items.front());
        m_items.pop_front();
        m_notFull.notify_one();
        return item;
    }

    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::condition_variable m_notEmpty, m_notFull;
    std::deque<T> m_items;
    size_t m_highWater = 0;
    bool m_closed = false;
};

} // namespace SegScale::Pipeline
