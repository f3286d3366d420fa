// PolicyRowChecker: the authorizer's RowChecker that decides the row versions a change carries
// by the subscriber's SELECT policies (PolicyChecker, evaluated in Postgres over the change's
// values), never by reading the live table: a row reassigned, shared then unshared, or deleted
// right after it was written is judged as it was committed (issue 10; docs/architecture.md,
// "Deciding a row version under row-level security").
#pragma once

#include "core/authorization/pg_row_checker.hpp"
#include "core/authorization/policy_checker.hpp"
#include "core/authorization/row_checker.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <chrono>

namespace walcast::core {

class PolicyRowChecker final : public RowChecker {
public:
    /// params: the database (connects on first use and again after a break, with a short
    /// backoff). checker: shared by every worker (its PolicyCache holds the built policies);
    /// each PolicyRowChecker owns its connection and the statements prepared on it.
    /// stopping (may be null, must outlive the checker): once true, a round that lost its
    /// connection is not run again and reconnect waits end, so shutdown is not held up.
    PolicyRowChecker(pg::ConnectParams params, PolicyChecker& checker, RowCheckMetrics& metrics,
                     std::chrono::milliseconds reconnect_window = std::chrono::seconds(30),
                     const std::atomic<bool>* stopping = nullptr);

    /// Decides every row; PolicyChecker narrows failures itself (identities alone, then rows
    /// one by one), so a round is Ok with Failed verdicts for the rows whose check raised, timed
    /// out, or lacked a value the policies read. A round that lost its connection (Postgres
    /// restarted, the backend terminated) is run again on a new one, with a growing pause
    /// (50 ms … 2 s), for up to reconnect_window; only then is it Unreachable (as PgRowChecker).
    Round check(std::span<RowCheckRequest*> requests) override;

private:
    bool connect();
    bool stopping() const { return stopping_ && stopping_->load(std::memory_order_acquire); }
    /// Sleeps d, or less once stopping().
    void pause_for(std::chrono::milliseconds d) const;

    const pg::ConnectParams params_;
    PolicyChecker& checker_;
    RowCheckMetrics& metrics_;
    const std::chrono::milliseconds reconnect_window_;
    const std::atomic<bool>* const stopping_;
    pg::Connection conn_;
    PolicySession session_;
};

} // namespace walcast::core
