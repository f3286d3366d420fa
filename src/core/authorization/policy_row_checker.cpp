#include "core/authorization/policy_row_checker.hpp"

#include "common/logging.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace walcast::core {

PolicyRowChecker::PolicyRowChecker(pg::ConnectParams params, PolicyChecker& checker,
                                   RowCheckMetrics& metrics,
                                   std::chrono::milliseconds reconnect_window,
                                   const std::atomic<bool>* stopping)
    : params_(std::move(params)), checker_(checker), metrics_(metrics),
      reconnect_window_(reconnect_window), stopping_(stopping), session_(conn_) {}

void PolicyRowChecker::pause_for(std::chrono::milliseconds d) const {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stopping() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds(20)));
}

bool PolicyRowChecker::connect() {
    // (Re)connect with a short backoff; check() keeps trying for reconnect_window_.
    for (int attempt = 0; !conn_.healthy() && attempt < 5 && !stopping(); ++attempt) {
        auto c = pg::Connection::connect(params_);
        if (c) {
            conn_ = std::move(c).value();
            session_.reset(); // nothing is prepared on the new connection
            break;
        }
        log::warn("row-level security checks: {}", c.error().message);
        pause_for(std::chrono::milliseconds(100 << attempt));
    }
    return conn_.healthy();
}

RowChecker::Round PolicyRowChecker::check(std::span<RowCheckRequest*> requests) {
    // A lost connection is transient, not the rows' fault: reconnect and decide the whole round
    // again (nothing was delivered yet). PolicyChecker fails what is left when it breaks.
    const auto give_up = std::chrono::steady_clock::now() + reconnect_window_;
    auto pause = std::chrono::milliseconds(50);
    for (;;) {
        for (auto* r : requests)
            r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
        if (connect()) {
            const auto trips = session_.round_trips, statements = session_.statements;
            checker_.check(session_, requests);
            metrics_.round_trips.inc(session_.round_trips - trips);
            metrics_.checks.inc(session_.statements - statements);
            if (conn_.healthy()) return {};
        }
        if (stopping() || std::chrono::steady_clock::now() >= give_up)
            return {Status::Unreachable, "row-level security checks cannot reach the database"};
        log::warn("row-level security checks: the connection to the database was lost; "
                  "reconnecting and running the check again");
        conn_ = pg::Connection{};
        session_.reset();
        metrics_.reconnects.inc();
        pause_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
}

} // namespace walcast::core
