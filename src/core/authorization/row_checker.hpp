// RowChecker: how the authorizer asks whether identities may see row versions — one round
// (one transaction, normally one round trip) for many identities and rows. The authorizer owns
// the queues, the ordering and the narrowing of failures; a checker only answers rounds.
// Implementations: PgRowChecker (the primary-key probe on the live table, and the reference's
// per-subscriber EXISTS kept as the benchmark baseline); core::PolicyChecker decides on the
// versions a change carries; tests use fakes.
#pragma once

#include "core/authorization/policy_checker.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace walcast::core {

class RowChecker {
public:
    /// How a round went.
    enum class Status : unsigned char {
        Ok,          ///< every request's verdicts are filled (Visible, Hidden, or Failed for a
                     ///< row this checker could not decide — e.g. its key was not in the change)
        Failed,      ///< a statement raised: the round decided nothing; narrowing may help
        TimedOut,    ///< the statement timeout (or the visibility wait) ran out: not retried
        Unreachable, ///< no usable connection: not retried
    };
    struct Round {
        Status status = Status::Ok;
        std::string error; ///< why, for the log (not Ok)
    };

    virtual ~RowChecker() = default;

    /// Decides every row of every request in one round. On Ok each request's `verdicts` has one
    /// entry per row; otherwise they are unspecified. Rows may repeat a change (different
    /// requests). Called by one authorizer worker (the checker is that worker's); blocks.
    virtual Round check(std::span<RowCheckRequest*> requests) = 0;
};

/// Makes worker `index`'s checker (each owns its connection).
using RowCheckerFactory = std::function<std::unique_ptr<RowChecker>(unsigned index)>;

} // namespace walcast::core
