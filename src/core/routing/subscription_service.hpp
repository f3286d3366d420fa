// SubscriptionService: turns a channel's parsed bindings into a live Subscription — validate
// against the catalog and publication as the subscriber's role (spec §5.5), compile filters,
// then add it to the index — on worker threads with a connection each, and reports the
// outcome as a typed SubscribeOutcome the protocol words. The join path's counterpart of the
// Router (both use the index, filters and access).
//
// Fairness (issue 11, defect 3): requests are queued per source (a socket); the workers take
// one request of each source in turn (round robin) and never two of one source at once, so a
// socket's backlog delays only that socket. A request whose channel has ended (left, joined
// again, socket closed: its sink expired) is dropped unanswered, when queued behind it or
// when its turn comes; every statement runs with statement_timeout.
#pragma once

#include "common/metrics.hpp"
#include "core/authorization/table_access.hpp"
#include "core/subscription/subscribe.hpp"
#include "core/subscription/subscription_index.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// Settings of the join path (README: the settings table).
struct SubscriptionOptions {
    /// JWT_ALLOWED_ROLES: roles with SUPERUSER or BYPASSRLS that a token may name. Such a
    /// role sees every row whatever the policies, so a token naming one that is not listed is
    /// refused at join (PrivilegedRole). Roles without either attribute are always allowed
    /// (row-level security applies to them). Supabase's service_role has BYPASSRLS.
    std::vector<std::string> allowed_privileged_roles{"anon", "authenticated", "service_role"};
    /// JOIN_WORKERS: threads validating joins concurrently, each with its own connection.
    unsigned workers = 4;
    /// JOIN_STATEMENT_TIMEOUT_MS: statement_timeout of the validation connections (a filter
    /// value Postgres takes longer to cast fails the join with 57014 and a hint naming it).
    std::uint32_t statement_timeout_ms = 2000;
    /// MAX_BINDINGS_PER_CHANNEL: postgres_changes bindings one channel may have.
    std::size_t max_bindings_per_channel = 100;
    /// MAX_BINDINGS_PER_CLIENT: bindings one source (socket) may have over all its channels
    /// (live or being validated); given back when a channel ends or its join fails.
    std::size_t max_bindings_per_client = 100;
};

/// Parses a JWT_ALLOWED_ROLES value: role names separated by commas, blanks around a name
/// ignored, empty names dropped ("" = no privileged role allowed).
std::vector<std::string> parse_role_list(std::string_view list);

/// Thread-safe facade; the work runs on `workers` threads, in request order per source.
class SubscriptionService {
public:
    SubscriptionService(pg::ConnectParams params, std::string publication, SubscriptionIndex& index,
                        AccessCache& access, MetricsRegistry& metrics,
                        SubscriptionOptions options = {});
    ~SubscriptionService();

    void start();
    void stop();

    /// Validates and registers; calls done(outcome) from a worker thread after the requests
    /// of request.source queued before it — or never, when request.sink expired before the
    /// request's turn (the channel ended; counted in walcast_subscriptions_dropped_total;
    /// done is destroyed unrun, on some thread). Typically a few ms
    /// (catalog answers are cached; only filter values need a round trip). Errors, in this
    /// order: TooManyBindings (checked at once, answered in turn like the others),
    /// Unreachable, UnknownRole, PrivilegedRole, CannotAssumeRole, per binding NoTable,
    /// InvalidFilter, InvalidSelect (and QueryFailed when a catalog question fails). A
    /// validation whose connection was lost (Postgres restarted since the worker's last
    /// statement) runs once more on a new connection; an error with the connection lost is
    /// Unreachable, never QueryFailed (a join retries an Unreachable one).
    void subscribe(SubscribeRequest request, std::function<void(SubscribeOutcome)> done);

    /// A request the protocol refused itself (its bindings did not parse): counted as refused,
    /// and done runs on a worker after every request of `source` queued before it, so the
    /// protocol's replies keep the order of the joins; dropped as subscribe() when `sink`
    /// (the channel's) expired first.
    void refused(std::uintptr_t source, std::weak_ptr<ChannelSink> sink,
                 std::function<void()> done);

    /// Whether a token naming `role` may subscribe (a token refreshed on a joined channel
    /// names a new role): calls done(nullopt) when it may, else done(the error subscribe()
    /// would report: UnknownRole, PrivilegedRole, CannotAssumeRole, Unreachable or
    /// QueryFailed), from a worker thread, after the requests of `source` queued before it;
    /// dropped as subscribe() when `sink` expired first.
    void check_role(std::uintptr_t source, std::weak_ptr<ChannelSink> sink, std::string role,
                    std::function<void(std::optional<SubscribeError>)> done);

    /// Requests waiting for their turn (all sources). Any thread.
    std::size_t queued() const;

    /// Removes a live subscription from routing. Any thread; returns at once.
    void unsubscribe(const SubscriptionPtr& subscription);

private:
    struct Job {
        std::weak_ptr<ChannelSink> sink; ///< the channel's; expired = drop the job
        bool owned = false;              ///< sink was given (a request without one never expires)
        SubscribeRequest request;
        std::function<void(SubscribeOutcome)> done;
        std::function<void()> in_order;                                ///< refused(): no request
        std::function<void(std::optional<SubscribeError>)> role_check; ///< check_role()
        std::string role;                                              ///< check_role()
        std::optional<SubscribeError> refusal; ///< subscribe() past a binding limit
        std::shared_ptr<const void> bindings;  ///< subscribe(): the bindings counted
        bool ended() const { return owned && sink.expired(); }
    };
    /// Bindings counted per source; shared with the leases so that one outliving the
    /// service (held by a Subscription) stays valid.
    struct BindingCounts {
        std::mutex mu;
        std::unordered_map<std::uintptr_t, std::size_t> in_use;
    };
    /// Counts `n` bindings of `source` (true), or fills `refusal` when a limit would pass.
    std::shared_ptr<const void> count_bindings(std::uintptr_t source, std::size_t n,
                                               std::optional<SubscribeError>& refusal);
    /// One source's requests; `ready` = listed in ready_ (not busy, jobs waiting).
    struct Source {
        std::deque<Job> jobs;
        bool busy = false;
        bool ready = false;
    };
    struct State; ///< one worker's: connection, catalog caches, normalizer

    void enqueue(std::uintptr_t source, Job job);
    /// Removes the ended jobs of `q`. mu_ held.
    void drop_ended(Source& q);
    void worker_loop(State& st);
    void run(State& st, Job& job);
    /// Re-reads grants and RLS switches when due (one worker at a time); on a change every
    /// worker's caches are dropped before its next request.
    void refresh_access(State& st);
    SubscribeOutcome handle(State& st, SubscribeRequest& request);
    /// Step 1 of handle(): the role exists, is not privileged unless allowed, may be assumed.
    std::optional<SubscribeError> check_role_now(State& st, const std::string& role);

    pg::ConnectParams params_;
    std::string publication_;
    SubscriptionIndex& index_;
    AccessCache& access_;
    SubscriptionOptions options_;
    std::shared_ptr<BindingCounts> binding_counts_ = std::make_shared<BindingCounts>();

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::unordered_map<std::uintptr_t, Source> sources_;
    std::deque<std::uintptr_t> ready_; ///< sources with a job to run and none running, in turn
    std::size_t queued_ = 0;           ///< jobs in sources_
    bool stopping_ = false;
    bool refreshing_ = false;
    std::chrono::steady_clock::time_point access_checked_{};
    std::atomic<std::uint64_t> access_generation_{0}; ///< bumped when access rules changed
    std::vector<std::thread> workers_;
    std::vector<std::unique_ptr<State>> states_;

    Counter& subscribed_;
    Counter& refused_;
    Counter& dropped_;
};

} // namespace walcast::core
