// Router: the ChangeSink at the heart of walcast. For each change it looks up the candidate
// bindings of its table, evaluates event and filters, checks the subscriber identity's table
// access, and either delivers at once (no row-level security needed) or hands the delivery to
// the Authorizer — with one rendering of each payload variant shared by all channels.
#pragma once

#include "capture/change_sink.hpp"
#include "common/delivery_round.hpp"
#include "common/metrics.hpp"
#include "core/authorizer.hpp"
#include "core/commit_tracker.hpp"
#include "core/subscription_index.hpp"
#include "core/table_access.hpp"
#include "pg/connection.hpp"

#include <functional>
#include <memory>

namespace walcast::core {

struct RouterOptions {
    std::size_t max_record_bytes = 1'048'576; ///< 413 threshold (spec §6.5)
};

/// Runs on the capture source's thread (ChangeSink contract). Thread-compatible: one router per
/// source. The catalog connection is the router's own.
class Router : public capture::ChangeSink {
public:
    /// confirm(p): hand the source a position every change up to which has been handed on.
    Router(pg::ConnectParams catalog_params, RouterOptions options, SubscriptionIndex& index,
           AccessCache& access, Authorizer& authorizer, CommitTracker& tracker,
           std::function<void(capture::Position)> confirm, MetricsRegistry& metrics);
    ~Router() override;

    /// Compiles a binding's filter for a relation it did not know at join time (router thread,
    /// under the index lock, with the router's catalog connection). Null result = the filter
    /// cannot apply to that table (never matches). Set once before the source starts.
    using LateCompiler = std::function<std::shared_ptr<const CompiledFilter>(
        const Binding&, const capture::Relation&, const std::string& role,
        const pg::Connection& conn)>;
    void set_late_compiler(LateCompiler compile) { compile_ = std::move(compile); }

    void on_begin(const capture::TransactionInfo& txn) override;
    void on_change(const capture::ChangePtr& change) override;
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override;
    void on_stream_state(bool up, const std::string& reason) override;
    void on_idle() override;

private:
    void route(const capture::ChangePtr& change);
    const pg::Connection* catalog();
    TableAccessPtr access_for(const std::string& role, const capture::Relation& rel);

    pg::ConnectParams catalog_params_;
    pg::Connection catalog_;
    RouterOptions options_;
    SubscriptionIndex& index_;
    AccessCache& access_;
    Authorizer& authorizer_;
    CommitTracker& tracker_;
    std::function<void(capture::Position)> confirm_;
    LateCompiler compile_;
    /// The router thread's delivery round: closed when the source is idle, after
    /// max_changes_per_round changes, and when the stream goes down.
    DeliveryRound round_;
    std::size_t changes_this_round_ = 0;
    CommitTracker::Ticket ticket_ = 0;
    std::vector<std::pair<IdentityPtr, AuthWork>> auth_work_; ///< the current change's checks
    bool in_txn_ = false;

    Counter& changes_received_;
    Counter& changes_matched_;
    Counter& deliveries_;
};

} // namespace walcast::core
