#include "protocol/phoenix/postgres_changes_feature.hpp"

#include "protocol/phoenix/postgres_changes_sink.hpp"
#include "protocol/supabase/binding.hpp"
#include "protocol/supabase/messages.hpp"
#include "protocol/supabase/postgres_changes_data.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>

namespace walcast::protocol::phoenix {

namespace {

class PostgresChangesFeature final : public ChannelFeature,
                                     public std::enable_shared_from_this<PostgresChangesFeature> {
public:
    PostgresChangesFeature(core::SubscriptionService& subscriptions,
                           const PostgresChangesFeatureFactory::OpenGap& open_gap,
                           ChannelHandle& ch)
        : subscriptions_(subscriptions), open_gap_(open_gap),
          sink_(std::make_shared<PostgresChangesSink>(ch.io(), ch.vsn(), ch.topic())),
          wait_(ch.config().postgres_changes.wait) {
        sink_->set_end(ch.shut_down_from_any_thread());
    }

    std::string_view name() const override { return "postgres_changes"; }

    void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) override {
        const auto& cfg = ch.config().postgres_changes;
        if (cfg.bindings.empty()) return done({std::nullopt, "[]"});
        bindings_ = cfg.bindings;
        // The bindings as Supabase Realtime parses them (spec §5.1–§5.4); their ids (§3.2) go
        // in the reply whatever becomes of the join. The first parse error fails the channel.
        // The socket is the source: its joins are validated in order, one at a time, and
        // never ahead of another socket's (SubscriptionService).
        const auto source = reinterpret_cast<std::uintptr_t>(ch.io().lock().get());
        core::SubscribeRequest req{source, ch.topic(),
                                   {},     core::identity_of(*ch.claims()),
                                   sink_,  &supabase::postgres_changes_format()};
        std::optional<supabase::JoinFailure> refused;
        for (const auto& raw : cfg.bindings) {
            ids_.push_back(supabase::binding_id(raw));
            if (refused) continue;
            auto spec = supabase::parse_binding(raw);
            if (!spec) {
                refused = supabase::JoinFailure{spec.error().message,
                                                std::string(supabase::invalid_params_code)};
                continue;
            }
            specs_.push_back(spec.value());
            req.bindings.push_back({ids_.back(), std::move(spec).value()});
        }
        // The connection (and with it the session) stays alive until the outcome is handled
        // on the strand; a feature closed by then releases the subscription.
        auto deliver = [io = ch.io().lock(), self = weak_from_this(), &svc = subscriptions_,
                        done = std::move(done)](core::SubscriptionPtr sub,
                                                std::optional<supabase::JoinFailure> failure,
                                                std::vector<std::string> notices = {}) mutable {
            if (!io) {
                if (sub) svc.unsubscribe(sub);
                return;
            }
            io->post([self = std::move(self), &svc, done = std::move(done), sub = std::move(sub),
                      failure = std::move(failure), notices = std::move(notices)]() mutable {
                auto f = self.lock();
                if (!f || f->closed_) {
                    if (sub) svc.unsubscribe(sub);
                    return;
                }
                f->notices_ = std::move(notices);
                f->on_subscribed(std::move(sub), std::move(failure), done);
            });
        };
        if (refused) {
            // Answered through the service too, after the joins queued before it: replies keep
            // the order of the joins.
            subscriptions_.refused(
                source, sink_,
                [deliver = std::move(deliver), refused = std::move(refused)]() mutable {
                    deliver(nullptr, std::move(refused));
                });
            return;
        }
        std::string role = req.identity->role;
        subscriptions_.subscribe(
            std::move(req), [deliver = std::move(deliver), specs = specs_,
                             role = std::move(role)](core::SubscribeOutcome o) mutable {
                std::optional<supabase::JoinFailure> failure;
                if (o.error) failure = supabase::describe_failure(*o.error, specs);
                std::vector<std::string> notices;
                for (const auto& u : o.unreadable)
                    notices.push_back(supabase::unreadable_table_message(role, u));
                deliver(std::move(o.subscription), std::move(failure), std::move(notices));
            });
    }

    void open(const std::function<void()>& before) override { sink_->open(before); }

    void after_join(ChannelHandle& ch) override {
        if (ch.config().postgres_changes.bindings.empty()) return;
        if (error_) {
            ch.push_system("postgres_changes", "error", *error_);
        } else {
            if (auto gap = open_gap_ ? open_gap_() : std::nullopt) {
                // Subscribed, but the stream is losing changes right now: say so, not "ok".
                ch.push_system("postgres_changes", "error",
                               "Subscribed to PostgreSQL, but " + *gap);
            } else {
                ch.push_system("postgres_changes", "ok", "Subscribed to PostgreSQL");
            }
            // Tables of the bindings the role may not read: nothing of them will arrive.
            for (const auto& n : notices_)
                ch.push_system("postgres_changes", "error", n);
        }
    }

    void on_token_refreshed(ChannelHandle& ch) override {
        if (!subscription_) return;
        auto identity = core::identity_of(*ch.claims());
        const auto seq = ++refreshes_;
        if (identity->role == subscription_->identity()->role) {
            subscription_->set_identity(std::move(identity));
            return;
        }
        // A new role is checked as a join's is (a superuser or BYPASSRLS role not allowed is
        // refused); until then the channel reads as before. A refused role ends the channel.
        std::string role = identity->role;
        subscriptions_.check_role(
            reinterpret_cast<std::uintptr_t>(ch.io().lock().get()), sink_, std::move(role),
            [self = weak_from_this(), sub = subscription_, identity = std::move(identity), seq,
             specs = specs_,
             shut_down = ch.shut_down_from_any_thread()](std::optional<core::SubscribeError> e) {
                auto f = self.lock();
                if (!f || f->refreshes_.load() != seq) return; // closed, or refreshed again
                if (!e) return sub->set_identity(identity);
                shut_down(supabase::describe_failure(*e, specs).message);
            });
    }

    void close() override {
        closed_ = true;
        if (subscription_) subscriptions_.unsubscribe(subscription_);
        subscription_.reset();
        sink_->close();
    }

private:
    void on_subscribed(core::SubscriptionPtr subscription,
                       std::optional<supabase::JoinFailure> failure,
                       const std::function<void(FeatureJoinResult)>& done);

    core::SubscriptionService& subscriptions_;
    const PostgresChangesFeatureFactory::OpenGap& open_gap_; ///< the factory's (outlives us)
    std::shared_ptr<PostgresChangesSink> sink_;
    core::SubscriptionPtr subscription_;
    std::optional<std::string> error_; ///< binding error reported after the reply (no wait)
    std::vector<std::string> notices_; ///< tables the role may not read (after the ok)
    bool closed_ = false;
    const bool wait_;
    /// The bindings echoed in the reply and their ids; kept from join() to on_subscribed().
    std::vector<boost::json::object> bindings_;
    std::vector<std::int64_t> ids_;
    std::vector<core::BindingSpec> specs_;    ///< parsed, for wording the service's errors
    std::atomic<std::uint64_t> refreshes_{0}; ///< token refreshes; a role check's answer is
                                              ///< applied only if none followed it
};

void PostgresChangesFeature::on_subscribed(core::SubscriptionPtr subscription,
                                           std::optional<supabase::JoinFailure> failure,
                                           const std::function<void(FeatureJoinResult)>& done) {
    if (failure && wait_) {
        // With postgres_changes_options.wait the join itself fails (realtime-js reports
        // CHANNEL_ERROR with this reason).
        return done({failure->code + ": " + failure->message, {}});
    }
    subscription_ = std::move(subscription);
    if (failure) error_ = std::move(failure->message);
    // Reply: each binding echoed unchanged plus its id, same order and count (spec §3.2).
    boost::json::array echoed;
    for (std::size_t i = 0; i < bindings_.size(); ++i) {
        boost::json::object b = std::move(bindings_[i]);
        b["id"] = i < ids_.size() ? ids_[i] : 0;
        echoed.emplace_back(std::move(b));
    }
    bindings_.clear();
    done({std::nullopt, boost::json::serialize(echoed)});
}

} // namespace

std::shared_ptr<ChannelFeature> PostgresChangesFeatureFactory::make(ChannelHandle& ch) {
    return std::make_shared<PostgresChangesFeature>(subscriptions_, open_gap_, ch);
}

} // namespace walcast::protocol::phoenix
