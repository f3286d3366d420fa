// Authorizer: row-level security checks, batched per identity. Work for subscribers that share
// an identity (role + claims) is checked once; consecutive changes of one identity are checked
// together; identities run concurrently on a small pool of workers, each identity's work in
// order; a failing identity affects only itself. How a round is decided is the RowChecker's.
#pragma once

#include "common/delivery_round.hpp"
#include "common/metrics.hpp"
#include "core/authorization/row_checker.hpp"
#include "core/identity.hpp"
#include "core/subscription/payload.hpp"
#include "core/subscription/subscription.hpp"

#include <condition_variable>
#include <cstdint>
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
    std::uint64_t ticket = 0; ///< the router's (CommitTracker), handed back when done
};

/// How work is queued and checked.
enum class RlsStrategy {
    Batched,       ///< per identity, consecutive changes checked together, identities concurrent
    PerSubscriber, ///< the reference's cost model: every subscriber of one change checked in
                   ///< one round, one change after the other — the benchmark baseline
};

struct AuthorizerOptions {
    RlsStrategy strategy = RlsStrategy::Batched;
    unsigned workers = 4;                  ///< threads, each with its own RowChecker
    std::size_t max_batch_changes = 256;   ///< distinct changes per identity per round
    std::size_t max_batch_identities = 16; ///< identities checked together in one round
    std::size_t max_pending = 200'000;     ///< work items queued before submit() waits
    /// The checker decides the versions a change carries (PolicyRowChecker), not the live row:
    /// DELETEs under REPLICA IDENTITY FULL are decided on their old row (the router routes
    /// them here), and an UPDATE's old row under FULL decides whether old_record is shown.
    /// Off for the baselines, which read the live row by key.
    bool old_versions = false;
};

/// Thread-safe. Results are delivered from worker threads, in each channel's commit order.
class Authorizer {
public:
    /// make_checker: worker i's RowChecker. finished(ticket): one piece of work of ticket is
    /// done (delivered or skipped); called from a worker thread.
    Authorizer(AuthorizerOptions options, RowCheckerFactory make_checker,
               std::function<void(std::uint64_t ticket)> finished, MetricsRegistry& metrics);
    ~Authorizer();

    void start();
    void stop();

    /// Queues the work of one change (router thread), all of it under one lock so that a
    /// worker never starts on a part of it. Blocks while max_pending items are queued:
    /// back-pressure on the capture source instead of unbounded memory or dropped changes (the
    /// router calls it outside the index lock, so joins and leaves go on meanwhile). Each wait
    /// counts once in walcast_rls_submit_waits_total.
    void submit(std::vector<std::pair<IdentityPtr, AuthWork>>& work);

    /// Items queued or running.
    std::size_t pending() const;

    /// AuthorizerOptions::old_versions: whether DELETEs under REPLICA IDENTITY FULL are decided
    /// here on their old row (else they are delivered unchecked, reduced to the key).
    bool decides_old_versions() const { return options_.old_versions; }

private:
    struct Queue {
        IdentityPtr identity;
        std::deque<AuthWork> items;
        bool running = false;
    };
    struct Batch; ///< one identity's items taken by a worker (authorizer.cpp)
    void worker_loop(unsigned index);
    /// Batched: one round for every batch; a failed round narrowed to identities alone, a
    /// failing identity to its rows one by one, so only failing rows become error rows.
    void check(RowChecker& checker, std::vector<Batch>& batches, DeliveryRound& round);
    /// PerSubscriber: one round for every subscriber of one change; no narrowing.
    void check_per_subscriber(RowChecker& checker, std::vector<AuthWork>& batch,
                              DeliveryRound& round);
    /// Delivers (Visible; without old_record when old_record_hidden), skips (Hidden) or sends
    /// an error row (Failed), and hands the ticket back.
    void finish(AuthWork& work, RowVerdict verdict, DeliveryRound& round,
                bool old_record_hidden = false);

    AuthorizerOptions options_;
    RowCheckerFactory make_checker_;
    std::function<void(std::uint64_t)> finished_;

    mutable std::mutex mu_;
    std::condition_variable work_cv_;                   ///< workers: an identity became ready
    std::condition_variable space_cv_;                  ///< submit: pending dropped below the limit
    std::unordered_map<std::string, Queue> queues_;     ///< by identity key
    std::deque<std::string> ready_;                     ///< identities with items, not running
    std::deque<std::pair<IdentityPtr, AuthWork>> fifo_; ///< PerSubscriber: one global queue
    std::size_t pending_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;

    Counter& rows_checked_; ///< distinct (identity, change) rows checked
    Counter& check_errors_;
    Counter& visible_;
    Counter& hidden_;
    Counter& submit_waits_; ///< submits that found the queue full and waited
    Histogram& batch_changes_;
};

} // namespace walcast::core
