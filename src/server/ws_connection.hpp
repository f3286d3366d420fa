// WsConnection: one upgraded WebSocket connection — the RFC 6455 transport. The read loop and
// frame parsing, ping/pong, the close handshake and teardown, the write loop over its Outbox,
// and the slow-client cut-off; it hands complete messages to its protocol session and
// implements the ConnectionIo the session talks back through.
#pragma once

#include "common/delivery_round.hpp"
#include "common/metrics.hpp"
#include "protocol/session.hpp"
#include "server/outbox.hpp"
#include "server/websocket_frame.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace walcast::server {

/// Close code for a client whose outgoing queue exceeded its limits (README, "Slow clients"):
/// 1008 policy violation, reason starting "client too slow:".
inline constexpr std::uint16_t slow_client_close_code = close_code::policy_violation;

/// The counters a connection updates (registered once by the server; see ServerMetrics).
struct ConnectionMetrics {
    Gauge* connections = nullptr;          ///< open connections (up in the constructor, down after)
    Counter* messages_delivered = nullptr; ///< data frames queued (send_* with data_frame)
    Counter* messages_dropped = nullptr;   ///< data frames discarded when cut off
    Counter* slow_disconnects = nullptr;   ///< cut-offs for exceeding the queue limits
};

/// What a connection needs besides its socket.
struct ConnectionOptions {
    OutboxLimits limits;
    std::chrono::milliseconds idle_timeout{0}; ///< close after this long without a byte (0: never)
    std::string idle_close_reason;
    /// A close handshake the peer does not finish within this time ends with the socket shut.
    std::chrono::milliseconds close_grace{2000};
    ConnectionMetrics metrics;
    /// Called once from teardown (the registry forgets the connection); may be empty.
    std::function<void(const class WsConnection*)> on_teardown;
};

/// Created by the HTTP layer after a successful upgrade with a socket whose executor is a
/// strand; all transport state that is not the outbox lives on that strand. ConnectionIo calls
/// and sweep() may come from any thread.
class WsConnection final : public std::enable_shared_from_this<WsConnection>,
                           public protocol::ConnectionIo,
                           public RoundMember {
public:
    using socket_type = boost::asio::generic::stream_protocol::socket;

    /// initial_bytes: bytes read past the HTTP upgrade request (already WebSocket frames).
    WsConnection(socket_type socket, ConnectionOptions options, std::string initial_bytes);
    ~WsConnection() override;

    /// Creates the protocol session with make_session and starts reading. Once.
    void start(const protocol::SessionFactory& make_session);

    // --- protocol::ConnectionIo (any thread) ---
    bool send_text(std::initializer_list<std::string_view> parts, DeliveryRound* round = nullptr,
                   bool data_frame = false) override;
    bool send_binary(std::initializer_list<std::string_view> parts, DeliveryRound* round = nullptr,
                     bool data_frame = false) override;
    void close(std::uint16_t code, std::string reason) override;
    void post(std::function<void()> fn) override;
    void post_after(std::chrono::milliseconds delay, std::function<void()> fn) override;

    // --- RoundMember: the delivering thread's one non-blocking send ---
    void flush_round() override;

    /// Housekeeping, about four times a second from the server's timer (any thread): the close
    /// deadline, the slow-client grace period, the idle timeout, the session's own (token
    /// expiry), posted to the strand only when due.
    void sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s);

    /// Bytes queued for this client and not yet written (metrics).
    std::size_t queued_bytes() const { return outbox_.queued_bytes(); }

private:
    bool send(Opcode opcode, std::initializer_list<std::string_view> parts, DeliveryRound* round,
              bool data_frame);
    /// Answers a Ping (coalesced: Outbox::append_pong).
    void send_pong(std::string_view payload);
    /// The one write-kick path: starts a write on the strand.
    void kick();
    void cut_off(const std::string& reason);

    // --- strand only ---
    void do_read();
    void on_readable(const boost::system::error_code& ec);
    bool feed(std::uint8_t* data, std::size_t n);
    void handle_frame(const WebSocketMessage& msg);
    void start_write();
    void on_written(const boost::system::error_code& ec);
    void teardown();

    socket_type socket_;
    /// socket_'s descriptor, read once here: flush_round() runs on delivering threads, where
    /// reading socket_.native_handle() would race with socket_.close() in teardown() (TSan).
    const int fd_;
    const ConnectionOptions options_;
    std::string initial_bytes_;
    std::unique_ptr<protocol::ProtocolSession> session_;
    WebSocketFrameParser parser_{FrameRole::Server};
    bool torn_down_ = false;
    bool close_received_ = false;
    bool input_stopped_ = false; ///< we failed the connection: later input is not processed

    Outbox outbox_;
    std::atomic<std::int64_t> last_rx_ms_{0}; ///< steady clock ms of the last bytes received
};

} // namespace walcast::server
