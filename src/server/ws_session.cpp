#include "server/ws_session.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"
#include "server/postgres_changes_sink.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cerrno>
#include <sys/socket.h>

namespace walcast::server {

namespace asio = boost::asio;
namespace phx = protocol::phoenix;

namespace {

/// Phoenix closes a socket that sent nothing for this long (spec §1.5, WebSocket timeout).
constexpr std::int64_t idle_timeout_ms = 60'000;
/// A close handshake the peer does not finish within this time ends with the socket shut.
constexpr std::int64_t close_grace_ms = 2'000;
/// Output buffers above this capacity are released when they drain (idle memory stays small).
constexpr std::size_t keep_buffer_capacity_bytes = 16 * 1024;
/// Bytes read from the socket per system call.
constexpr std::size_t read_chunk_bytes = 64 * 1024;

/// Frees a drained output buffer that grew beyond keep_buffer_capacity_bytes.
void release_if_large(std::string& drained) {
    if (drained.capacity() > keep_buffer_capacity_bytes) std::string().swap(drained);
}

std::int64_t steady_ms(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
std::int64_t steady_now_ms() {
    return steady_ms(std::chrono::steady_clock::now());
}

std::string_view subtopic(std::string_view topic) {
    constexpr std::string_view prefix = "realtime:";
    return topic.substr(topic.starts_with(prefix) ? prefix.size() : 0);
}

core::IdentityPtr identity_of(const auth::Claims& c) {
    return std::make_shared<const core::Identity>(core::Identity{c.role, c.json, c.identity_key});
}

} // namespace

WsSession::WsSession(tcp::socket socket, ServerContext& ctx, phx::Vsn vsn,
                     std::shared_ptr<const auth::Claims> socket_claims, std::string socket_token,
                     std::string initial_bytes)
    : socket_(std::move(socket)), ctx_(ctx), vsn_(vsn), socket_claims_(std::move(socket_claims)),
      socket_token_(std::move(socket_token)), initial_bytes_(std::move(initial_bytes)) {
    last_rx_ms_ = steady_now_ms();
    ctx_.metrics.connections.add();
}

WsSession::~WsSession() {
    ctx_.metrics.connections.sub();
    ctx_.sessions.remove(this);
}

void WsSession::start() {
    ctx_.sessions.add(shared_from_this());
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(tcp::no_delay(true), ec);
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (!self->initial_bytes_.empty()) {
            std::string bytes = std::move(self->initial_bytes_);
            if (!self->feed(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size())) return;
        }
        self->do_read();
    });
    update_min_exp();
}

// ---------------------------------------------------------------- reading

void WsSession::do_read() {
    if (torn_down_) return;
    // Wait for readability instead of reading into a per-connection buffer: an idle
    // connection then owns no read buffer at all (spec target: ≤ 8 KB per idle connection).
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->on_readable(ec);
                       });
}

void WsSession::on_readable(const boost::system::error_code& ec) {
    if (ec) return teardown();
    thread_local std::array<std::uint8_t, read_chunk_bytes> buf;
    for (;;) {
        boost::system::error_code rec;
        std::size_t n = socket_.read_some(asio::buffer(buf), rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) break;
        if (rec) return teardown(); // EOF or reset
        last_rx_ms_ = steady_now_ms();
        if (!feed(buf.data(), n)) return;
        if (n < buf.size()) break;
    }
    do_read();
}

bool WsSession::feed(std::uint8_t* data, std::size_t n) {
    std::span<std::uint8_t> input(data, n);
    while (!input.empty() && !torn_down_) {
        auto r = parser_.parse(input);
        if (!r) {
            log::info("closing a WebSocket after a framing error: {}", r.error().message);
            close(r.error().close_code, r.error().message);
            return false;
        }
        input = input.subspan(r->consumed);
        if (r->message) handle_frame(*r->message);
    }
    return !torn_down_;
}

void WsSession::handle_frame(const WebSocketMessage& msg) {
    switch (msg.kind) {
    case WebSocketMessage::Kind::Text:
        handle_text(msg.payload);
        break;
    case WebSocketMessage::Kind::Binary: {
        // realtime-js sends binary frames only for broadcasts (kind 3), which walcast does not
        // serve yet; a well-formed one is acknowledged only by the log, like any unknown event.
        auto m = phx::decode_binary(vsn_, msg.payload);
        if (!m) {
            ctx_.metrics.frames_ignored.inc();
            log::debug("ignoring a binary frame: {}", m.error().message);
        } else {
            log::debug("ignoring a broadcast on {}: broadcast is not supported yet", m->topic);
        }
        break;
    }
    case WebSocketMessage::Kind::Ping: {
        std::string payload(msg.payload);
        std::array<std::uint8_t, max_server_frame_header_bytes> hdr;
        std::size_t h = write_frame_header(hdr.data(), Opcode::Pong, payload.size());
        std::lock_guard lock(out_mu_);
        if (output_closed_) break;
        pending_.append(reinterpret_cast<const char*>(hdr.data()), h);
        pending_ += payload;
        if (!writing_) {
            writing_ = true;
            asio::post(socket_.get_executor(),
                       [self = shared_from_this()] { self->start_write(); });
        }
        break;
    }
    case WebSocketMessage::Kind::Pong:
        break;
    case WebSocketMessage::Kind::Close:
        close_received_ = true;
        close(msg.close_code == close_code::no_status ? close_code::normal : msg.close_code, "");
        break;
    }
}

// ---------------------------------------------------------------- Phoenix

void WsSession::reply(const phx::InboundMessage& m, const std::optional<std::string>& join_ref,
                      phx::ReplyStatus status, std::string_view response_json) {
    auto frame = phx::encode_reply(vsn_, join_ref ? phx::OptionalRef(*join_ref) : std::nullopt,
                                   m.ref ? phx::OptionalRef(*m.ref) : std::nullopt, m.topic, status,
                                   response_json);
    enqueue_text({frame});
}

void WsSession::handle_text(std::string_view payload) {
    auto decoded = phx::decode_text(vsn_, payload);
    if (!decoded) {
        ctx_.metrics.frames_ignored.inc();
        log::debug("ignoring a malformed frame: {}", decoded.error().message);
        return;
    }
    auto& m = *decoded;
    if (m.topic == phx::phoenix_topic) {
        if (m.event == phx::event::heartbeat) {
            reply(m, std::nullopt, phx::ReplyStatus::Ok, "{}");
        } else {
            enqueue_text({phx::encode_unmatched_topic(
                vsn_, m.ref ? phx::OptionalRef(*m.ref) : std::nullopt, m.topic)});
        }
        return;
    }
    if (m.event == phx::event::phx_join) return handle_join(m);
    if (m.event == phx::event::phx_leave) return handle_leave(m);
    auto it = channels_.find(m.topic);
    if (it == channels_.end()) {
        enqueue_text({phx::encode_unmatched_topic(
            vsn_, m.ref ? phx::OptionalRef(*m.ref) : std::nullopt, m.topic)});
        return;
    }
    if (m.event == phx::event::access_token) return handle_access_token(m);
    // Broadcast and Presence come later; answer pushes that expect a reply so that the client
    // does not wait for a timeout.
    if (m.ref)
        reply(
            m, it->second.join_ref, phx::ReplyStatus::Error,
            R"({"reason":"walcast does not support this event yet; only Postgres Changes are served"})");
}

void WsSession::join_error(const phx::InboundMessage& m, std::string reason) {
    ctx_.metrics.join_errors.inc();
    std::string response = "{\"reason\":";
    json::append_string(response, reason);
    response += '}';
    auto frame = phx::encode_reply(vsn_, m.join_ref ? phx::OptionalRef(*m.join_ref) : std::nullopt,
                                   m.ref ? phx::OptionalRef(*m.ref) : std::nullopt, m.topic,
                                   phx::ReplyStatus::Error, response);
    // Deliberate delay before a join error (spec §3.6, CHANNEL_ERROR_BACKOFF_MS) so that a
    // misconfigured client's automatic rejoins cannot hammer the server.
    auto delay = ctx_.config.channel_error_backoff_ms;
    if (delay == 0) {
        enqueue_text({frame});
        return;
    }
    auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor(),
                                                      std::chrono::milliseconds(delay));
    timer->async_wait([self = shared_from_this(), timer, frame = std::move(frame)](
                          const boost::system::error_code&) { self->enqueue_text({frame}); });
}

void WsSession::handle_join(phx::InboundMessage& m) {
    const std::string topic = m.topic;
    if (!topic.starts_with("realtime:")) {
        enqueue_text({phx::encode_unmatched_topic(
            vsn_, m.ref ? phx::OptionalRef(*m.ref) : std::nullopt, m.topic)});
        return;
    }
    if (topic == "realtime:")
        return join_error(m, "TopicNameRequired: You must provide a topic name");
    ctx_.metrics.joins.inc();
    // Joining a joined topic again: the old channel ends (phx_close with its join ref) and
    // the new join proceeds (spec §2.4).
    if (channels_.count(topic)) drop_channel(topic, true);
    if (channels_.size() >= ctx_.config.max_channels_per_client)
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
    ch.sink = std::make_shared<PostgresChangesSink>(weak_from_this(), vsn_, topic);
    ch.claims = claims;
    ch.token = token;
    ch.join_seq = ++join_seq_;
    ctx_.metrics.channels.add();

    if (bindings.empty()) {
        ch.joined = true;
        auto& stored = channels_[topic] = std::move(ch);
        stored.sink->open(
            [&] { reply(m, stored.join_ref, phx::ReplyStatus::Ok, R"({"postgres_changes":[]})"); });
        update_min_exp();
        return;
    }

    const auto seq = ch.join_seq;
    core::SubscribeRequest req{topic, bindings, identity_of(*claims), ch.sink};
    channels_[topic] = std::move(ch);
    update_min_exp();
    ctx_.subscriptions.subscribe(std::move(req), [self = shared_from_this(), topic, seq,
                                                  ref = m.ref, bindings = std::move(bindings),
                                                  wait](core::SubscribeOutcome o) mutable {
        asio::post(self->socket_.get_executor(),
                   [self, topic, seq, ref = std::move(ref), bindings = std::move(bindings), wait,
                    o = std::move(o)]() mutable {
                       self->on_subscribed(topic, seq, std::move(ref), std::move(bindings), wait,
                                           std::move(o));
                   });
    });
}

void WsSession::on_subscribed(const std::string& topic, std::uint64_t join_seq,
                              std::optional<std::string> ref,
                              std::vector<boost::json::object> bindings, bool wait,
                              core::SubscribeOutcome o) {
    auto it = channels_.find(topic);
    if (torn_down_ || it == channels_.end() || it->second.join_seq != join_seq) {
        // The channel was left or replaced while its bindings were being set up.
        if (o.subscription) ctx_.subscriptions.unsubscribe(o.subscription);
        return;
    }
    Channel& ch = it->second;
    phx::InboundMessage m;
    m.topic = topic;
    m.ref = std::move(ref);
    if (o.error && wait) {
        // With postgres_changes_options.wait the join itself fails (realtime-js reports
        // CHANNEL_ERROR with this reason).
        ctx_.metrics.join_errors.inc();
        std::string response = "{\"reason\":";
        json::append_string(response, o.error_code + ": " + *o.error);
        response += '}';
        reply(m, ch.join_ref, phx::ReplyStatus::Error, response);
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
        reply(m, ch.join_ref, phx::ReplyStatus::Ok, response_json);
        if (o.error) {
            push_system(topic, ch, "postgres_changes", "error", *o.error);
        } else {
            push_system(topic, ch, "postgres_changes", "ok", "Subscribed to PostgreSQL");
        }
    });
}

void WsSession::push_system(const std::string& topic, const Channel& ch, std::string_view extension,
                            std::string_view status, std::string_view message) {
    std::string payload = "{\"channel\":";
    json::append_string(payload, subtopic(topic));
    payload += ",\"extension\":";
    json::append_string(payload, extension);
    payload += ",\"message\":";
    json::append_string(payload, message);
    payload += ",\"status\":";
    json::append_string(payload, status);
    payload += '}';
    enqueue_text({phx::encode_push(vsn_, phx::OptionalRef(ch.join_ref), topic, phx::event::system,
                                   payload)});
}

void WsSession::handle_leave(const phx::InboundMessage& m) {
    auto it = channels_.find(m.topic);
    std::optional<std::string> join_ref = m.join_ref;
    if (it != channels_.end()) join_ref = it->second.join_ref;
    reply(m, join_ref, phx::ReplyStatus::Ok, "{}");
    if (it != channels_.end()) drop_channel(m.topic, true);
}

void WsSession::handle_access_token(const phx::InboundMessage& m) {
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

void WsSession::drop_channel(const std::string& topic, bool send_close) {
    auto it = channels_.find(topic);
    if (it == channels_.end()) return;
    Channel& ch = it->second;
    if (ch.subscription) ctx_.subscriptions.unsubscribe(ch.subscription);
    ch.sink->close();
    if (send_close) enqueue_text({phx::encode_close(vsn_, phx::OptionalRef(ch.join_ref), topic)});
    channels_.erase(it);
    ctx_.metrics.channels.sub();
    update_min_exp();
}

void WsSession::update_min_exp() {
    std::int64_t min = 0;
    for (const auto& [topic, ch] : channels_)
        if (ch.claims && (min == 0 || ch.claims->exp < min)) min = ch.claims->exp;
    min_exp_ = min;
}

void WsSession::expire_tokens(std::int64_t now_unix_s) {
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

// ---------------------------------------------------------------- writing

std::size_t WsSession::append_locked(std::initializer_list<std::string_view> parts,
                                     bool data_frame) {
    std::size_t len = 0;
    for (auto p : parts)
        len += p.size();
    std::array<std::uint8_t, max_server_frame_header_bytes> hdr;
    const std::size_t h = write_frame_header(hdr.data(), Opcode::Text, len);
    pending_.append(reinterpret_cast<const char*>(hdr.data()), h);
    for (auto p : parts)
        pending_.append(p);
    if (data_frame) ++pending_data_frames_;
    const std::size_t queued = pending_.size() + inflight_.size();
    if (queued > ctx_.config.client_queue_soft_bytes && soft_since_ms_ == 0)
        soft_since_ms_ = steady_now_ms();
    return queued;
}

bool WsSession::enqueue_text(std::initializer_list<std::string_view> parts, bool data_frame) {
    bool post_write = false;
    std::size_t queued = 0;
    {
        std::lock_guard lock(out_mu_);
        if (output_closed_) return false;
        queued = append_locked(parts, data_frame);
        if (!writing_ && queued <= ctx_.config.client_queue_hard_bytes) {
            writing_ = true;
            post_write = true;
        }
    }
    if (data_frame) ctx_.metrics.messages_delivered.inc();
    if (queued > ctx_.config.client_queue_hard_bytes) {
        cut_off_over_hard_limit(queued);
    } else if (post_write) {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->start_write(); });
    }
    return true;
}

namespace {
/// The sessions append_deferred() touched on this thread since the last flush.
thread_local std::vector<std::shared_ptr<WsSession>> t_batched;
} // namespace

void WsSession::append_deferred(std::initializer_list<std::string_view> parts) {
    std::size_t queued = 0;
    bool join_batch = false;
    {
        std::lock_guard lock(out_mu_);
        if (output_closed_) return;
        queued = append_locked(parts, true);
        if (!batched_) {
            batched_ = true;
            join_batch = true;
        }
    }
    ctx_.metrics.messages_delivered.inc();
    if (join_batch) t_batched.push_back(shared_from_this());
    if (queued > ctx_.config.client_queue_hard_bytes) cut_off_over_hard_limit(queued);
}

void WsSession::cut_off_over_hard_limit(std::size_t queued) {
    cut_off_slow("client too slow: " + std::to_string(queued) +
                 " bytes queued, over the hard limit of " +
                 std::to_string(ctx_.config.client_queue_hard_bytes));
}

void WsSession::flush_thread_deliveries() {
    // Sending from this thread beats handing part of the batch to the I/O threads: measured
    // with bench/fanout.sh (1,000 clients, 100 changes/s), splitting a batch across them raised
    // p99 from 9.5-10.5 ms to 13.6-17.4 ms (bench/README.md, Fan-out).
    std::vector<std::shared_ptr<WsSession>> batch;
    batch.swap(t_batched);
    for (const auto& s : batch)
        s->flush_direct();
    batch.clear();
    if (t_batched.empty()) t_batched.swap(batch); // keep the capacity for the next round
}

void WsSession::flush_direct() {
    std::unique_lock lock(out_mu_);
    batched_ = false;
    if (writing_ || output_closed_ || pending_.empty()) return;
    // No write is in flight: send from this thread. out_mu_ is held and teardown closes the
    // socket only after setting output_closed_ under out_mu_, so the descriptor stays ours
    // for this call. Whatever the kernel does not take continues on the strand.
    const ssize_t n = ::send(socket_.native_handle(), pending_.data(), pending_.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(pending_.size())) {
        pending_.clear();
        pending_data_frames_ = 0;
        soft_since_ms_ = 0;
        release_if_large(pending_);
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The connection is gone; the strand's read side will notice and tear down.
        pending_.clear();
        output_closed_ = true;
        return;
    }
    if (n > 0) pending_.erase(0, static_cast<std::size_t>(n));
    writing_ = true;
    lock.unlock();
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->start_write(); });
}

void WsSession::start_write() {
    {
        std::lock_guard lock(out_mu_);
        if (torn_down_ || pending_.empty()) {
            writing_ = false;
            return;
        }
        inflight_.swap(pending_);
        pending_data_frames_ = 0;
    }
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t n) { self->on_written(ec, n); });
}

void WsSession::on_written(const boost::system::error_code& ec, std::size_t) {
    if (ec) return teardown();
    bool more = false;
    bool finished_close = false;
    {
        std::lock_guard lock(out_mu_);
        inflight_.clear();
        release_if_large(inflight_);
        if (pending_.size() <= ctx_.config.client_queue_soft_bytes) soft_since_ms_ = 0;
        if (!pending_.empty()) {
            more = true;
        } else {
            writing_ = false;
            release_if_large(pending_);
            finished_close = output_closed_;
        }
    }
    if (more) return start_write();
    if (finished_close) {
        // Our close frame is out. If the peer already closed, we are done; otherwise wait for
        // its close frame (the read loop) until the grace period ends (sweep).
        boost::system::error_code ignored;
        if (close_received_) return teardown();
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }
}

void WsSession::close(std::uint16_t code, std::string reason) {
    std::string payload = close_payload(code, reason);
    std::array<std::uint8_t, max_server_frame_header_bytes> hdr;
    const std::size_t h = write_frame_header(hdr.data(), Opcode::Close, payload.size());
    bool post_write = false;
    {
        std::lock_guard lock(out_mu_);
        if (output_closed_) return;
        output_closed_ = true;
        pending_.append(reinterpret_cast<const char*>(hdr.data()), h);
        pending_ += payload;
        close_deadline_ms_ = steady_now_ms() + close_grace_ms;
        if (!writing_) {
            writing_ = true;
            post_write = true;
        }
    }
    if (post_write)
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->start_write(); });
}

void WsSession::cut_off_slow(std::string reason) {
    std::size_t dropped = 0;
    {
        std::lock_guard lock(out_mu_);
        if (output_closed_) return;
        // Whatever has not reached the socket is discarded (counted), so the close frame is
        // next in line; what is in flight already belongs to the kernel.
        dropped = pending_data_frames_;
        pending_data_frames_ = 0;
        pending_.clear();
        std::string().swap(pending_);
    }
    ctx_.metrics.slow_disconnects.inc();
    ctx_.metrics.messages_dropped.inc(dropped);
    log::warn("disconnecting a slow client ({}); {} queued messages dropped", reason, dropped);
    close(slow_client_close_code, reason);
}

std::size_t WsSession::queued_bytes() const {
    std::lock_guard lock(out_mu_);
    return pending_.size() + inflight_.size();
}

void WsSession::sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s) {
    const std::int64_t now_ms = steady_ms(now);
    bool soft_expired = false;
    bool close_overdue = false;
    {
        std::lock_guard lock(out_mu_);
        soft_expired =
            !output_closed_ && soft_since_ms_ != 0 &&
            now_ms - soft_since_ms_ >= std::int64_t(ctx_.config.client_queue_soft_seconds) * 1000;
        close_overdue = close_deadline_ms_ != 0 && now_ms >= close_deadline_ms_;
    }
    if (close_overdue) {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->teardown(); });
        return;
    }
    if (soft_expired) {
        cut_off_slow("client too slow: outgoing queue above " +
                     std::to_string(ctx_.config.client_queue_soft_bytes) + " bytes for " +
                     std::to_string(ctx_.config.client_queue_soft_seconds) + " s");
        return;
    }
    if (now_ms - last_rx_ms_.load() > idle_timeout_ms) {
        close(close_code::normal, "no heartbeat for 60 s");
        return;
    }
    const std::int64_t exp = min_exp_.load();
    if (exp != 0 && exp <= now_unix_s)
        asio::post(socket_.get_executor(),
                   [self = shared_from_this(), now_unix_s] { self->expire_tokens(now_unix_s); });
}

void WsSession::teardown() {
    if (torn_down_) return;
    torn_down_ = true;
    std::vector<std::string> topics;
    for (const auto& [topic, ch] : channels_)
        topics.push_back(topic);
    for (const auto& t : topics)
        drop_channel(t, false);
    {
        std::lock_guard lock(out_mu_);
        output_closed_ = true;
        pending_.clear();
    }
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    ctx_.sessions.remove(this);
}

} // namespace walcast::server
