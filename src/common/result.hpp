// Result<T>: the value-or-error type for expected failures on the data path (house style:
// errors are values, never exceptions). An Error carries a category code and a message that a
// user can act on.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace walcast {

/// Broad classes of expected failure; the message says what happened and how to fix it.
enum class Errc {
    InvalidInput,     ///< malformed bytes, frames, filters or tokens from a peer
    NotFound,         ///< a named object (table, column, key) does not exist
    PermissionDenied, ///< authorization refused
    Unavailable,      ///< a dependency (Postgres, network) is down; retrying may help
    Timeout,          ///< a deadline passed
    Protocol,         ///< a peer broke its protocol contract (unknown message, bad state)
    Config,           ///< invalid configuration
    Internal,         ///< an invariant held by walcast itself failed
};

/// An expected failure: a class and a human-readable message naming the fix.
struct Error {
    Errc code = Errc::Internal;
    std::string message;

    /// Prefixes context ("decoding Insert: ") to the message; returns *this for chaining.
    Error& context(std::string_view what) {
        message.insert(0, std::string(what) + ": ");
        return *this;
    }
};

inline Error make_error(Errc code, std::string message) {
    return Error{code, std::move(message)};
}

/// Holds either a T or an E (an Error unless a layer needs more, e.g. a SQLSTATE or a close
/// code). Check with ok()/operator bool before value().
template <class T, class E = Error> class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const E& error() const& {
        assert(!ok());
        return std::get<1>(v_);
    }
    E&& error() && {
        assert(!ok());
        return std::get<1>(std::move(v_));
    }

private:
    std::variant<T, E> v_;
};

/// Success or an E, for operations with no value.
template <class E> class [[nodiscard]] Result<void, E> {
public:
    Result() = default;
    Result(E error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const E& error() const& {
        assert(failed_);
        return error_;
    }
    E&& error() && {
        assert(failed_);
        return std::move(error_);
    }

private:
    E error_;
    bool failed_ = false;
};

using Status = Result<void>;

} // namespace walcast
