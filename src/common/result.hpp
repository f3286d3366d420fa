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

/// Holds either a T or an Error. Check with ok()/operator bool before value().
template <class T> class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

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

    const Error& error() const& {
        assert(!ok());
        return std::get<1>(v_);
    }
    Error&& error() && {
        assert(!ok());
        return std::get<1>(std::move(v_));
    }

private:
    std::variant<T, Error> v_;
};

/// Success or an Error, for operations with no value.
template <> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const& {
        assert(failed_);
        return error_;
    }
    Error&& error() && {
        assert(failed_);
        return std::move(error_);
    }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

} // namespace walcast
