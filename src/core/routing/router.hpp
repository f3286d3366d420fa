// Router: the change stream's consumer for subscriptions. For each change it matches the
// candidate bindings of its table under the index lock (event and compiled filters only: no
// I/O, nothing that blocks), then — outside the lock — compiles filters for tables it had not
// seen, plans what each identity may see (table access), and dispatches: delivers at once where
// no row-level security check is needed, or hands the delivery to the Authorizer, with one
// rendering of each payload variant per format shared by all channels.
#pragma once

#include "capture/change_sink.hpp"
#include "common/delivery_round.hpp"
#include "common/metrics.hpp"
#include "core/authorization/authorizer.hpp"
#include "core/authorization/table_access.hpp"
#include "core/routing/commit_tracker.hpp"
#include "core/routing/filter_compiler.hpp"
#include "core/subscription/subscription_index.hpp"

#include <boost/container/small_vector.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace walcast::core {

struct RouterOptions {
    std::size_t max_record_bytes = 1'048'576; ///< the record limit (MAX_RECORD_BYTES)
    /// MATCH_BUDGET_BYTES_PER_CHANGE: column text one source's (socket's) like/ilike/match/
    /// imatch conditions may scan for one change; the channel whose filters cross it is no
    /// longer routed to and is ended (ChannelSink::end). 0 = no limit.
    std::uint64_t match_budget_bytes_per_change = 8 * 1024 * 1024;
};

/// Runs on the capture source's thread (ChangeSink contract). One router per source.
///
/// Lock order: the index lock (shared, held only by match()) is never held while the router
/// calls the filter compiler, the access source, a subscription's complete(), a sink, or the
/// Authorizer (whose submit() may block under back-pressure) — so a join, a leave or a socket
/// close on an I/O thread, which take the index lock exclusively, never waits on the database
/// or on the authorizer's queue.
class Router : public capture::ChangeSink {
public:
    /// access_source: the router's own catalog questions (table access); compiler: late filter
    /// compilation; confirm(p): hand the source a position every change up to which has been
    /// handed on. All must outlive the router.
    Router(RouterOptions options, SubscriptionIndex& index, AccessCache& access,
           AccessSource& access_source, FilterCompiler& compiler, Authorizer& authorizer,
           CommitTracker& tracker, std::function<void(capture::Position)> confirm,
           MetricsRegistry& metrics);
    ~Router() override;

    void on_begin(const capture::TransactionInfo& txn) override;
    void on_change(const capture::ChangePtr& change) override;
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override;
    void on_stream_state(bool up, const std::string& reason) override;
    void on_idle() override;
    /// Tells every live channel (ChannelSink::notify_gap, in its delivery order, outside the
    /// index lock), logs, counts (walcast_stream_gaps_total) and remembers the gap for
    /// last_gap().
    void on_gap(const capture::Gap& gap) override;

    /// The last gap reported (open or closed), if any. Any thread.
    std::optional<capture::Gap> last_gap() const;

private:
    /// The binding ids of one select group (spec §4.1: one message per group) and the binding
    /// whose select list applies.
    struct Group {
        std::uint16_t select_group = 0;
        const Binding* binding = nullptr;
        BindingIds ids;
    };
    /// One subscription the change matched.
    struct Match {
        SubscriptionPtr subscription;
        IdentityPtr identity;
        boost::container::small_vector<Group, 2> groups;
    };
    /// A binding with no filter compiled for the change's relation yet.
    struct Uncompiled {
        SubscriptionPtr subscription;
        std::uint16_t binding;
    };

    void route(const capture::ChangePtr& change);
    /// Under the index lock: fills matches_, or uncompiled_ with what must be compiled first.
    /// Returns false when the table has no candidates at all.
    bool match(const capture::Change& change);
    /// Outside the lock: removes the subscriptions match() ended (over the matching budget)
    /// from the index and ends their channels.
    void end_over_budget();
    /// Outside the lock: access, payload variants, slots, direct deliveries, RLS work.
    void dispatch(const capture::ChangePtr& change);
    TableAccessPtr access_for(const std::string& role, const capture::Relation& rel);

    RouterOptions options_;
    SubscriptionIndex& index_;
    AccessCache& access_;
    AccessSource& access_source_;
    FilterCompiler& compiler_;
    Authorizer& authorizer_;
    CommitTracker& tracker_;
    std::function<void(capture::Position)> confirm_;
    /// The router thread's delivery round: closed when the source is idle, after
    /// max_changes_per_round changes, and when the stream goes down.
    DeliveryRound round_;
    std::size_t changes_this_round_ = 0;
    CommitTracker::Ticket ticket_ = 0;
    std::vector<Match> matches_;                              ///< the current change's (reused)
    std::vector<Uncompiled> uncompiled_;                      ///< the current change's (reused)
    std::vector<std::pair<IdentityPtr, AuthWork>> auth_work_; ///< the current change's checks
    /// The current change's text scanned per source (match()), and the subscriptions that
    /// crossed the budget.
    std::unordered_map<std::uintptr_t, std::uint64_t> scanned_;
    std::vector<SubscriptionPtr> over_budget_;
    bool in_txn_ = false;

    Counter& changes_received_;
    Counter& changes_matched_;
    Counter& deliveries_;
    Counter& gaps_;
    Counter& budget_exceeded_;
    mutable std::mutex gap_mu_;
    std::optional<capture::Gap> last_gap_;
};

} // namespace walcast::core
