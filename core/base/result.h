#pragma once
// Result<T>: either a value or an Error (std::expected is C++23; this is the small part
// of it we need). Result<void> carries only success or an Error.

#include "base/error.h"

#include <cassert>
#include <utility>
#include <variant>

namespace SegScale {

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}
    Result(ErrorCategory category, QString message) : Result(Error{category, std::move(message)}) {}

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() & { assert(ok()); return std::get<0>(m_data); }
    const T &value() const & { assert(ok()); return std::get<0>(m_data); }
    T &&value() && { assert(ok()); return std::get<0>(std::move(m_data)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

    const Error &error() const { assert(!ok()); return std::get<1>(m_data); }

private:
    std::variant<T, Error> m_data;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_ok(false) {}
    Result(ErrorCategory category, QString message) : Result(Error{category, std::move(message)}) {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return ok(); }
    const Error &error() const { assert(!ok()); return m_error; }

private:
    Error m_error;
    bool m_ok = true;
};

} // namespace SegScale
