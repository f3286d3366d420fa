#include "core/authorization/policy_row_checker.hpp"

#include "common/logging.hpp"

#include <chrono>
#include <thread>

namespace walcast::core {

PolicyRowChecker::PolicyRowChecker(pg::ConnectParams params, PolicyChecker& checker,
                                   RowCheckMetrics& metrics)
    : params_(std::move(params)), checker_(checker), metrics_(metrics), session_(conn_) {}

bool PolicyRowChecker::connect() {
    // (Re)connect with a short backoff; a database that stays down turns the round into error
    // rows rather than silently withholding it.
    for (int attempt = 0; !conn_.healthy() && attempt < 5; ++attempt) {
        auto c = pg::Connection::connect(params_);
        if (c) {
            conn_ = std::move(c).value();
            session_.reset(); // nothing is prepared on the new connection
            break;
        }
        log::warn("row-level security checks: {}", c.error().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    }
    return conn_.healthy();
}

RowChecker::Round PolicyRowChecker::check(std::span<RowCheckRequest*> requests) {
    for (auto* r : requests)
        r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
    if (!connect())
        return {Status::Unreachable, "row-level security checks cannot reach the database"};
    const auto trips = session_.round_trips, statements = session_.statements;
    checker_.check(session_, requests);
    metrics_.round_trips.inc(session_.round_trips - trips);
    metrics_.checks.inc(session_.statements - statements);
    return {};
}

} // namespace walcast::core
