// SubscriptionService: turns a channel's parsed bindings into a live Subscription — validate
// against the catalog and publication as the subscriber's role (spec §5.5), compile filters,
// then add it to the index — on a worker thread with its own connection, and reports the
// outcome as a typed SubscribeOutcome the protocol words. The join path's counterpart of the
// Router (both use the index, filters and access).
#pragma once

#include "common/metrics.hpp"
#include "core/authorization/table_access.hpp"
#include "core/subscription/subscribe.hpp"
#include "core/subscription/subscription_index.hpp"
#include "pg/connection.hpp"

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
#include <vector>

namespace walcast::core {

/// Settings of the join path (README: the settings table).
struct SubscriptionOptions {
    /// JWT_ALLOWED_ROLES: roles with SUPERUSER or BYPASSRLS that a token may name. Such a
    /// role sees every row whatever the policies, so a token naming one that is not listed is
    /// refused at join (PrivilegedRole). Roles without either attribute are always allowed
    /// (row-level security applies to them). Supabase's service_role has BYPASSRLS.
    std::vector<std::string> allowed_privileged_roles{"anon", "authenticated", "service_role"};
};

/// Parses a JWT_ALLOWED_ROLES value: role names separated by commas, blanks around a name
/// ignored, empty names dropped ("" = no privileged role allowed).
std::vector<std::string> parse_role_list(std::string_view list);

/// Thread-safe facade; the work runs on one worker thread in request order.
class SubscriptionService {
public:
    SubscriptionService(pg::ConnectParams params, std::string publication, SubscriptionIndex& index,
                        AccessCache& access, MetricsRegistry& metrics,
                        SubscriptionOptions options = {});
    ~SubscriptionService();

    void start();
    void stop();

    /// Validates and registers; calls done(outcome) from the worker thread. Typically a few ms
    /// (catalog answers are cached; only filter values need a round trip). Errors, in this
    /// order: Unreachable, UnknownRole, PrivilegedRole, CannotAssumeRole, per binding NoTable,
    /// InvalidFilter, InvalidSelect (and QueryFailed when a catalog question fails).
    void subscribe(SubscribeRequest request, std::function<void(SubscribeOutcome)> done);

    /// A request the protocol refused itself (its bindings did not parse): counted as refused,
    /// and done runs on the worker after every request queued before it, so the protocol's
    /// replies keep the order of the joins.
    void refused(std::function<void()> done);

    /// Whether a token naming `role` may subscribe (a token refreshed on a joined channel
    /// names a new role): calls done(nullopt) when it may, else done(the error subscribe()
    /// would report: UnknownRole, PrivilegedRole, CannotAssumeRole, Unreachable or
    /// QueryFailed), from the worker thread, after the requests queued before it.
    void check_role(std::string role, std::function<void(std::optional<SubscribeError>)> done);

    /// Removes a live subscription from routing. Any thread; returns at once.
    void unsubscribe(const SubscriptionPtr& subscription);

private:
    struct Job {
        SubscribeRequest request;
        std::function<void(SubscribeOutcome)> done;
        std::function<void()> in_order;                                ///< refused(): no request
        std::function<void(std::optional<SubscribeError>)> role_check; ///< check_role()
        std::string role;                                              ///< check_role()
    };
    void worker_loop();
    SubscribeOutcome handle(SubscribeRequest& request);
    /// Step 1 of handle(): the role exists, is not privileged unless allowed, may be assumed.
    std::optional<SubscribeError> check_role_now(const std::string& role);

    pg::ConnectParams params_;
    std::string publication_;
    SubscriptionIndex& index_;
    AccessCache& access_;
    SubscriptionOptions options_;

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
