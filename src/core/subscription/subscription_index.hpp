// SubscriptionIndex: every live Subscription, with per-table candidate lists kept up to date
// incrementally, so routing a change looks up its table's candidates instead of scanning every
// binding.
#pragma once

#include "capture/change.hpp"
#include "core/subscription/subscription.hpp"

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// One binding of one subscription that matches a table.
struct Candidate {
    Subscription* subscription;
    std::uint16_t binding; ///< index into subscription->bindings()
};

/// Told of every subscription made live or removed, after the index changed, outside its lock,
/// on the thread that called add/remove. Must not call back into the index.
class IndexObserver {
public:
    virtual ~IndexObserver() = default;
    virtual void on_added(const Subscription& s) = 0;
    virtual void on_removed(const Subscription& s) = 0;
};

/// Thread-safe: add/remove take an exclusive lock; the router holds a shared lock (lock())
/// while it routes a change and keeps Candidate pointers only for that long.
///
/// Candidates per table are computed on first use by testing every live binding's
/// schema/table pattern (BindingSpec::matches_relation, so tables added to the publication
/// later are picked up), then maintained on add/remove: each add tests the new bindings
/// against the tables already known, each remove erases. A subscription's candidates stay
/// adjacent and in binding order, which routing relies on to send one message per channel.
class SubscriptionIndex {
public:
    /// Makes s live: every change routed after add() returns is matched against it (the
    /// "subscribed means delivered" guarantee rests on this ordering).
    void add(SubscriptionPtr s);
    /// Removes s; after remove() returns the router no longer sees it (in-flight authorizer
    /// work may still complete into it; its sink is held weakly).
    void remove(const SubscriptionPtr& s);

    /// Shared lock for routing.
    std::shared_lock<std::shared_mutex> lock() const { return std::shared_lock(mu_); }

    /// Candidates for a table, grouped by subscription. Caller holds lock(). The first call for
    /// a table builds its list (under the shared lock, guarded by its own mutex: only the
    /// router calls this).
    const std::vector<Candidate>& candidates(const std::string& schema, const std::string& table);

    /// Every live subscription (a copy: use it after the lock is released). Caller holds lock().
    std::vector<SubscriptionPtr> live_locked() const {
        std::vector<SubscriptionPtr> out;
        out.reserve(live_.size());
        for (const auto& [id, s] : live_)
            out.push_back(s);
        return out;
    }

    std::size_t subscriptions() const;
    std::size_t bindings() const;

    /// Adds an observer (it must outlive the index's use). Before the first add().
    void add_observer(IndexObserver* o) { observers_.push_back(o); }

private:
    struct Table {
        std::string schema, table;
        std::vector<Candidate> candidates;
    };
    static void append_matches(Table& t, Subscription& s);

    std::vector<IndexObserver*> observers_;
    mutable std::shared_mutex mu_;
    std::unordered_map<std::uint64_t, SubscriptionPtr> live_;
    std::size_t binding_count_ = 0;
    std::mutex tables_mu_; ///< tables_ grows under the shared lock (router only)
    std::unordered_map<std::string, Table> tables_; ///< key: schema '\\0' table
};

} // namespace walcast::core
