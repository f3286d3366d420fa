#include "protocol/phoenix/live_query_feature.hpp"

#include "core/subscription/role_refusal.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <mutex>

namespace walcast::protocol::phoenix {

namespace {

/// The join error for a token role SubscriptionService::check_role refused.
std::string role_refusal(const core::SubscribeError& e) {
    return "live_query: " + core::describe_role_refusal(e);
}

/// Frames for one channel: held until open() (the join reply first), dropped after close().
class LiveQuerySink final : public livequery::Sink {
public:
    LiveQuerySink(std::weak_ptr<ConnectionIo> io, Vsn vsn, std::string topic)
        : io_(std::move(io)), vsn_(vsn), topic_(std::move(topic)) {}

    void on_update(const livequery::Update& u) override {
        std::string payload = "{\"type\":\"broadcast\",\"event\":\"";
        payload += u.diff ? "diff" : "result";
        payload += "\",\"payload\":";
        livequery::append_update_json(payload, u);
        payload += '}';
        send(std::move(payload));
    }
    void on_error(const livequery::LiveError& e) override {
        std::string payload = "{\"type\":\"broadcast\",\"event\":\"error\",\"payload\":";
        livequery::append_error_json(payload, e);
        payload += '}';
        send(std::move(payload));
    }
    /// Strand: runs before() (the join reply), sends what was held, lets pushes through.
    void open(const std::function<void()>& before) {
        std::lock_guard lock(mu_);
        if (closed_) return;
        before();
        open_ = true;
        auto io = io_.lock();
        for (auto& f : held_)
            if (io) io->send_text({f}, nullptr, true);
        held_.clear();
    }
    void close() {
        std::lock_guard lock(mu_);
        closed_ = true;
        held_.clear();
    }

private:
    void send(std::string payload) {
        std::string frame = encode_broadcast(vsn_, topic_, "broadcast", payload);
        std::lock_guard lock(mu_);
        if (closed_) return;
        if (!open_) {
            held_.push_back(std::move(frame));
            return;
        }
        if (auto io = io_.lock()) io->send_text({frame}, nullptr, true);
    }

    const std::weak_ptr<ConnectionIo> io_;
    const Vsn vsn_;
    const std::string topic_;
    std::mutex mu_;
    bool open_ = false;
    bool closed_ = false;
    std::vector<std::string> held_;
};

class LiveQueryFeature final : public ChannelFeature,
                               public std::enable_shared_from_this<LiveQueryFeature> {
public:
    LiveQueryFeature(livequery::Engine& engine, core::SubscriptionService& subscriptions,
                     livequery::Request request, ChannelHandle& ch)
        : engine_(engine), subscriptions_(subscriptions), request_(std::move(request)),
          sink_(std::make_shared<LiveQuerySink>(ch.io(), ch.vsn(), ch.topic())) {}

    std::string_view name() const override { return "live_query"; }

    void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) override {
        request_.identity = core::identity_of(*ch.claims());
        identity_key_ = ch.claims()->identity_key;
        subscribe(ch, std::move(done));
    }

    void open(const std::function<void()>& before) override { sink_->open(before); }

    void on_token_refreshed(ChannelHandle& ch) override {
        if (closed_ || ch.claims()->identity_key == identity_key_) return;
        // Another identity sees other rows: a new subscription (and first result) as it.
        identity_key_ = ch.claims()->identity_key;
        request_.identity = core::identity_of(*ch.claims());
        sub_.reset();
        sink_->close();
        sink_ = std::make_shared<LiveQuerySink>(ch.io(), ch.vsn(), ch.topic());
        subscribe(ch, [sink = sink_](FeatureJoinResult r) {
            if (r.error) sink->on_error({"refused", *r.error});
            sink->open([] {});
        });
    }

    void close() override {
        closed_ = true;
        sub_.reset();
        sink_->close();
    }

private:
    /// Checks the token's role as a Postgres Changes join does, then subscribes the query.
    void subscribe(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) {
        auto io = ch.io().lock();
        if (!io) return done({"the connection is closing", {}});
        subscriptions_.check_role(
            reinterpret_cast<std::uintptr_t>(io.get()), {}, request_.identity->role,
            [weak_io = ch.io(), self = weak_from_this(), sink = sink_,
             done = std::move(done)](std::optional<core::SubscribeError> e) mutable {
                auto io = weak_io.lock();
                if (!io) return;
                io->post([weak_io, self = std::move(self), sink = std::move(sink),
                          done = std::move(done), e = std::move(e)]() mutable {
                    auto f = self.lock();
                    if (!f || f->closed_ || f->sink_ != sink) return;
                    if (e) return done({role_refusal(*e), {}});
                    f->subscribe_query(weak_io, std::move(done));
                });
            });
    }

    /// Strand, after the role check.
    void subscribe_query(std::weak_ptr<ConnectionIo> weak_io,
                         std::function<void(FeatureJoinResult)> done) {
        engine_.subscribe(request_, sink_,
                          [weak_io = std::move(weak_io), self = weak_from_this(), sink = sink_,
                           done = std::move(done)](Result<livequery::SubscriptionPtr> r) mutable {
                              auto io = weak_io.lock();
                              if (!io) return;
                              io->post([self = std::move(self), sink = std::move(sink),
                                        done = std::move(done), r = std::move(r)]() mutable {
                                  auto f = self.lock();
                                  if (!f || f->closed_ || f->sink_ != sink) return;
                                  if (!r) {
                                      std::string reason = r.error().message;
                                      done({std::move(reason), {}});
                                      return;
                                  }
                                  f->sub_ = std::move(r).value();
                                  std::string reply = "{\"columns\":";
                                  livequery::append_columns_json(reply, f->sub_->columns());
                                  reply += ",\"key\":";
                                  livequery::append_names_json(reply, f->sub_->key());
                                  reply += '}';
                                  done({std::nullopt, std::move(reply)});
                              });
                          });
    }

    livequery::Engine& engine_;
    core::SubscriptionService& subscriptions_;
    livequery::Request request_;
    std::shared_ptr<LiveQuerySink> sink_;
    livequery::SubscriptionPtr sub_;
    std::string identity_key_;
    bool closed_ = false;
};

/// A refused configuration: the join fails with the parse error.
class RefusedLiveQuery final : public ChannelFeature {
public:
    explicit RefusedLiveQuery(std::string reason) : reason_(std::move(reason)) {}
    std::string_view name() const override { return "live_query"; }
    void join(ChannelHandle&, std::function<void(FeatureJoinResult)> done) override {
        done({reason_, {}});
    }
    void close() override {}

private:
    std::string reason_;
};

} // namespace

std::shared_ptr<ChannelFeature> LiveQueryFeatureFactory::make(ChannelHandle& ch) {
    const auto& raw = ch.config().broadcast.raw;
    auto it = raw.find("live_query");
    if (it == raw.end()) return nullptr;
    auto req = livequery::parse_request(it->value());
    if (!req) return std::make_shared<RefusedLiveQuery>(req.error().message);
    return std::make_shared<LiveQueryFeature>(engine_, subscriptions_, std::move(req).value(), ch);
}

} // namespace walcast::protocol::phoenix
