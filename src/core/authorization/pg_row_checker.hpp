// PgRowChecker: row checks run in Postgres against the live table, as the subscriber (SET LOCAL
// ROLE + request.jwt.claims), in one read-only transaction and one round trip per round. Two
// statement shapes share the round (and its wait for the changes' transactions to be visible):
//  - KeyProbe (RLS_STRATEGY=batched): per identity and table one statement probing every
//    changed key — `unnest` of the keys WITH ORDINALITY, each probed by LATERAL (… WHERE pk =
//    key LIMIT 1), one index lookup per key whatever the planner thinks of the policy;
//  - ExistsPerRow (RLS_STRATEGY=per-subscriber, the reference's cost model kept as the
//    benchmark baseline): per request and row one `SELECT EXISTS (… WHERE pk = <value>)`.
#pragma once

#include "common/metrics.hpp"
#include "core/authorization/row_checker.hpp"
#include "core/authorization/table_access.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace walcast::core {

/// The counters a checker updates (registered once, shared by every worker's checker).
struct RowCheckMetrics {
    explicit RowCheckMetrics(MetricsRegistry& registry);
    Counter& checks;      ///< check statements run
    Counter& round_trips; ///< check transactions (each one round trip)
    Counter& reconnects;  ///< rounds run again on a new connection after the old one was lost
};

class PgRowChecker final : public RowChecker {
public:
    enum class Statements : unsigned char { KeyProbe, ExistsPerRow };

    /// stopping (may be null, must outlive the checker): once true, a round that lost its
    /// connection is not run again and reconnect waits end, so shutdown is not held up.
    /// params: the database (the checker connects on first use and again after a break, with
    /// a short backoff). access: primary keys. timeout_ms: statement_timeout of a round, also
    /// the bound of the visibility wait.
    PgRowChecker(pg::ConnectParams params, Statements statements, AccessCache& access,
                 std::uint32_t timeout_ms, RowCheckMetrics& metrics,
                 std::chrono::milliseconds reconnect_window = std::chrono::seconds(30),
                 const std::atomic<bool>* stopping = nullptr);

    /// One round, run again on a new connection when the connection is lost (Postgres restarted,
    /// the backend terminated) — with a growing pause (50 ms … 2 s) for up to reconnect_window;
    /// only then is it Unreachable. A statement's own error (a raising policy) is Failed at once.
    /// Each attempt is one transaction: BEGIN READ ONLY, statement_timeout, "are the changes'
    /// transactions visible yet?" (a walsender can decode a commit before the committing backend
    /// has left the ProcArray: a check run at once could judge the previous row version), then per
    /// request its role, claims and statements; repeated with a growing pause (200 µs … 20 ms)
    /// while not visible, up to timeout_ms. Rows whose key cannot be read (not in the change,
    /// the table has no primary key, the key could not be looked up) are Failed without a
    /// statement; a request whose every row is so takes no part in the transaction.
    Round check(std::span<RowCheckRequest*> requests) override;

private:
    bool connect();
    Round check_once(std::span<RowCheckRequest*> requests);

    const pg::ConnectParams params_;
    const Statements statements_;
    AccessCache& access_;
    const std::uint32_t timeout_ms_;
    RowCheckMetrics& metrics_;
    const std::chrono::milliseconds reconnect_window_;
    const std::atomic<bool>* const stopping_;
    bool stopping() const { return stopping_ && stopping_->load(std::memory_order_acquire); }
    /// Sleeps d, or less once stopping().
    void pause_for(std::chrono::milliseconds d) const;
    pg::Connection conn_;
};

} // namespace walcast::core
