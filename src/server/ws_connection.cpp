#include "server/ws_connection.hpp"

#include "common/logging.hpp"
#include "common/utf8.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace walcast::server {

namespace asio = boost::asio;

namespace {

/// Bytes read from the socket per system call.
constexpr std::size_t read_chunk_bytes = 64 * 1024;
/// Reads per readiness event: a peer that keeps its socket full (a ping or message flood) is
/// served in turns with the other connections of the I/O thread instead of holding it.
constexpr int max_reads_per_wakeup = 4;

std::int64_t steady_ms(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
std::int64_t steady_now_ms() {
    return steady_ms(std::chrono::steady_clock::now());
}

} // namespace

WsConnection::WsConnection(socket_type socket, ConnectionOptions options, std::string initial_bytes)
    : socket_(std::move(socket)), fd_(socket_.native_handle()), options_(std::move(options)),
      initial_bytes_(std::move(initial_bytes)), outbox_(options_.limits) {
    last_rx_ms_ = steady_now_ms();
    if (options_.metrics.connections) options_.metrics.connections->add();
}

WsConnection::~WsConnection() {
    if (options_.metrics.connections) options_.metrics.connections->sub();
    if (options_.on_teardown) options_.on_teardown(this);
}

void WsConnection::start(const protocol::SessionFactory& make_session) {
    session_ = make_session(shared_from_this());
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(asio::ip::tcp::no_delay(true), ec); // not a TCP socket in tests: ignored
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (!self->initial_bytes_.empty()) {
            std::string bytes = std::move(self->initial_bytes_);
            if (!self->feed(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size())) return;
        }
        self->do_read();
    });
}

// ---------------------------------------------------------------- reading (strand)

void WsConnection::do_read() {
    if (torn_down_) return;
    // Wait for readability instead of reading into a per-connection buffer: an idle
    // connection then owns no read buffer at all (spec target: ≤ 8 KB per idle connection).
    socket_.async_wait(socket_type::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->on_readable(ec);
                       });
}

void WsConnection::on_readable(const boost::system::error_code& ec) {
    if (ec) return teardown();
    thread_local std::array<std::uint8_t, read_chunk_bytes> buf;
    for (int reads = 0;; ++reads) {
        if (reads == max_reads_per_wakeup) {
            // More may be waiting: continue after the other handlers queued meanwhile. Not by
            // waiting for readability again — the reactor is edge-triggered, and bytes already
            // in the socket would raise no new edge until the peer sends more.
            asio::post(socket_.get_executor(), [self = shared_from_this()] {
                if (!self->torn_down_) self->on_readable({});
            });
            return;
        }
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

bool WsConnection::feed(std::uint8_t* data, std::size_t n) {
    std::span<std::uint8_t> input(data, n);
    while (!input.empty() && !torn_down_) {
        auto r = parser_.parse(input);
        if (!r) {
            log::info("closing a WebSocket after a framing error: {}", r.error().message);
            close(r.error().close_code, r.error().message);
            return false;
        }
        input = input.subspan(r->consumed);
        // After we failed the connection only the peer's Close (the handshake) is processed.
        if (r->message && (!input_stopped_ || r->message->kind == WebSocketMessage::Kind::Close))
            handle_frame(*r->message);
    }
    return !torn_down_;
}

void WsConnection::handle_frame(const WebSocketMessage& msg) {
    switch (msg.kind) {
    case WebSocketMessage::Kind::Text:
        if (!utf8::is_valid(msg.payload)) {
            // RFC 6455 §8.1: a text message that is not UTF-8 fails the connection with 1007.
            log::info("closing a WebSocket after a text message with invalid UTF-8");
            close(close_code::invalid_payload,
                  "text frames must be UTF-8; send binary frames for other bytes");
            input_stopped_ = true;
            return;
        }
        if (session_) session_->on_text(msg.payload);
        break;
    case WebSocketMessage::Kind::Binary:
        if (session_) session_->on_binary(msg.payload);
        break;
    case WebSocketMessage::Kind::Ping:
        send_pong(msg.payload);
        break;
    case WebSocketMessage::Kind::Pong:
        break;
    case WebSocketMessage::Kind::Close:
        close_received_ = true;
        // The peer answers our close frame, which is out: the handshake is complete (RFC 6455
        // §7.1.1: the server closes the TCP connection first).
        if (outbox_.close_sent()) return teardown();
        close(msg.close_code == close_code::no_status ? close_code::normal : msg.close_code, "");
        break;
    }
}

// ---------------------------------------------------------------- writing

bool WsConnection::send(Opcode opcode, std::initializer_list<std::string_view> parts,
                        DeliveryRound* round, bool data_frame) {
    const auto a = outbox_.append(opcode, parts, data_frame, round != nullptr, &steady_now_ms);
    if (!a.accepted) return false;
    if (data_frame && options_.metrics.messages_delivered)
        options_.metrics.messages_delivered->inc();
    if (a.join_round) round->join(std::shared_ptr<RoundMember>(shared_from_this()));
    if (a.over_hard_limit) {
        cut_off("client too slow: " + std::to_string(a.queued_bytes) +
                " bytes queued, over the hard limit of " +
                std::to_string(outbox_.limits().hard_bytes));
    } else if (a.kick) {
        kick();
    }
    return true;
}

void WsConnection::send_pong(std::string_view payload) {
    const auto a = outbox_.append_pong(payload, steady_now_ms());
    if (!a.accepted) return;
    if (a.over_hard_limit) {
        cut_off("client too slow: " + std::to_string(a.queued_bytes) +
                " bytes queued, over the hard limit of " +
                std::to_string(outbox_.limits().hard_bytes));
    } else if (a.kick) {
        kick();
    }
}

bool WsConnection::send_text(std::initializer_list<std::string_view> parts, DeliveryRound* round,
                             bool data_frame) {
    return send(Opcode::Text, parts, round, data_frame);
}

bool WsConnection::send_binary(std::initializer_list<std::string_view> parts, DeliveryRound* round,
                               bool data_frame) {
    return send(Opcode::Binary, parts, round, data_frame);
}

void WsConnection::kick() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->start_write(); });
}

void WsConnection::flush_round() {
    // Sending from the delivering thread beats handing the batch to the I/O threads: measured
    // with bench/fanout.sh (1,000 clients, 100 changes/s), splitting a batch across them raised
    // p99 from 9.5-10.5 ms to 13.6-17.4 ms (bench/README.md, Fan-out). The outbox holds its
    // mutex for the send and teardown shuts it under the same mutex before closing the socket,
    // so the descriptor stays ours for this call (fd_, not socket_: see its comment).
    if (outbox_.flush_direct(fd_)) kick();
}

void WsConnection::start_write() {
    const std::string* buffer = outbox_.take_for_write(torn_down_);
    if (!buffer) return;
    asio::async_write(socket_, asio::buffer(*buffer),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t) { self->on_written(ec); });
}

void WsConnection::on_written(const boost::system::error_code& ec) {
    const auto w = outbox_.written(); // the in-flight buffer is ours again either way
    if (ec) return teardown();
    if (w.more) return start_write();
    if (w.close_sent) {
        // Our close frame is out. If the peer already closed, we are done; otherwise wait for
        // its close frame (the read loop) until the grace period ends (sweep).
        if (close_received_) return teardown();
        boost::system::error_code ignored;
        socket_.shutdown(socket_type::shutdown_send, ignored);
    }
}

void WsConnection::close(std::uint16_t code, std::string reason) {
    const auto c =
        outbox_.close(code, reason, false, steady_now_ms() + options_.close_grace.count());
    if (c.kick) kick();
}

void WsConnection::cut_off(const std::string& reason) {
    const auto c = outbox_.close(slow_client_close_code, reason, true,
                                 steady_now_ms() + options_.close_grace.count());
    if (!c.closed_now) return;
    if (options_.metrics.slow_disconnects) options_.metrics.slow_disconnects->inc();
    if (options_.metrics.messages_dropped) options_.metrics.messages_dropped->inc(c.dropped_frames);
    log::warn("disconnecting a slow client ({}); {} queued messages dropped", reason,
              c.dropped_frames);
    if (c.kick) kick();
}

void WsConnection::post(std::function<void()> fn) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

void WsConnection::post_after(std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor(), delay);
    timer->async_wait([self = shared_from_this(), timer,
                       fn = std::move(fn)](const boost::system::error_code&) { fn(); });
}

// ---------------------------------------------------------------- housekeeping

void WsConnection::sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s) {
    const std::int64_t now_ms = steady_ms(now);
    const auto due = outbox_.sweep(now_ms);
    if (due.close_overdue) {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->teardown(); });
        return;
    }
    if (due.soft_expired) {
        cut_off("client too slow: outgoing queue above " +
                std::to_string(outbox_.limits().soft_bytes) + " bytes for " +
                std::to_string(outbox_.limits().soft_seconds) + " s");
        return;
    }
    if (options_.idle_timeout.count() > 0 &&
        now_ms - last_rx_ms_.load() > options_.idle_timeout.count()) {
        close(close_code::normal, options_.idle_close_reason);
        return;
    }
    if (session_ && session_->sweep_due(now_unix_s))
        asio::post(socket_.get_executor(), [self = shared_from_this(), now, now_unix_s] {
            if (!self->torn_down_) self->session_->on_sweep(now, now_unix_s);
        });
}

void WsConnection::teardown() {
    if (torn_down_) return;
    torn_down_ = true;
    if (session_) session_->on_closed();
    // Frames still queued or in an unfinished write are lost with the socket: counted like
    // those a cut-off discards (issue 11: the count missed the write buffer's).
    if (const auto lost = outbox_.shut(); lost && options_.metrics.messages_dropped)
        options_.metrics.messages_dropped->inc(lost);
    boost::system::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
    if (options_.on_teardown) options_.on_teardown(this);
}

} // namespace walcast::server
