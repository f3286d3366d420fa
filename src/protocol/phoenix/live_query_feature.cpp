#include "protocol/phoenix/live_query_feature.hpp"

#include "core/subscription/role_refusal.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <mutex>

namespace walcast::protocol::phoenix {

namespace {

Error bad(std::string what) {
    return make_error(Errc::InvalidInput, "live_query: " + what);
}

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

Result<livequery::Request> parse_live_query_config(const boost::json::value& v) {
    if (!v.is_object())
        return bad("must be an object, e.g. {\"name\": \"my_query\", \"params\": [1]}");
    const auto& o = v.as_object();
    livequery::Request req;
    for (const auto& [k, val] : o) {
        if (k == "name") {
            if (!val.is_string() || val.as_string().empty())
                return bad("name must be a non-empty string (a query of LIVE_QUERIES_DIR)");
            req.name = std::string(val.as_string());
        } else if (k == "sql") {
            if (!val.is_string() || val.as_string().empty())
                return bad("sql must be a non-empty string");
            req.sql = std::string(val.as_string());
        } else if (k == "params") {
            if (!val.is_array()) return bad("params must be an array ($1, $2, …)");
            for (const auto& p : val.as_array()) {
                if (p.is_null())
                    req.params.emplace_back(std::nullopt);
                else if (p.is_string())
                    req.params.emplace_back(std::string(p.as_string()));
                else
                    req.params.emplace_back(boost::json::serialize(p));
            }
        } else if (k == "throttle_ms") {
            if (!val.is_int64() && !val.is_uint64())
                return bad("throttle_ms must be a whole number of milliseconds (0 or more)");
            const auto ms =
                val.is_int64() ? val.as_int64() : static_cast<std::int64_t>(val.as_uint64());
            if (ms < 0 || ms > 3'600'000) return bad("throttle_ms must be between 0 and 3600000");
            req.throttle_ms = static_cast<std::uint32_t>(ms);
        } else if (k == "key") {
            if (val.is_string()) {
                req.key.emplace_back(val.as_string());
            } else if (val.is_array()) {
                for (const auto& c : val.as_array()) {
                    if (!c.is_string() || c.as_string().empty())
                        return bad("key must be a column name or an array of column names");
                    req.key.emplace_back(c.as_string());
                }
            } else {
                return bad("key must be a column name or an array of column names");
            }
        } else if (k == "refresh") {
            if (!val.is_object())
                return bad("refresh must be an object of table → condition, e.g. {\"items\": "
                           "\"order_id=eq.:result/id\"}");
            for (const auto& [table, filter] : val.as_object()) {
                if (table.empty() || !filter.is_string() || filter.as_string().empty())
                    return bad("refresh maps a table name to a condition string, e.g. "
                               "{\"orders\": \"status=eq.pending\"}");
                req.refresh.push_back({std::string(table), std::string(filter.as_string())});
            }
        } else if (k == "full") {
            if (!val.is_bool()) return bad("full must be true or false");
            req.full = val.as_bool();
        } else {
            return bad("unknown key '" + std::string(k) +
                       "' (known: name, sql, params, throttle_ms, key, full, refresh)");
        }
    }
    if (req.name.empty() == req.sql.empty())
        return bad("give exactly one of name (a named query) and sql");
    return req;
}

std::shared_ptr<ChannelFeature> LiveQueryFeatureFactory::make(ChannelHandle& ch) {
    const auto& raw = ch.config().broadcast.raw;
    auto it = raw.find("live_query");
    if (it == raw.end()) return nullptr;
    auto req = parse_live_query_config(it->value());
    if (!req) return std::make_shared<RefusedLiveQuery>(req.error().message);
    return std::make_shared<LiveQueryFeature>(engine_, subscriptions_, std::move(req).value(), ch);
}

} // namespace walcast::protocol::phoenix
