#include "protocol/phoenix/phoenix_session.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/channel_permissions.hpp"
#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <map>

namespace walcast::protocol::phoenix {

namespace {

std::string_view subtopic(std::string_view topic) {
    constexpr std::string_view prefix = "realtime:";
    return topic.substr(topic.starts_with(prefix) ? prefix.size() : 0);
}

} // namespace

PhoenixMetrics::PhoenixMetrics(MetricsRegistry& r)
    : channels(r.gauge("walcast_channels", "joined channels")),
      frames_ignored(
          r.counter("walcast_frames_ignored_total", "malformed client frames logged and ignored")),
      joins(r.counter("walcast_joins_total", "channel joins received")),
      join_errors(r.counter("walcast_join_errors_total", "channel joins answered with an error")) {}

UpgradeHandler upgrade_handler(PhoenixContext& ctx) {
    return [&ctx](const UpgradeRequest& req) -> UpgradeDecision {
        // Unsupported serializer version: Phoenix answers 403 with an empty body (spec §1.2).
        auto vsn_text = req.query("vsn");
        auto vsn = parse_vsn(vsn_text ? std::optional<std::string_view>(*vsn_text) : std::nullopt);
        if (!vsn) return UpgradeRefuse{403, ""};
        // Socket token: x-api-key header, else the apikey parameter (spec §1.3).
        std::string token;
        if (auto h = req.header("x-api-key")) {
            token = std::move(*h);
        } else if (auto apikey = req.query("apikey")) {
            token = std::move(*apikey);
        } else {
            auto f = auth::TokenFailure::missing();
            return UpgradeRefuse{f.http_status(), f.http_body()};
        }
        auto verified = ctx.verifier.verify(token, now_unix_us() / 1'000'000);
        if (!verified) {
            const auto& f = verified.failure();
            log::info("refusing a WebSocket connection: {}", f.to_error().message);
            return UpgradeRefuse{f.http_status(), f.http_body()};
        }
        auto claims = std::make_shared<const auth::Claims>(std::move(verified).claims());
        // Kept for private channel policies, which read them as request.headers (spec §7.3.2).
        std::string headers = request_headers_json(req.each_header, true);
        UpgradeAccept accept;
        accept.idle_timeout = idle_timeout;
        accept.idle_close_reason = "no heartbeat for 60 s";
        accept.make_session =
            [&ctx, vsn = *vsn, claims = std::move(claims), token = std::move(token),
             headers = std::move(headers)](const std::shared_ptr<ConnectionIo>& io) {
                return std::make_unique<PhoenixSession>(io, ctx, vsn, claims, token, headers);
            };
        return accept;
    };
}

/// One joined or joining channel: the generic part (refs, token, expiry) and its features.
class PhoenixSession::Channel final : public ChannelHandle {
public:
    Channel(PhoenixSession& s, std::string topic, std::string join_ref, JoinConfig config,
            std::shared_ptr<const auth::Claims> claims, std::string token, std::uint64_t seq)
        : session(s), join_seq(seq), topic_(std::move(topic)), join_ref_(std::move(join_ref)),
          config_(std::move(config)), claims_(std::move(claims)), token_(std::move(token)) {}

    const std::string& topic() const override { return topic_; }
    const std::string& join_ref() const override { return join_ref_; }
    Vsn vsn() const override { return session.vsn_; }
    const JoinConfig& config() const override { return config_; }
    const std::shared_ptr<const auth::Claims>& claims() const override { return claims_; }
    const std::string& token() const override { return token_; }
    const std::weak_ptr<ConnectionIo>& io() const override { return session.io_weak_; }
    const std::string& request_headers_json() const override {
        return session.request_headers_json_;
    }

    void reply(const std::optional<std::string>& ref, ReplyStatus status,
               std::string_view response_json) override {
        session.io_.send_text(
            {encode_reply(session.vsn_, OptionalRef(join_ref_),
                          ref ? OptionalRef(*ref) : std::nullopt, topic_, status, response_json)});
    }
    void push(std::string_view event, std::string_view payload_json) override {
        session.io_.send_text(
            {encode_push(session.vsn_, OptionalRef(join_ref_), topic_, event, payload_json)});
    }
    void push_system(std::string_view extension, std::string_view status,
                     std::string_view message) override {
        std::string payload = "{\"channel\":";
        json::append_string(payload, subtopic(topic_));
        payload += ",\"extension\":";
        json::append_string(payload, extension);
        payload += ",\"message\":";
        json::append_string(payload, message);
        payload += ",\"status\":";
        json::append_string(payload, status);
        payload += '}';
        push(event::system, payload);
    }
    void shut_down(std::string message) override {
        // ConnectionIo::post keeps the connection, and with it the session, alive.
        session.io_.post([&s = session, topic = topic_, seq = join_seq,
                          message = std::move(message)] { s.shut_down(topic, seq, message); });
    }
    std::function<void(std::string)> shut_down_from_any_thread() const override {
        // A posted function runs only while the connection, and with it the session, lives;
        // the join sequence number makes it a no-op for a later channel on the same topic.
        return [io = session.io_weak_, &s = session, topic = topic_,
                seq = join_seq](std::string message) {
            if (auto p = io.lock())
                p->post([&s, topic, seq, message = std::move(message)] {
                    s.shut_down(topic, seq, message);
                });
        };
    }

    std::shared_ptr<void>& attachment(std::string_view name) override {
        auto it = attachments_.find(name);
        if (it == attachments_.end()) it = attachments_.emplace(std::string(name), nullptr).first;
        return it->second;
    }

    void set_token(std::shared_ptr<const auth::Claims> claims, std::string token) {
        claims_ = std::move(claims);
        token_ = std::move(token);
    }

    PhoenixSession& session;
    std::vector<std::shared_ptr<ChannelFeature>> features;
    std::vector<std::optional<FeatureJoinResult>> results; ///< per feature, while joining
    std::size_t pending = 0;                               ///< features yet to call done
    const std::uint64_t join_seq;
    bool joined = false;
    std::optional<std::string> join_push_ref; ///< the phx_join's ref, for the reply

private:
    const std::string topic_;
    const std::string join_ref_;
    const JoinConfig config_;
    std::shared_ptr<const auth::Claims> claims_;
    std::string token_;
    std::map<std::string, std::shared_ptr<void>, std::less<>> attachments_;
};

PhoenixSession::PhoenixSession(const std::shared_ptr<ConnectionIo>& io, PhoenixContext& ctx,
                               Vsn vsn, std::shared_ptr<const auth::Claims> socket_claims,
                               std::string socket_token, std::string request_headers_json)
    : io_(*io), io_weak_(io), ctx_(ctx), vsn_(vsn), socket_claims_(std::move(socket_claims)),
      socket_token_(std::move(socket_token)),
      request_headers_json_(std::move(request_headers_json)) {}

PhoenixSession::~PhoenixSession() = default;

void PhoenixSession::on_binary(std::string_view payload) {
    auto m = decode_binary(vsn_, payload);
    if (!m) {
        ctx_.metrics.frames_ignored.inc();
        log::debug("ignoring a binary frame: {}", m.error().message);
        return;
    }
    auto it = channels_.find(m->topic);
    if (it == channels_.end()) {
        io_.send_text(
            {encode_unmatched_topic(vsn_, m->ref ? OptionalRef(*m->ref) : std::nullopt, m->topic)});
        return;
    }
    Channel& ch = *it->second;
    if (ch.joined) {
        auto features = ch.features; // a feature may end the channel while handling
        for (const auto& f : features)
            if (f->on_user_broadcast(ch, *m)) return;
    }
    InboundMessage im;
    im.topic = m->topic;
    im.ref = m->ref;
    im.event = std::string(event::broadcast);
    unsupported(im, ch.join_ref());
}

bool PhoenixSession::sweep_due(std::int64_t now_unix_s) const {
    const std::int64_t exp = min_exp_.load();
    return exp != 0 && exp <= now_unix_s;
}

void PhoenixSession::on_closed() {
    if (closed_) return;
    closed_ = true;
    std::vector<std::string> topics;
    for (const auto& [topic, ch] : channels_)
        topics.push_back(topic);
    for (const auto& t : topics)
        drop_channel(t, false);
}

void PhoenixSession::reply(const InboundMessage& m, const std::optional<std::string>& join_ref,
                           ReplyStatus status, std::string_view response_json) {
    auto frame =
        encode_reply(vsn_, join_ref ? OptionalRef(*join_ref) : std::nullopt,
                     m.ref ? OptionalRef(*m.ref) : std::nullopt, m.topic, status, response_json);
    io_.send_text({frame});
}

void PhoenixSession::unsupported(const InboundMessage& m,
                                 const std::optional<std::string>& join_ref) {
    // No feature of the channel serves this event: answer pushes that expect a reply so that
    // the client does not wait for a timeout.
    if (!m.ref) return;
    std::string response = "{\"reason\":";
    json::append_string(response,
                        "walcast does not serve the event '" + m.event +
                            "' on this channel; a channel serves postgres_changes, broadcast "
                            "and presence pushes");
    response += '}';
    reply(m, join_ref, ReplyStatus::Error, response);
}

void PhoenixSession::close_socket(std::uint16_t code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    io_.close(code, std::move(reason));
}

void PhoenixSession::on_text(std::string_view payload) {
    if (closing_) return; // closed by a limit: nothing more is read
    auto decoded = decode_text(vsn_, payload);
    if (!decoded) {
        ctx_.metrics.frames_ignored.inc();
        log::debug("ignoring a malformed frame: {}", decoded.error().message);
        return;
    }
    auto& m = *decoded;
    if (m.topic == phoenix_topic) {
        if (m.event == event::heartbeat) {
            reply(m, std::nullopt, ReplyStatus::Ok, "{}");
        } else {
            io_.send_text({encode_unmatched_topic(vsn_, m.ref ? OptionalRef(*m.ref) : std::nullopt,
                                                  m.topic)});
        }
        return;
    }
    if (m.event == event::phx_join) return handle_join(m);
    if (m.event == event::phx_leave) return handle_leave(m);
    auto it = channels_.find(m.topic);
    if (it == channels_.end()) {
        io_.send_text(
            {encode_unmatched_topic(vsn_, m.ref ? OptionalRef(*m.ref) : std::nullopt, m.topic)});
        return;
    }
    if (m.event == event::access_token) return handle_access_token(m);
    Channel& ch = *it->second;
    if (ch.joined) {
        auto features = ch.features; // a feature may end the channel while handling
        for (const auto& f : features)
            if (f->on_message(ch, m)) return;
    }
    unsupported(m, ch.join_ref());
}

void PhoenixSession::join_error(const InboundMessage& m, std::string reason) {
    ctx_.metrics.join_errors.inc();
    std::string response = "{\"reason\":";
    json::append_string(response, reason);
    response += '}';
    auto frame = encode_reply(vsn_, m.join_ref ? OptionalRef(*m.join_ref) : std::nullopt,
                              m.ref ? OptionalRef(*m.ref) : std::nullopt, m.topic,
                              ReplyStatus::Error, response);
    // Deliberate delay before a join error (spec §3.6, CHANNEL_ERROR_BACKOFF_MS) so that a
    // misconfigured client's automatic rejoins cannot hammer the server.
    auto delay = ctx_.channel_error_backoff_ms;
    if (delay == 0) {
        io_.send_text({frame});
        return;
    }
    // What waits is bounded per socket: a client that keeps being refused faster than the
    // back-off lets it is closed instead (issue 11: 300k refusals held ~220 MB).
    if (pending_refusals_ + 1 > max_pending_refusals ||
        pending_refusal_bytes_ + frame.size() > max_pending_refusal_bytes) {
        close_socket(1008, "too many refused joins waiting for their reply (" +
                               std::to_string(pending_refusals_) +
                               "); wait for a join's reply before joining again");
        return;
    }
    ++pending_refusals_;
    pending_refusal_bytes_ += frame.size();
    io_.post_after(std::chrono::milliseconds(delay), [this, frame = std::move(frame)] {
        --pending_refusals_;
        pending_refusal_bytes_ -= frame.size();
        io_.send_text({frame});
    });
}

void PhoenixSession::handle_join(InboundMessage& m) {
    const std::string topic = m.topic;
    if (!topic.starts_with("realtime:")) {
        io_.send_text(
            {encode_unmatched_topic(vsn_, m.ref ? OptionalRef(*m.ref) : std::nullopt, m.topic)});
        return;
    }
    ctx_.metrics.joins.inc();
    if (ctx_.max_joins_per_second > 0) {
        const auto now = std::chrono::steady_clock::now();
        if (now - join_window_ >= std::chrono::seconds(1)) {
            join_window_ = now;
            joins_in_window_ = 0;
        }
        if (++joins_in_window_ > ctx_.max_joins_per_second) {
            // The reference's reply, at once, then the socket is told to go (spec §3.6, §8).
            ctx_.metrics.join_errors.inc();
            reply(m, m.join_ref, ReplyStatus::Error,
                  "{\"reason\":\"ClientJoinRateLimitReached: Too many joins per second\"}");
            close_socket(1001, "Too many joins per second");
            return;
        }
    }
    if (topic == "realtime:")
        return join_error(m, "TopicNameRequired: You must provide a topic name");
    // Joining a joined topic again: the old channel ends (phx_close with its join ref) and
    // the new join proceeds (spec §2.4).
    if (channels_.count(topic)) drop_channel(topic, true);
    if (channels_.size() >= ctx_.max_channels_per_client)
        return join_error(m, "ChannelRateLimitReached: Too many channels");

    const boost::json::object empty;
    const boost::json::object& payload = m.payload.is_object() ? m.payload.get_object() : empty;

    // Channel token: access_token (legacy user_token); absent or an sb_ key = the socket's
    // (spec §1.3).
    std::shared_ptr<const auth::Claims> claims = socket_claims_;
    std::string token = socket_token_;
    const boost::json::value* tok = payload.if_contains("access_token");
    if (!tok || !tok->is_string()) tok = payload.if_contains("user_token");
    if (tok && tok->is_string() && !tok->get_string().starts_with("sb_")) {
        token = std::string(tok->get_string());
        auto v = ctx_.verifier.verify(token, now_unix_us() / 1'000'000);
        if (!v) return join_error(m, v.failure().join_reason());
        claims = std::make_shared<const auth::Claims>(std::move(v).claims());
    }
    if (claims->exp <= now_unix_us() / 1'000'000)
        return join_error(
            m, auth::TokenFailure::expired(claims->exp, now_unix_us() / 1'000'000).join_reason());

    const auto seq = ++join_seq_;
    auto owned = std::make_unique<Channel>(
        *this, topic, m.join_ref ? *m.join_ref : (m.ref ? *m.ref : std::string()),
        parse_join_config(payload), std::move(claims), std::move(token), seq);
    Channel& ch = *owned;
    ch.join_push_ref = m.ref;
    channels_[topic] = std::move(owned);
    ctx_.metrics.channels.add();
    update_min_exp();
    if (ctx_.role_check && ch.config().is_private) {
        // A private channel's policies run as the token's role: the role is checked once
        // here, for every feature, before any of them joins.
        return check_role(topic, seq, ch.claims()->role,
                          [this, topic, seq](Channel& c, std::optional<std::string> refusal) {
                              if (!refusal) return start_features(topic, seq);
                              InboundMessage jm;
                              jm.topic = topic;
                              jm.ref = c.join_push_ref;
                              jm.join_ref = c.join_ref();
                              drop_channel(topic, false);
                              join_error(jm, "Unauthorized: " + *refusal);
                          });
    }
    start_features(topic, seq);
}

void PhoenixSession::check_role(const std::string& topic, std::uint64_t join_seq,
                                const std::string& role,
                                std::function<void(Channel&, std::optional<std::string>)> then) {
    ctx_.role_check(reinterpret_cast<std::uintptr_t>(io_weak_.lock().get()), role,
                    [io = io_weak_, this, topic, join_seq,
                     then = std::move(then)](std::optional<std::string> refusal) mutable {
                        // The session lives while its connection does (posted work runs only
                        // then); a channel left or replaced meanwhile ignores the answer.
                        auto p = io.lock();
                        if (!p) return;
                        p->post([this, topic, join_seq, then = std::move(then),
                                 refusal = std::move(refusal)]() mutable {
                            auto it = channels_.find(topic);
                            if (closed_ || it == channels_.end() ||
                                it->second->join_seq != join_seq)
                                return;
                            then(*it->second, std::move(refusal));
                        });
                    });
}

void PhoenixSession::start_features(const std::string& topic, std::uint64_t seq) {
    auto it = channels_.find(topic);
    if (it == channels_.end() || it->second->join_seq != seq) return;
    Channel& ch = *it->second;
    for (const auto& factory : ctx_.features)
        if (auto f = factory->make(ch)) ch.features.push_back(std::move(f));
    ch.results.resize(ch.features.size());
    ch.pending = ch.features.size();
    if (ch.features.empty()) return finish_join(ch);

    // A feature may call done before join() returns, and the last done may end the channel:
    // iterate over a copy and touch ch no more after the loop.
    auto features = ch.features;
    for (std::size_t i = 0; i < features.size(); ++i)
        features[i]->join(ch, [this, topic, seq, i](FeatureJoinResult r) {
            on_feature_joined(topic, seq, i, std::move(r));
        });
}

void PhoenixSession::on_feature_joined(const std::string& topic, std::uint64_t join_seq,
                                       std::size_t index, FeatureJoinResult result) {
    auto it = channels_.find(topic);
    // The channel was left or replaced while its features were joining (each feature
    // releases what it set up in close()).
    if (closed_ || it == channels_.end() || it->second->join_seq != join_seq) return;
    Channel& ch = *it->second;
    if (ch.joined || index >= ch.results.size() || ch.results[index]) return;
    ch.results[index] = std::move(result);
    if (--ch.pending == 0) finish_join(ch);
}

void PhoenixSession::finish_join(Channel& ch) {
    const std::string topic = ch.topic();
    InboundMessage m;
    m.topic = topic;
    m.ref = ch.join_push_ref;
    for (const auto& r : ch.results) {
        if (r && r->error) {
            // A feature refused the join (postgres_changes_options.wait with a binding error:
            // realtime-js reports CHANNEL_ERROR with this reason).
            ctx_.metrics.join_errors.inc();
            std::string response = "{\"reason\":";
            json::append_string(response, *r->error);
            response += '}';
            reply(m, ch.join_ref(), ReplyStatus::Error, response);
            drop_channel(topic, false);
            return;
        }
    }
    std::string response = "{";
    for (std::size_t i = 0; i < ch.features.size(); ++i) {
        const auto& r = ch.results[i];
        if (!r || r->reply_json.empty()) continue;
        if (response.size() > 1) response += ',';
        json::append_string(response, ch.features[i]->name());
        response += ':';
        response += r->reply_json;
    }
    response += '}';
    ch.results.clear();
    ch.joined = true;
    // Every feature holds its deliveries until the reply is queued: open them nested, the
    // reply innermost.
    std::function<void(std::size_t)> open_from = [&](std::size_t i) {
        if (i == ch.features.size()) {
            reply(m, ch.join_ref(), ReplyStatus::Ok, response);
            return;
        }
        ch.features[i]->open([&] { open_from(i + 1); });
    };
    open_from(0);
    auto features = ch.features;
    const auto seq = ch.join_seq;
    for (const auto& f : features) {
        // An after_join may end the channel (a limit); stop at once then.
        auto it = channels_.find(topic);
        if (it == channels_.end() || it->second->join_seq != seq) return;
        f->after_join(*it->second);
    }
}

void PhoenixSession::handle_leave(const InboundMessage& m) {
    auto it = channels_.find(m.topic);
    std::optional<std::string> join_ref = m.join_ref;
    if (it != channels_.end()) join_ref = it->second->join_ref();
    reply(m, join_ref, ReplyStatus::Ok, "{}");
    if (it != channels_.end()) drop_channel(m.topic, true);
}

void PhoenixSession::handle_access_token(const InboundMessage& m) {
    auto it = channels_.find(m.topic);
    if (it == channels_.end() || !it->second->joined) return;
    Channel& ch = *it->second;
    if (!m.payload.is_object()) return;
    const auto* tok = m.payload.get_object().if_contains("access_token");
    // Ignored: null, the same token, an sb_ key (spec §9). No reply in any case.
    if (!tok || !tok->is_string()) return;
    std::string token(tok->get_string());
    if (token == ch.token() || token.starts_with("sb_")) return;
    auto v = ctx_.verifier.verify(token, now_unix_us() / 1'000'000);
    if (!v) {
        ch.push_system("system", "error", v.failure().system_message());
        drop_channel(m.topic, true);
        return;
    }
    auto claims = std::make_shared<const auth::Claims>(std::move(v).claims());
    const auto seq = ch.join_seq;
    if (ctx_.role_check && ch.config().is_private && claims->role != ch.claims()->role) {
        // A new role for a private channel is checked as at join; until it passes the
        // channel keeps its old token, a refusal ends it.
        const std::string role = claims->role;
        return check_role(
            m.topic, seq, role,
            [this, topic = m.topic, claims = std::move(claims),
             token = std::move(token)](Channel& c, std::optional<std::string> refusal) mutable {
                if (refusal) return shut_down(topic, c.join_seq, *refusal);
                apply_token(topic, c.join_seq, std::move(claims), std::move(token));
            });
    }
    apply_token(m.topic, seq, std::move(claims), std::move(token));
}

void PhoenixSession::apply_token(const std::string& topic, std::uint64_t seq,
                                 std::shared_ptr<const auth::Claims> claims, std::string token) {
    auto it = channels_.find(topic);
    if (it == channels_.end() || it->second->join_seq != seq) return;
    Channel& ch = *it->second;
    ch.set_token(std::move(claims), std::move(token));
    update_min_exp();
    auto features = ch.features;
    for (const auto& f : features) {
        auto cur = channels_.find(topic);
        if (cur == channels_.end() || cur->second->join_seq != seq) return;
        f->on_token_refreshed(*cur->second);
    }
}

void PhoenixSession::drop_channel(const std::string& topic, bool send_close) {
    auto it = channels_.find(topic);
    if (it == channels_.end()) return;
    std::unique_ptr<Channel> ch = std::move(it->second);
    channels_.erase(it);
    for (const auto& f : ch->features)
        f->close();
    if (send_close) io_.send_text({encode_close(vsn_, OptionalRef(ch->join_ref()), topic)});
    ctx_.metrics.channels.sub();
    update_min_exp();
}

void PhoenixSession::shut_down(const std::string& topic, std::uint64_t join_seq,
                               const std::string& message) {
    auto it = channels_.find(topic);
    if (closed_ || it == channels_.end() || it->second->join_seq != join_seq) return;
    it->second->push_system("system", "error", message);
    drop_channel(topic, true);
}

void PhoenixSession::update_min_exp() {
    std::int64_t min = 0;
    for (const auto& [topic, ch] : channels_)
        if (ch->claims() && (min == 0 || ch->claims()->exp < min)) min = ch->claims()->exp;
    min_exp_ = min;
}

void PhoenixSession::on_sweep(std::chrono::steady_clock::time_point, std::int64_t now_unix_s) {
    std::vector<std::string> expired;
    for (const auto& [topic, ch] : channels_)
        if (ch->claims() && ch->claims()->exp <= now_unix_s) expired.push_back(topic);
    for (const auto& topic : expired) {
        Channel& ch = *channels_.at(topic);
        ch.push_system("system", "error",
                       auth::TokenFailure::expired(ch.claims()->exp, now_unix_s).system_message());
        drop_channel(topic, true);
    }
}

} // namespace walcast::protocol::phoenix
