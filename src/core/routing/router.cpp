#include "core/routing/router.hpp"

#include "common/logging.hpp"

#include <algorithm>

namespace walcast::core {

namespace {
/// A round (output batched before it is flushed to the sockets) ends after this many changes
/// even if the capture source keeps delivering.
constexpr std::size_t max_changes_per_round = 64;
/// Late compilation runs outside the lock and then matches again; subscriptions that join
/// meanwhile may need compiling too. Each pass compiles at least one binding, so this bound
/// is only a guard.
constexpr int max_match_passes = 16;
} // namespace

Router::Router(RouterOptions options, SubscriptionIndex& index, AccessCache& access,
               AccessSource& access_source, FilterCompiler& compiler, Authorizer& authorizer,
               CommitTracker& tracker, std::function<void(capture::Position)> confirm,
               MetricsRegistry& metrics)
    : options_(options), index_(index), access_(access), access_source_(access_source),
      compiler_(compiler), authorizer_(authorizer), tracker_(tracker), confirm_(std::move(confirm)),
      changes_received_(metrics.counter("walcast_changes_received_total",
                                        "row changes read from the replication stream")),
      changes_matched_(metrics.counter("walcast_changes_matched_total",
                                       "row changes that matched at least one binding")),
      deliveries_(metrics.counter("walcast_deliveries_routed_total",
                                  "channel messages routed (directly or via an RLS check)")),
      gaps_(metrics.counter("walcast_stream_gaps_total",
                            "gaps reported to subscribers: changes may be missing between two "
                            "times (temporary slot reconnect, slot invalidated or recreated)")),
      budget_exceeded_(metrics.counter("walcast_match_budget_exceeded_total",
                                       "channels ended because their filters scanned more column "
                                       "text for one change than MATCH_BUDGET_BYTES_PER_CHANGE")) {}

Router::~Router() = default;

TableAccessPtr Router::access_for(const std::string& role, const capture::Relation& rel) {
    auto a = access_.access(access_source_, role, rel.oid);
    if (!a) {
        log::error("reading access of role {} to {}.{}: {}", role, rel.schema, rel.table,
                   a.error().message);
        return nullptr;
    }
    return *a;
}

void Router::on_begin(const capture::TransactionInfo&) {
    ticket_ = tracker_.open();
    in_txn_ = true;
}

void Router::on_change(const capture::ChangePtr& change) {
    if (!in_txn_) on_begin(change->txn);
    route(change);
    // Under a continuous stream the source is never idle; bound how long output waits.
    if (++changes_this_round_ >= max_changes_per_round) on_idle();
}

void Router::on_commit(const capture::TransactionInfo&, capture::Position end) {
    if (!in_txn_) ticket_ = tracker_.open();
    in_txn_ = false;
    if (auto p = tracker_.close(ticket_, end); p.valid()) confirm_(p);
}

void Router::on_idle() {
    changes_this_round_ = 0;
    round_.close();
}

void Router::on_stream_state(bool up, const std::string& reason) {
    // What this round delivered goes out now, not after the reconnect. A stream going down is
    // logged once, by the source (with its retry delay).
    if (!up) on_idle();
    if (up) log::info("replication stream up");
    (void)reason;
}

void Router::route(const capture::ChangePtr& change) {
    changes_received_.inc();
    if (change->kind == capture::ChangeKind::Truncate) return; // never sent (spec §4.5)
    const auto& rel = *change->relation;
    for (int pass = 0;; ++pass) {
        if (!match(*change)) return;
        if (uncompiled_.empty() || pass == max_match_passes) break;
        // Late compilation (it asks the database), outside the index lock. Binding::compiled
        // is the router thread's; the subscriptions are kept alive by uncompiled_.
        for (auto& u : uncompiled_) {
            Binding& b = u.subscription->bindings()[u.binding];
            if (b.compiled.count(rel.oid)) continue;
            auto f = compiler_.compile(b, rel, u.subscription->identity()->role);
            b.compiled.emplace(rel.oid, std::move(f));
        }
        uncompiled_.clear();
    }
    uncompiled_.clear();
    end_over_budget();
    if (matches_.empty()) return;
    dispatch(change);
}

void Router::end_over_budget() {
    if (over_budget_.empty()) return;
    const std::string reason =
        "this channel's filters scanned more than " +
        std::to_string(options_.match_budget_bytes_per_change) +
        " bytes of column text for one change with like/ilike/match/imatch (the socket's "
        "budget, MATCH_BUDGET_BYTES_PER_CHANGE), so it no longer receives changes; use fewer or "
        "narrower pattern filters (eq/in on another column first), or raise "
        "MATCH_BUDGET_BYTES_PER_CHANGE";
    for (auto& s : over_budget_) {
        budget_exceeded_.inc();
        log::warn("channel {} ended: its filters passed MATCH_BUDGET_BYTES_PER_CHANGE ({} bytes)",
                  s->topic(), options_.match_budget_bytes_per_change);
        index_.remove(s);
        if (auto sink = s->sink()) sink->end(reason);
    }
    over_budget_.clear();
}

bool Router::match(const capture::Change& change) {
    matches_.clear();
    uncompiled_.clear();
    scanned_.clear();
    const std::uint64_t budget = options_.match_budget_bytes_per_change;
    const auto& rel = *change.relation;
    const bool is_delete = change.kind == capture::ChangeKind::Delete;
    const bool no_pk = !rel.has_primary_key();
    // Filters test the new row, or for DELETE the old/identity row (spec §5.3).
    const pg::Tuple* tuple = is_delete ? (change.old_tuple ? &*change.old_tuple : nullptr)
                                       : (change.new_tuple ? &*change.new_tuple : nullptr);
    // A DELETE's old tuple under replica identity DEFAULT/INDEX holds only the key columns.
    const TupleScope scope =
        is_delete && !change.old_is_full ? TupleScope::KeyOnly : TupleScope::Full;

    auto lock = index_.lock();
    const auto& cands = index_.candidates(rel.schema, rel.table);
    if (cands.empty()) return false;
    for (std::size_t i = 0; i < cands.size();) {
        Subscription* sub = cands[i].subscription;
        std::size_t end = i;
        while (end < cands.size() && cands[end].subscription == sub)
            ++end;
        if (sub->ended()) { // over the budget in an earlier pass; removed after this change
            i = end;
            continue;
        }
        // Built in place (one Match per matched subscription; most changes match many).
        Match& m = matches_.emplace_back();
        bool uncompiled = false;
        bool over = false;
        // Text this channel's pattern conditions scanned; counted against its socket's
        // budget once the channel is done, or, crossing it, ends the channel (and is not
        // counted: the socket's other channels go on).
        std::uint64_t scanned = 0;
        std::uint64_t* socket_scanned = nullptr;
        for (std::size_t k = i; k < end && !over; ++k) {
            Binding& b = sub->bindings()[cands[k].binding];
            if (!b.wants(change.kind)) continue;
            bool matched = true;
            // A table without a primary key gets error rows without filter checks (§6.2).
            if (!b.spec.filters.empty() && !(no_pk && !is_delete)) {
                auto it = b.compiled.find(rel.oid);
                if (it == b.compiled.end()) {
                    uncompiled_.push_back({sub->shared_from_this(), cands[k].binding});
                    uncompiled = true;
                    continue;
                }
                const std::uint64_t before = scanned;
                matched = it->second && tuple &&
                          it->second->matches(rel, *tuple, scope, budget ? &scanned : nullptr);
                if (scanned != before) {
                    if (!socket_scanned) socket_scanned = &scanned_[sub->source()];
                    if (*socket_scanned + scanned > budget) {
                        over = true;
                        break;
                    }
                }
            }
            if (!matched) continue;
            auto g = std::find_if(m.groups.begin(), m.groups.end(),
                                  [&](const Group& x) { return x.select_group == b.select_group; });
            if (g == m.groups.end()) {
                m.groups.push_back(Group{b.select_group, &b, {}});
                g = m.groups.end() - 1;
            }
            g->ids.push_back(b.id);
        }
        i = end;
        if (over) {
            sub->mark_ended();
            over_budget_.push_back(sub->shared_from_this());
            matches_.pop_back();
            continue;
        }
        if (socket_scanned) *socket_scanned += scanned;
        if (m.groups.empty() || uncompiled) {
            matches_.pop_back();
            continue;
        }
        m.subscription = sub->shared_from_this();
        m.identity = sub->identity();
    }
    return true;
}

void Router::on_gap(const capture::Gap& gap) {
    gaps_.inc();
    {
        std::lock_guard lock(gap_mu_);
        last_gap_ = gap;
    }
    log::warn("telling every channel of {} gap in the change stream (Unix ms {} to {}): {}",
              gap.open() ? "an open" : "a closed", gap.from_unix_ms,
              gap.open() ? std::string("now") : std::to_string(gap.to_unix_ms), gap.reason);
    auto shared = std::make_shared<const capture::Gap>(gap);
    std::vector<SubscriptionPtr> live;
    {
        auto lock = index_.lock();
        live = index_.live_locked();
    }
    // Outside the index lock (the lock order above): each notice takes the next slot in its
    // channel's order, so it follows every change reserved before it.
    for (const auto& s : live)
        s->notify_gap(shared, round_);
    on_idle();
}

std::optional<capture::Gap> Router::last_gap() const {
    std::lock_guard lock(gap_mu_);
    return last_gap_;
}

namespace {

// What one identity may see of the relation this change belongs to, computed once per change.
struct RoleView {
    const Identity* identity = nullptr;
    TableAccessPtr access;
    bool any_readable = false;
    /// What the role sees without a select list; shared by all its channels' messages.
    PayloadVariant base;
    const PayloadFormat* base_format = nullptr;   ///< the format base_data is rendered in
    std::shared_ptr<const std::string> base_data; ///< rendered on first direct delivery
};

} // namespace

void Router::dispatch(const capture::ChangePtr& change) {
    const auto& rel = *change->relation;
    const bool is_delete = change->kind == capture::ChangeKind::Delete;
    const bool no_pk = !rel.has_primary_key();
    // A DELETE whose old row is known and decided on it (issue 10).
    const bool full_delete =
        is_delete && change->old_is_full && change->old_tuple && authorizer_.decides_old_versions();
    ChangePayloadsPtr payloads;
    boost::container::small_vector<RoleView, 4> views;
    bool matched_any = false;

    for (auto& m : matches_) {
        Subscription& sub = *m.subscription;
        const IdentityPtr& identity = m.identity;
        auto view = std::find_if(views.begin(), views.end(), [&](const RoleView& v) {
            return v.identity->role == identity->role;
        });
        if (view == views.end()) {
            RoleView v;
            v.identity = identity.get();
            v.access = access_for(identity->role, rel);
            if (!v.access) {
                v.base.error = ErrorRow::CheckFailed; // could not read the catalog: say so
                v.any_readable = true;
            } else {
                v.base.columns = readable_mask(*v.access, rel);
                bool pk_readable = true;
                for (std::size_t c = 0; c < rel.columns.size(); ++c) {
                    v.any_readable = v.any_readable || v.base.columns[c];
                    if (rel.columns[c].is_primary_key && !v.base.columns[c]) pk_readable = false;
                }
                if (!is_delete && no_pk) {
                    v.base.error = ErrorRow::NoPrimaryKey;
                } else if (!is_delete && !pk_readable) {
                    v.base.error = ErrorRow::Unauthorized;
                }
                if (v.base.error != ErrorRow::None) v.base.columns.clear();
                // With RLS enabled on the table a DELETE carries only the key, for every role
                // (spec §6.4: the reference decides by the table, not the reader) — unless the
                // deleted row is known (REPLICA IDENTITY FULL) and decided like any version:
                // then the columns the role may read, to those who could see it.
                v.base.old_record_pk_only = is_delete && v.access->table_rls && !full_delete;
            }
            views.push_back(std::move(v));
            view = views.end() - 1;
        }
        // Only tables the role may SELECT (at least one column) deliver anything.
        if (!view->any_readable) continue;

        if (!payloads)
            payloads = std::make_shared<ChangePayloads>(change, options_.max_record_bytes);
        matched_any = true;
        const bool needs_check = view->base.error == ErrorRow::None && view->access &&
                                 view->access->rls && (!is_delete || full_delete);
        const PayloadFormat& format = sub.format();
        for (auto& group : m.groups) {
            // select: listed columns plus every primary-key column (spec §5.6).
            const Binding* b = group.binding;
            std::optional<PayloadVariant> selected;
            if (b && b->spec.select && view->base.error == ErrorRow::None) {
                selected = view->base;
                for (std::size_t c = 0; c < rel.columns.size(); ++c) {
                    if (rel.columns[c].is_primary_key) continue;
                    bool listed = false;
                    for (const auto& s : *b->spec.select)
                        listed = listed || s == rel.columns[c].name;
                    if (!listed) selected->columns[c] = false;
                }
            }
            const auto slot = sub.reserve();
            deliveries_.inc();
            if (needs_check) {
                tracker_.add_pending(ticket_);
                auth_work_.emplace_back(
                    identity, AuthWork{payloads, selected ? *selected : view->base, m.subscription,
                                       slot, std::move(group.ids), ticket_});
            } else if (selected) {
                sub.complete(slot, payloads->get(*selected, format), std::move(group.ids), round_);
            } else {
                if (!view->base_data || view->base_format != &format) {
                    view->base_data = payloads->get(view->base, format);
                    view->base_format = &format;
                }
                sub.complete(slot, view->base_data, std::move(group.ids), round_);
            }
        }
    }
    matches_.clear();
    // All of this change's checks at once: a worker never starts on part of them. May block
    // (back-pressure); the index lock is not held.
    authorizer_.submit(auth_work_);
    if (matched_any) changes_matched_.inc();
}

} // namespace walcast::core
