#include "protocol/phoenix/postgres_changes_feature.hpp"

#include "protocol/phoenix/postgres_changes_sink.hpp"

#include <boost/json/serialize.hpp>

namespace walcast::protocol::phoenix {

namespace {

core::IdentityPtr identity_of(const auth::Claims& c) {
    return std::make_shared<const core::Identity>(core::Identity{c.role, c.json, c.identity_key});
}

class PostgresChangesFeature final : public ChannelFeature,
                                     public std::enable_shared_from_this<PostgresChangesFeature> {
public:
    PostgresChangesFeature(core::SubscriptionService& subscriptions, ChannelHandle& ch)
        : subscriptions_(subscriptions),
          sink_(std::make_shared<PostgresChangesSink>(ch.io(), ch.vsn(), ch.topic())),
          wait_(ch.config().postgres_changes.wait) {}

    std::string_view name() const override { return "postgres_changes"; }

    void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) override {
        const auto& cfg = ch.config().postgres_changes;
        if (cfg.bindings.empty()) return done({std::nullopt, "[]"});
        bindings_ = cfg.bindings;
        core::SubscribeRequest req{ch.topic(), cfg.bindings, identity_of(*ch.claims()), sink_};
        // The connection (and with it the session) stays alive until the outcome is handled
        // on the strand; a feature closed by then releases the subscription.
        subscriptions_.subscribe(
            std::move(req), [io = ch.io().lock(), self = weak_from_this(), &svc = subscriptions_,
                             done = std::move(done)](core::SubscribeOutcome o) mutable {
                if (!io) {
                    if (o.subscription) svc.unsubscribe(o.subscription);
                    return;
                }
                io->post([self = std::move(self), &svc, done = std::move(done),
                          o = std::move(o)]() mutable {
                    auto f = self.lock();
                    if (!f || f->closed_) {
                        if (o.subscription) svc.unsubscribe(o.subscription);
                        return;
                    }
                    f->on_subscribed(std::move(o), done);
                });
            });
    }

    void open(const std::function<void()>& before) override { sink_->open(before); }

    void after_join(ChannelHandle& ch) override {
        if (ch.config().postgres_changes.bindings.empty()) return;
        if (error_)
            ch.push_system("postgres_changes", "error", *error_);
        else
            ch.push_system("postgres_changes", "ok", "Subscribed to PostgreSQL");
    }

    void on_token_refreshed(ChannelHandle& ch) override {
        if (subscription_) subscription_->set_identity(identity_of(*ch.claims()));
    }

    void close() override {
        closed_ = true;
        if (subscription_) subscriptions_.unsubscribe(subscription_);
        subscription_.reset();
        sink_->close();
    }

private:
    void on_subscribed(core::SubscribeOutcome o,
                       const std::function<void(FeatureJoinResult)>& done);

    core::SubscriptionService& subscriptions_;
    std::shared_ptr<PostgresChangesSink> sink_;
    core::SubscriptionPtr subscription_;
    std::optional<std::string> error_; ///< binding error reported after the reply (no wait)
    bool closed_ = false;
    const bool wait_;
    /// The bindings echoed in the reply; kept from join() to on_subscribed().
    std::vector<boost::json::object> bindings_;
};

void PostgresChangesFeature::on_subscribed(core::SubscribeOutcome o,
                                           const std::function<void(FeatureJoinResult)>& done) {
    if (o.error && wait_) {
        // With postgres_changes_options.wait the join itself fails (realtime-js reports
        // CHANNEL_ERROR with this reason).
        return done({o.error_code + ": " + *o.error, {}});
    }
    subscription_ = std::move(o.subscription);
    error_ = std::move(o.error);
    // Reply: each binding echoed unchanged plus its id, same order and count (spec §3.2).
    boost::json::array echoed;
    for (std::size_t i = 0; i < bindings_.size(); ++i) {
        boost::json::object b = std::move(bindings_[i]);
        b["id"] = i < o.ids.size() ? o.ids[i] : 0;
        echoed.emplace_back(std::move(b));
    }
    bindings_.clear();
    done({std::nullopt, boost::json::serialize(echoed)});
}

} // namespace

std::shared_ptr<ChannelFeature> PostgresChangesFeatureFactory::make(ChannelHandle& ch) {
    return std::make_shared<PostgresChangesFeature>(subscriptions_, ch);
}

} // namespace walcast::protocol::phoenix
