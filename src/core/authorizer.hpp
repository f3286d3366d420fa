// Authorizer: row-level security checks, batched per identity. Work for subscribers that share
// an identity (role + claims) is checked once; consecutive changes of one table for one
// identity are checked in one statement; identities run concurrently on a small connection
// pool; each identity's work runs in order, and a failing identity affects only itself.
#pragma once

#include "common/metrics.hpp"
#include "core/change_payload.hpp"
#include "core/commit_tracker.hpp"
#include "core/identity.hpp"
#include "core/subscription.hpp"
#include "core/table_access.hpp"
#include "pg/connection.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// One delivery waiting for a row check: if the identity can see the row, the payload
/// variant goes to the subscription's slot, else the slot is skipped.
struct AuthWork {
    ChangePayloadsPtr payloads;
    PayloadVariant variant;
    SubscriptionPtr subscription;
    std::uint64_t slot = 0;
    BindingIds ids;
    CommitTracker::Ticket ticket = 0;
};

/// How row checks are run.
enum class RlsStrategy {
    Batched,       ///< per identity, consecutive changes of a table in one statement, concurrent
    PerSubscriber, ///< the reference's cost model: one EXISTS per subscriber per change, in
                   ///< sequence (one round trip per change), one connection — benchmark baseline
};

struct AuthorizerOptions {
    RlsStrategy strategy = RlsStrategy::Batched;
    unsigned pool_size = 4;                ///< connections, one worker thread each
    std::uint32_t timeout_ms = 5000;       ///< statement_timeout of one check
    std::size_t max_batch_changes = 256;   ///< distinct changes per identity per round trip
    std::size_t max_batch_identities = 16; ///< identities checked together in one round trip
    std::size_t max_pending = 200'000;     ///< work items queued before submit() waits
};

/// Thread-safe. Workers own their connections; results are delivered from worker threads.
class Authorizer {
public:
    /// confirm: called with a position the source may be confirmed to when finished work advances
    /// the tracker (from a worker thread).
    Authorizer(pg::ConnectParams params, AuthorizerOptions options, AccessCache& access,
               CommitTracker& tracker, std::function<void(capture::Position)> confirm,
               MetricsRegistry& metrics);
    ~Authorizer();

    void start();
    void stop();

    /// Queues the work of one change (router thread), all of it under one lock so that a
    /// worker never starts on a part of it. Each ticket must already count its work
    /// (CommitTracker::add_pending). Blocks while max_pending items are queued: backpressure
    /// on the replication stream instead of unbounded memory or dropped changes.
    void submit(std::vector<std::pair<IdentityPtr, AuthWork>>& work);

    /// Items queued or running.
    std::size_t pending() const;

private:
    struct Queue {
        IdentityPtr identity;
        std::deque<AuthWork> items;
        bool running = false;
    };
    struct Batch;        ///< one identity's items taken by a worker (authorizer.cpp)
    struct RoundOutcome; ///< what one check transaction found (authorizer.cpp)
    void worker_loop(unsigned index);
    void check(pg::Connection& conn, std::vector<Batch>& batches, DeliveryRound& round);
    /// One transaction and round trip checking `set` (the visibility wait, then per identity
    /// role, claims and one SELECT per table); repeated while the changes are not visible yet.
    RoundOutcome run_round(pg::Connection& conn, const std::vector<Batch*>& set);
    /// After `b` failed as a whole: each of its rows alone, so only failing rows fail.
    void check_rows_singly(pg::Connection& conn, Batch& b);
    void check_per_subscriber(pg::Connection& conn, std::vector<AuthWork>& batch,
                              DeliveryRound& round);
    void finish(AuthWork& work, std::shared_ptr<const std::string> data, DeliveryRound& round);

    pg::ConnectParams params_;
    AuthorizerOptions options_;
    AccessCache& access_;
    CommitTracker& tracker_;
    std::function<void(capture::Position)> confirm_;

    mutable std::mutex mu_;
    std::condition_variable work_cv_;                   ///< workers: an identity became ready
    std::condition_variable space_cv_;                  ///< submit: pending dropped below the limit
    std::unordered_map<std::string, Queue> queues_;     ///< by identity key
    std::deque<std::string> ready_;                     ///< identities with items, not running
    std::deque<std::pair<IdentityPtr, AuthWork>> fifo_; ///< PerSubscriber: one global queue
    std::size_t pending_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;

    Counter& checks_;       ///< check statements run
    Counter& round_trips_;  ///< check transactions (each one round trip)
    Counter& rows_checked_; ///< distinct (identity, change) rows checked
    Counter& check_errors_;
    Counter& visible_;
    Counter& hidden_;
    Histogram& batch_changes_;
};

} // namespace walcast::core
