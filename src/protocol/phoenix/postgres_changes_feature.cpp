#include "protocol/phoenix/postgres_changes_feature.hpp"

#include "protocol/phoenix/postgres_changes_sink.hpp"
#include "protocol/supabase/binding.hpp"
#include "protocol/supabase/messages.hpp"
#include "protocol/supabase/postgres_changes_data.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <random>

namespace walcast::protocol::phoenix {

namespace {

/// Said after "the database is unreachable" on a join validated while Postgres is down.
constexpr std::string_view retry_sentence =
    ". walcast subscribes this channel again every 5–10 s until it succeeds (\"Subscribed to "
    "PostgreSQL\"); changes are delivered from then on";

/// The wait before validating such a join again: 5–10 s, spread so that the channels of an
/// outage do not all retry at once (the reference's back-off).
std::chrono::milliseconds retry_delay() {
    thread_local std::minstd_rand rng{std::random_device{}()};
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(5000, 10000)(rng));
}

bool unreachable(const supabase::JoinFailure& f) {
    return f.code == supabase::unable_to_connect_code;
}

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
        ch_ = &ch;
        auto deliver = on_strand(
            ch, [done = std::move(done)](PostgresChangesFeature& f, core::SubscriptionPtr sub,
                                         std::optional<supabase::JoinFailure> failure,
                                         std::vector<std::string> notices) {
                f.notices_ = std::move(notices);
                f.on_subscribed(std::move(sub), std::move(failure), done);
            });
        if (refused) {
            // Answered through the service too, after the joins queued before it: replies keep
            // the order of the joins.
            subscriptions_.refused(
                source, sink_,
                [deliver = std::move(deliver), refused = std::move(refused)]() mutable {
                    deliver(nullptr, std::move(refused), {});
                });
            return;
        }
        submit(std::move(req), std::move(deliver));
    }

    void open(const std::function<void()>& before) override { sink_->open(before); }

    void after_join(ChannelHandle& ch) override {
        if (ch.config().postgres_changes.bindings.empty()) return;
        if (error_) {
            ch.push_system("postgres_changes", "error", *error_);
            if (retrying_) schedule_retry();
        } else {
            announce(ch);
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
        ch_ = nullptr;
        if (subscription_) subscriptions_.unsubscribe(subscription_);
        subscription_.reset();
        sink_->close();
    }

private:
    /// What a validation's outcome is handed to, on the strand, while the feature is open.
    using Deliver = std::function<void(core::SubscriptionPtr, std::optional<supabase::JoinFailure>,
                                       std::vector<std::string>)>;
    using Handler =
        std::function<void(PostgresChangesFeature&, core::SubscriptionPtr,
                           std::optional<supabase::JoinFailure>, std::vector<std::string>)>;

    /// A Deliver that runs handler on the channel's strand if the feature is still open, else
    /// releases the subscription. The connection (and with it the session) stays alive until
    /// then.
    Deliver on_strand(ChannelHandle& ch, Handler handler) {
        return [io = ch.io().lock(), self = weak_from_this(), &svc = subscriptions_,
                handler = std::move(handler)](core::SubscriptionPtr sub,
                                              std::optional<supabase::JoinFailure> failure,
                                              std::vector<std::string> notices) {
            if (!io) {
                if (sub) svc.unsubscribe(sub);
                return;
            }
            io->post([self, &svc, handler, sub = std::move(sub), failure = std::move(failure),
                      notices = std::move(notices)]() mutable {
                auto f = self.lock();
                if (!f || f->closed_) {
                    if (sub) svc.unsubscribe(sub);
                    return;
                }
                handler(*f, std::move(sub), std::move(failure), std::move(notices));
            });
        };
    }

    /// Validates req; its outcome, worded as Supabase words it, goes to deliver.
    void submit(core::SubscribeRequest req, Deliver deliver) {
        std::string role = req.identity->role;
        subscriptions_.subscribe(
            std::move(req), [deliver = std::move(deliver), specs = specs_,
                             role = std::move(role)](core::SubscribeOutcome o) {
                std::optional<supabase::JoinFailure> failure;
                if (o.error) failure = supabase::describe_failure(*o.error, specs);
                std::vector<std::string> notices;
                for (const auto& u : o.unreadable)
                    notices.push_back(supabase::unreadable_table_message(role, u));
                deliver(std::move(o.subscription), std::move(failure), std::move(notices));
            });
    }

    /// The success `system` pushes: "Subscribed to PostgreSQL" (or the open gap), then the
    /// tables the role may not read (nothing of them will arrive).
    void announce(ChannelHandle& ch) {
        if (auto gap = open_gap_ ? open_gap_() : std::nullopt) {
            // Subscribed, but the stream is losing changes right now: say so, not "ok".
            ch.push_system("postgres_changes", "error", "Subscribed to PostgreSQL, but " + *gap);
        } else {
            ch.push_system("postgres_changes", "ok", "Subscribed to PostgreSQL");
        }
        for (const auto& n : notices_)
            ch.push_system("postgres_changes", "error", n);
    }

    /// A join validated while the database was unreachable: validated again after
    /// retry_delay(), as the channel's token is then, until it is reachable. Strand.
    void schedule_retry() {
        auto io = ch_ ? ch_->io().lock() : nullptr;
        if (!io) return;
        io->post_after(retry_delay(), [self = weak_from_this()] {
            if (auto f = self.lock(); f && !f->closed_ && f->ch_) f->retry();
        });
    }

    void retry() {
        ChannelHandle& ch = *ch_;
        core::SubscribeRequest req{reinterpret_cast<std::uintptr_t>(ch.io().lock().get()),
                                   ch.topic(),
                                   {},
                                   core::identity_of(*ch.claims()),
                                   sink_,
                                   &supabase::postgres_changes_format()};
        for (std::size_t i = 0; i < specs_.size() && i < ids_.size(); ++i)
            req.bindings.push_back({ids_[i], specs_[i]});
        submit(std::move(req),
               on_strand(ch, [](PostgresChangesFeature& f, core::SubscriptionPtr sub,
                                std::optional<supabase::JoinFailure> failure,
                                std::vector<std::string> notices) {
                   f.on_retried(std::move(sub), std::move(failure), std::move(notices));
               }));
    }

    void on_retried(core::SubscriptionPtr sub, std::optional<supabase::JoinFailure> failure,
                    std::vector<std::string> notices) {
        if (failure && unreachable(*failure)) return schedule_retry(); // told once, at the join
        retrying_ = false;
        if (failure) {
            // Reachable now, but the join itself fails (e.g. the table left the publication).
            error_ = std::move(failure->message);
            return ch_->push_system("postgres_changes", "error", *error_);
        }
        error_.reset();
        subscription_ = std::move(sub);
        notices_ = std::move(notices);
        announce(*ch_);
    }

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
    /// The channel, from join() until close() (the channel outlives its features' close).
    ChannelHandle* ch_ = nullptr;
    bool retrying_ = false; ///< validated again every 5–10 s (the database was unreachable)
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
    if (failure && unreachable(*failure)) {
        // SUBSCRIBED and one `system` error; validated again until the database answers.
        retrying_ = true;
        failure->message += retry_sentence;
    }
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
