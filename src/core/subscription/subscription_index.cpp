#include "core/subscription/subscription_index.hpp"

#include <mutex>

namespace walcast::core {

void SubscriptionIndex::append_matches(Table& t, Subscription& s) {
    const auto& bindings = s.bindings();
    for (std::size_t i = 0; i < bindings.size(); ++i)
        if (bindings[i].spec.matches_relation(t.schema, t.table))
            t.candidates.push_back({&s, static_cast<std::uint16_t>(i)});
}

void SubscriptionIndex::add(SubscriptionPtr s) {
    Subscription* added = s.get();
    {
        std::unique_lock lock(mu_);
        for (auto& [key, t] : tables_)
            append_matches(t, *s);
        binding_count_ += s->bindings().size();
        live_.emplace(s->id(), s);
    }
    for (auto* o : observers_)
        o->on_added(*added);
}

void SubscriptionIndex::remove(const SubscriptionPtr& s) {
    {
        std::unique_lock lock(mu_);
        if (live_.erase(s->id()) == 0) return;
        for (auto& [key, t] : tables_)
            std::erase_if(t.candidates,
                          [&](const Candidate& c) { return c.subscription == s.get(); });
        binding_count_ -= s->bindings().size();
    }
    for (auto* o : observers_)
        o->on_removed(*s);
}

const std::vector<Candidate>& SubscriptionIndex::candidates(const std::string& schema,
                                                            const std::string& table) {
    std::string key = schema;
    key += '\0';
    key += table;
    std::lock_guard guard(tables_mu_);
    auto it = tables_.find(key);
    if (it != tables_.end()) return it->second.candidates;
    Table t{schema, table, {}};
    for (auto& [id, s] : live_)
        append_matches(t, *s);
    return tables_.emplace(std::move(key), std::move(t)).first->second.candidates;
}

std::size_t SubscriptionIndex::subscriptions() const {
    std::shared_lock lock(mu_);
    return live_.size();
}

std::size_t SubscriptionIndex::bindings() const {
    std::shared_lock lock(mu_);
    return binding_count_;
}

} // namespace walcast::core
