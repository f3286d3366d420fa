#include "protocol/phoenix/phoenix_session.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"
#include "protocol/phoenix/postgres_changes_sink.hpp"

#include <boost/json/serialize.hpp>

namespace walcast::protocol::phoenix {

namespace {

std::string_view subtopic(std::string_view topic) {
    constexpr std::string_view prefix = "realtime:";
    return topic.substr(topic.starts_with(prefix) ? prefix.size() : 0);
}

core::IdentityPtr identity_of(const auth::Claims& c) {
    return std::make_shared<const core::Identity>(core::Identity{c.role, c.json, c.identity_key});
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
        UpgradeAccept accept;
        accept.idle_timeout = idle_timeout;
        accept.idle_close_reason = "no heartbeat for 60 s";
        accept.make_session = [&ctx, vsn = *vsn, claims = std::move(claims),
                               token = std::move(token)](const std::shared_ptr<ConnectionIo>& io) {
            return std::make_unique<PhoenixSession>(io, ctx, vsn, claims, token);
        };
        return accept;
    };
}

PhoenixSession::PhoenixSession(const std::shared_ptr<ConnectionIo>& io, PhoenixContext& ctx,
                               Vsn vsn, std::shared_ptr<const auth::Claims> socket_claims,
                               std::string socket_token)
    : io_(*io), io_weak_(io), ctx_(ctx), vsn_(vsn), socket_claims_(std::move(socket_claims)),
      socket_token_(std::move(socket_token)) {}

PhoenixSession::~PhoenixSession() = default;

void PhoenixSession::on_binary(std::string_view payload) {
    // realtime-js sends binary frames only for broadcasts (kind 3), which walcast does not
    // serve yet; a well-formed one is acknowledged only by the log, like any unknown event.
    auto m = decode_binary(vsn_, payload);
    if (!m) {
        ctx_.metrics.frames_ignored.inc();
        log::debug("ignoring a binary frame: {}", m.error().message);
    } else {
        log::debug("ignoring a broadcast on {}: broadcast is not supported yet", m->topic);
    }
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

void PhoenixSession::on_text(std::string_view payload) {
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
    // Broadcast and Presence come later; answer pushes that expect a reply so that the client
    // does not wait for a timeout.
    if (m.ref)
        reply(
            m, it->second.join_ref, ReplyStatus::Error,
            R"({"reason":"walcast does not support this event yet; only Postgres Changes are served"})");
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
    io_.post_after(std::chrono::milliseconds(delay),
                   [this, frame = std::move(frame)] { io_.send_text({frame}); });
}

void PhoenixSession::handle_join(InboundMessage& m) {
    const std::string topic = m.topic;
    if (!topic.starts_with("realtime:")) {
        io_.send_text(
            {encode_unmatched_topic(vsn_, m.ref ? OptionalRef(*m.ref) : std::nullopt, m.topic)});
        return;
    }
    if (topic == "realtime:")
        return join_error(m, "TopicNameRequired: You must provide a topic name");
    ctx_.metrics.joins.inc();
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

    std::vector<boost::json::object> bindings;
    bool wait = false;
    if (const auto* config = payload.if_contains("config"); config && config->is_object()) {
        const auto& cfg = config->get_object();
        if (const auto* pc = cfg.if_contains("postgres_changes"); pc && pc->is_array())
            for (const auto& b : pc->get_array())
                if (b.is_object()) bindings.push_back(b.get_object());
        if (const auto* opts = cfg.if_contains("postgres_changes_options");
            opts && opts->is_object())
            if (const auto* w = opts->get_object().if_contains("wait"); w && w->is_bool())
                wait = w->get_bool();
    }

    Channel ch;
    ch.join_ref = m.join_ref ? *m.join_ref : (m.ref ? *m.ref : std::string());
    ch.sink = std::make_shared<PostgresChangesSink>(io_weak_, vsn_, topic);
    ch.claims = claims;
    ch.token = token;
    ch.join_seq = ++join_seq_;
    ctx_.metrics.channels.add();

    if (bindings.empty()) {
        ch.joined = true;
        auto& stored = channels_[topic] = std::move(ch);
        stored.sink->open(
            [&] { reply(m, stored.join_ref, ReplyStatus::Ok, R"({"postgres_changes":[]})"); });
        update_min_exp();
        return;
    }

    const auto seq = ch.join_seq;
    core::SubscribeRequest req{topic, bindings, identity_of(*claims), ch.sink};
    channels_[topic] = std::move(ch);
    update_min_exp();
    // The connection (and with it this session) stays alive until the outcome is handled on
    // the strand, which also unsubscribes it if the channel is gone by then.
    ctx_.subscriptions.subscribe(std::move(req), [io = io_weak_.lock(), this, topic, seq,
                                                  ref = m.ref, bindings = std::move(bindings),
                                                  wait](core::SubscribeOutcome o) mutable {
        if (!io) {
            if (o.subscription) ctx_.subscriptions.unsubscribe(o.subscription);
            return;
        }
        io->post([this, topic, seq, ref = std::move(ref), bindings = std::move(bindings), wait,
                  o = std::move(o)]() mutable {
            on_subscribed(topic, seq, std::move(ref), std::move(bindings), wait, std::move(o));
        });
    });
}

void PhoenixSession::on_subscribed(const std::string& topic, std::uint64_t join_seq,
                                   std::optional<std::string> ref,
                                   std::vector<boost::json::object> bindings, bool wait,
                                   core::SubscribeOutcome o) {
    auto it = channels_.find(topic);
    if (closed_ || it == channels_.end() || it->second.join_seq != join_seq) {
        // The channel was left or replaced while its bindings were being set up.
        if (o.subscription) ctx_.subscriptions.unsubscribe(o.subscription);
        return;
    }
    Channel& ch = it->second;
    InboundMessage m;
    m.topic = topic;
    m.ref = std::move(ref);
    if (o.error && wait) {
        // With postgres_changes_options.wait the join itself fails (realtime-js reports
        // CHANNEL_ERROR with this reason).
        ctx_.metrics.join_errors.inc();
        std::string response = "{\"reason\":";
        json::append_string(response, o.error_code + ": " + *o.error);
        response += '}';
        reply(m, ch.join_ref, ReplyStatus::Error, response);
        drop_channel(topic, false);
        return;
    }
    ch.subscription = o.subscription;
    ch.joined = true;
    // Reply: each binding echoed unchanged plus its id, same order and count (spec §3.2).
    boost::json::array echoed;
    for (std::size_t i = 0; i < bindings.size(); ++i) {
        boost::json::object b = std::move(bindings[i]);
        b["id"] = i < o.ids.size() ? o.ids[i] : 0;
        echoed.emplace_back(std::move(b));
    }
    boost::json::object response;
    response["postgres_changes"] = std::move(echoed);
    const std::string response_json = boost::json::serialize(response);
    ch.sink->open([&] {
        reply(m, ch.join_ref, ReplyStatus::Ok, response_json);
        if (o.error) {
            push_system(topic, ch, "postgres_changes", "error", *o.error);
        } else {
            push_system(topic, ch, "postgres_changes", "ok", "Subscribed to PostgreSQL");
        }
    });
}

void PhoenixSession::push_system(const std::string& topic, const Channel& ch,
                                 std::string_view extension, std::string_view status,
                                 std::string_view message) {
    std::string payload = "{\"channel\":";
    json::append_string(payload, subtopic(topic));
    payload += ",\"extension\":";
    json::append_string(payload, extension);
    payload += ",\"message\":";
    json::append_string(payload, message);
    payload += ",\"status\":";
    json::append_string(payload, status);
    payload += '}';
    io_.send_text({encode_push(vsn_, OptionalRef(ch.join_ref), topic, event::system, payload)});
}

void PhoenixSession::handle_leave(const InboundMessage& m) {
    auto it = channels_.find(m.topic);
    std::optional<std::string> join_ref = m.join_ref;
    if (it != channels_.end()) join_ref = it->second.join_ref;
    reply(m, join_ref, ReplyStatus::Ok, "{}");
    if (it != channels_.end()) drop_channel(m.topic, true);
}

void PhoenixSession::handle_access_token(const InboundMessage& m) {
    auto it = channels_.find(m.topic);
    if (it == channels_.end() || !it->second.joined) return;
    Channel& ch = it->second;
    if (!m.payload.is_object()) return;
    const auto* tok = m.payload.get_object().if_contains("access_token");
    // Ignored: null, the same token, an sb_ key (spec §9). No reply in any case.
    if (!tok || !tok->is_string()) return;
    std::string token(tok->get_string());
    if (token == ch.token || token.starts_with("sb_")) return;
    auto v = ctx_.verifier.verify(token, now_unix_us() / 1'000'000);
    if (!v) {
        push_system(m.topic, ch, "system", "error", v.failure().system_message());
        drop_channel(m.topic, true);
        return;
    }
    ch.claims = std::make_shared<const auth::Claims>(std::move(v).claims());
    ch.token = std::move(token);
    if (ch.subscription) ch.subscription->set_identity(identity_of(*ch.claims));
    update_min_exp();
}

void PhoenixSession::drop_channel(const std::string& topic, bool send_close) {
    auto it = channels_.find(topic);
    if (it == channels_.end()) return;
    Channel& ch = it->second;
    if (ch.subscription) ctx_.subscriptions.unsubscribe(ch.subscription);
    ch.sink->close();
    if (send_close) io_.send_text({encode_close(vsn_, OptionalRef(ch.join_ref), topic)});
    channels_.erase(it);
    ctx_.metrics.channels.sub();
    update_min_exp();
}

void PhoenixSession::update_min_exp() {
    std::int64_t min = 0;
    for (const auto& [topic, ch] : channels_)
        if (ch.claims && (min == 0 || ch.claims->exp < min)) min = ch.claims->exp;
    min_exp_ = min;
}

void PhoenixSession::on_sweep(std::chrono::steady_clock::time_point, std::int64_t now_unix_s) {
    std::vector<std::string> expired;
    for (const auto& [topic, ch] : channels_)
        if (ch.claims && ch.claims->exp <= now_unix_s) expired.push_back(topic);
    for (const auto& topic : expired) {
        const Channel& ch = channels_.at(topic);
        push_system(topic, ch, "system", "error",
                    auth::TokenFailure::expired(ch.claims->exp, now_unix_s).system_message());
        drop_channel(topic, true);
    }
}

} // namespace walcast::protocol::phoenix
