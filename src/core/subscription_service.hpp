// SubscriptionService: turns a channel's raw `postgres_changes` bindings into a live
// Subscription — parse (spec §5.1–§5.4), validate against the catalog and publication as the
// subscriber's role (§5.5), compile filters, then add it to the index — on a worker thread with
// its own connection, and reports the outcome with the exact messages of spec §3.5.
#pragma once

#include "common/metrics.hpp"
#include "core/subscription_index.hpp"
#include "core/table_access.hpp"
#include "pg/connection.hpp"

#include <boost/json/object.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace walcast::core {

/// A channel's request to receive Postgres Changes.
struct SubscribeRequest {
    std::string topic;                         ///< "realtime:<name>"
    std::vector<boost::json::object> bindings; ///< as the client sent them, in order
    IdentityPtr identity;                      ///< the channel token's role and claims
    std::weak_ptr<ChannelSink> sink;           ///< where matching changes go
};

/// What became of a SubscribeRequest.
struct SubscribeOutcome {
    /// One id per requested binding, in order: a stable, non-zero 27-bit hash of the binding
    /// object (equal objects, equal ids; spec §3.2). Always filled.
    std::vector<std::int64_t> ids;
    /// The live subscription; null on error. Every change committed after subscribe()
    /// reported it is matched against it.
    SubscriptionPtr subscription;
    /// On failure: the `system` message text of spec §3.5 (all bindings of a channel succeed
    /// or fail together, as the reference inserts them in one transaction).
    std::optional<std::string> error;
    /// On failure: the reason code used when the client asked to wait
    /// (postgres_changes_options.wait): "RealtimeDisabledForConfiguration" when no table of
    /// the publication matches, else "InvalidPostgresChangesParams".
    std::string error_code;
};

/// The stable id of one binding object (spec §3.2): a 27-bit hash of its canonical JSON,
/// never 0.
std::int64_t binding_id(const boost::json::object& binding);

/// Thread-safe facade; the work runs on one worker thread in request order.
class SubscriptionService {
public:
    SubscriptionService(pg::ConnectParams params, std::string publication, SubscriptionIndex& index,
                        AccessCache& access, MetricsRegistry& metrics);
    ~SubscriptionService();

    void start();
    void stop();

    /// Validates and registers; calls done(outcome) from the worker thread. Typically a few ms
    /// (catalog answers are cached; only filter values need a round trip).
    void subscribe(SubscribeRequest request, std::function<void(SubscribeOutcome)> done);

    /// Removes a live subscription from routing. Any thread; returns at once.
    void unsubscribe(const SubscriptionPtr& subscription);

    /// For the router: compile binding's filter for a relation that appeared after the join
    /// (router thread, the router's connection). Null when the filter cannot apply to it.
    std::shared_ptr<const CompiledFilter> compile_late(const Binding& binding,
                                                       const capture::Relation& relation,
                                                       const std::string& role,
                                                       const pg::Connection& conn);

private:
    struct Job {
        SubscribeRequest request;
        std::function<void(SubscribeOutcome)> done;
    };
    void worker_loop();
    SubscribeOutcome handle(SubscribeRequest& request);

    pg::ConnectParams params_;
    std::string publication_;
    SubscriptionIndex& index_;
    AccessCache& access_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::thread worker_;

    struct State; ///< worker-thread-only: connection, catalog caches, normalizer
    std::unique_ptr<State> state_;

    Counter& subscribed_;
    Counter& refused_;
};

} // namespace walcast::core
