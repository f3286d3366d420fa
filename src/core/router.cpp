#include "core/router.hpp"

#include "common/logging.hpp"

#include <boost/container/small_vector.hpp>

namespace walcast::core {

namespace {
/// A round (output batched before it is flushed to the sockets) ends after this many changes
/// even if the replication stream keeps delivering.
constexpr std::size_t max_changes_per_round = 64;
} // namespace

Router::Router(pg::ConnectParams catalog_params, RouterOptions options, SubscriptionIndex& index,
               AccessCache& access, Authorizer& authorizer, CommitTracker& tracker,
               std::function<void(capture::Position)> confirm, MetricsRegistry& metrics)
    : catalog_params_(std::move(catalog_params)), options_(options), index_(index), access_(access),
      authorizer_(authorizer), tracker_(tracker), confirm_(std::move(confirm)),
      changes_received_(metrics.counter("walcast_changes_received_total",
                                        "row changes read from the replication stream")),
      changes_matched_(metrics.counter("walcast_changes_matched_total",
                                       "row changes that matched at least one binding")),
      deliveries_(metrics.counter("walcast_deliveries_routed_total",
                                  "channel messages routed (directly or via an RLS check)")) {}

Router::~Router() = default;

const pg::Connection* Router::catalog() {
    if (catalog_.healthy()) return &catalog_;
    auto c = pg::Connection::connect(catalog_params_);
    if (!c) {
        log::error("router catalog connection: {}", c.error().message);
        return nullptr;
    }
    catalog_ = std::move(c).value();
    return &catalog_;
}

TableAccessPtr Router::access_for(const std::string& role, const capture::Relation& rel) {
    const auto* conn = catalog();
    if (!conn) return nullptr;
    auto a = access_.access(*conn, role, rel.oid);
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
    // What this round delivered goes out now, not after the reconnect.
    if (!up) on_idle();
    if (up) {
        log::info("replication stream up");
    } else if (reason != "stopped") {
        log::warn("replication stream down: {}", reason);
    }
}

namespace {

// What one identity may see of the relation this change belongs to, computed once per change.
struct RoleView {
    const Identity* identity = nullptr;
    TableAccessPtr access;
    bool any_readable = false;
    /// What the role sees without a select list; shared by all its channels' messages.
    PayloadVariant base;
    std::shared_ptr<const std::string> base_data; ///< rendered on first direct delivery
};

} // namespace

void Router::route(const capture::ChangePtr& change) {
    changes_received_.inc();
    if (change->kind == capture::ChangeKind::Truncate) return; // never sent (spec §4.5)
    const auto& rel = *change->relation;

    auto lock = index_.lock();
    const auto& cands = index_.candidates(rel.schema, rel.table);
    if (cands.empty()) return;

    const bool is_delete = change->kind == capture::ChangeKind::Delete;
    const bool no_pk = !rel.has_primary_key();
    // Filters test the new row, or for DELETE the old/identity row (spec §5.3).
    const pg::Tuple* tuple = is_delete ? (change->old_tuple ? &*change->old_tuple : nullptr)
                                       : (change->new_tuple ? &*change->new_tuple : nullptr);
    // A DELETE's old tuple under replica identity DEFAULT/INDEX holds only the key columns.
    const TupleScope scope =
        is_delete && !change->old_is_full ? TupleScope::KeyOnly : TupleScope::Full;
    ChangePayloadsPtr payloads;
    boost::container::small_vector<RoleView, 4> views;
    bool matched_any = false;

    for (std::size_t i = 0; i < cands.size();) {
        Subscription* sub = cands[i].subscription;
        std::size_t end = i;
        while (end < cands.size() && cands[end].subscription == sub)
            ++end;

        // Matching binding ids per select group (spec §4.1: one message per group).
        boost::container::small_vector<std::pair<std::uint16_t, BindingIds>, 2> groups;
        IdentityPtr identity;
        for (std::size_t k = i; k < end; ++k) {
            Binding& b = sub->bindings()[cands[k].binding];
            if (!b.wants(change->kind)) continue;
            if (!identity) identity = sub->identity();
            bool matched = true;
            // A table without a primary key gets Error 400 rows without filter checks (§6.2).
            if (!b.spec.filters.empty() && !(no_pk && !is_delete)) {
                auto it = b.compiled.find(rel.oid);
                if (it == b.compiled.end()) {
                    std::shared_ptr<const CompiledFilter> f;
                    if (compile_)
                        if (const auto* conn = catalog())
                            f = compile_(b, rel, identity->role, *conn);
                    it = b.compiled.emplace(rel.oid, std::move(f)).first;
                }
                matched = it->second && tuple && it->second->matches(rel, *tuple, scope);
            }
            if (!matched) continue;
            auto g = std::find_if(groups.begin(), groups.end(),
                                  [&](const auto& x) { return x.first == b.select_group; });
            if (g == groups.end()) {
                groups.emplace_back(b.select_group, BindingIds{});
                g = groups.end() - 1;
            }
            g->second.push_back(b.id);
        }
        const std::size_t first = i;
        i = end;
        if (groups.empty()) continue;

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
                // (spec §6.4: the reference decides by the table, not the reader).
                v.base.old_record_pk_only = is_delete && v.access->table_rls;
            }
            views.push_back(std::move(v));
            view = views.end() - 1;
        }
        // Only tables the role may SELECT (at least one column) deliver anything.
        if (!view->any_readable) continue;

        if (!payloads)
            payloads = std::make_shared<ChangePayloads>(change, options_.max_record_bytes);
        matched_any = true;
        const bool needs_check =
            view->base.error == ErrorRow::None && !is_delete && view->access->rls;
        for (auto& [group, ids] : groups) {
            // select: listed columns plus every primary-key column (spec §5.6).
            const Binding* b = nullptr;
            for (std::size_t k = first; k < end && !b; ++k)
                if (sub->bindings()[cands[k].binding].select_group == group)
                    b = &sub->bindings()[cands[k].binding];
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
            const auto slot = sub->reserve();
            deliveries_.inc();
            if (needs_check) {
                tracker_.add_pending(ticket_);
                auth_work_.emplace_back(
                    identity, AuthWork{payloads, selected ? *selected : view->base,
                                       sub->shared_from_this(), slot, std::move(ids), ticket_});
            } else if (selected) {
                sub->complete(slot, payloads->get(*selected), std::move(ids), round_);
            } else {
                if (!view->base_data) view->base_data = payloads->get(view->base);
                sub->complete(slot, view->base_data, std::move(ids), round_);
            }
        }
    }
    // All of this change's checks at once: a worker never starts on part of them.
    authorizer_.submit(auth_work_);
    if (matched_any) changes_matched_.inc();
}

} // namespace walcast::core
