#pragma once
// A small stand-in for std::expected (C++23), with the subset of its API that hostgate uses.
// g++ 12 has no <expected>; when the toolchain does, this header becomes a using-declaration.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace hostgate {

template <class E>
class Unexpected {
  public:
    explicit Unexpected(E error) : error_(std::move(error)) {}
    const E& error() const& { return error_; }
    E&& error() && { return std::move(error_); }

  private:
    E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class Expected {
  public:
    using value_type = T;
    using error_type = E;

    template <class U = T>
    requires std::is_constructible_v<T, U&&> Expected(U&& value)
        : state_(std::in_place_index<0>, std::forward<U>(value)) {}
    template <class G>
    Expected(Unexpected<G> u) : state_(std::in_place_index<1>, std::move(u).error()) {}

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return check(), std::get<0>(state_); }
    const T& value() const& { return check(), std::get<0>(state_); }
    T&& value() && { return check(), std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const {
        assert(!has_value());
        return std::get<1>(state_);
    }

    template <class U>
    T value_or(U&& fallback) const& {
        return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
    }

  private:
    void check() const { assert(has_value()); }
    std::variant<T, E> state_;
};

// Expected<void, E>: success carries nothing.
template <class E>
class Expected<void, E> {
  public:
    Expected() = default;
    template <class G>
    Expected(Unexpected<G> u) : error_(std::move(u).error()), failed_(true) {}

    bool has_value() const { return !failed_; }
    explicit operator bool() const { return has_value(); }
    const E& error() const {
        assert(failed_);
        return error_;
    }

  private:
    E error_{};
    bool failed_ = false;
};

}  // namespace hostgate
