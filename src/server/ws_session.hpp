// WsSession: one WebSocket connection after the upgrade — RFC 6455 framing, the Phoenix
// channel protocol (heartbeat, join, leave, access_token refresh), and the bounded outgoing
// queue that cuts off a client too slow to keep up without slowing anyone else.
#pragma once

#include "auth/claims.hpp"
#include "core/channel_sink.hpp"
#include "core/subscription.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"
#include "server/server_context.hpp"
#include "server/websocket_frame.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::server {

class PostgresChangesSink;

/// Close code and reason for a client whose outgoing queue exceeded its limits (README,
/// "Slow clients"): 1008 policy violation.
inline constexpr std::uint16_t slow_client_close_code = close_code::policy_violation;

/// One upgraded connection. Created by the HTTP layer with a socket whose executor is a strand;
/// all protocol state lives on that strand. enqueue_*() and close() may be called from any
/// thread.
class WsSession : public std::enable_shared_from_this<WsSession> {
public:
    using tcp = boost::asio::ip::tcp;

    /// socket_claims/socket_token: the verified `apikey` token (spec §1.3). initial_bytes: bytes
    /// read past the HTTP upgrade request (already WebSocket frames).
    WsSession(tcp::socket socket, ServerContext& ctx, protocol::phoenix::Vsn vsn,
              std::shared_ptr<const auth::Claims> socket_claims, std::string socket_token,
              std::string initial_bytes);
    ~WsSession();

    /// Registers with the session registry and starts reading.
    void start();

    /// Frames the concatenation of parts as one text message and queues it. data_frame: counts
    /// as a delivered change (and toward a slow client's drop count). Returns false when the
    /// session no longer accepts output. Any thread; never blocks on the socket.
    bool enqueue_text(std::initializer_list<std::string_view> parts, bool data_frame = false);

    /// Appends one text message like enqueue_text but does not send it yet: the session joins
    /// the calling thread's batch, sent by flush_thread_deliveries(). For the fan-out: all the
    /// changes a router round hands a client go out in one system call. Any thread.
    void append_deferred(std::initializer_list<std::string_view> parts);

    /// Sends what append_deferred() batched on this thread: a session with no write in flight is
    /// written to directly with one non-blocking send (no hop through its strand); what the
    /// kernel does not take, and sessions already writing, continue on the strand. Call at the
    /// end of each round on the threads that deliver changes (router, authorizer workers).
    static void flush_thread_deliveries();

    /// Starts a close handshake with code and reason. Any thread.
    void close(std::uint16_t code, std::string reason);

    /// Housekeeping, called about once a second from the server's timer (any thread): idle
    /// timeout, the slow-client grace period, token expiry of joined channels.
    void sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s);

    /// Bytes queued for this client and not yet written (for metrics).
    std::size_t queued_bytes() const;

private:
    struct Channel {
        std::string join_ref;
        std::shared_ptr<PostgresChangesSink> sink;
        core::SubscriptionPtr subscription;
        std::shared_ptr<const auth::Claims> claims;
        std::string token;
        std::uint64_t join_seq = 0;
        bool joined = false;
    };

    // --- strand only ---
    void do_read();
    void on_readable(const boost::system::error_code& ec);
    bool feed(std::uint8_t* data, std::size_t n);
    void handle_frame(const WebSocketMessage& msg);
    void handle_text(std::string_view payload);
    void handle_join(protocol::phoenix::InboundMessage& m);
    void on_subscribed(const std::string& topic, std::uint64_t join_seq,
                       std::optional<std::string> ref, std::vector<boost::json::object> bindings,
                       bool wait, core::SubscribeOutcome outcome);
    void handle_leave(const protocol::phoenix::InboundMessage& m);
    void handle_access_token(const protocol::phoenix::InboundMessage& m);
    void reply(const protocol::phoenix::InboundMessage& m,
               const std::optional<std::string>& join_ref, protocol::phoenix::ReplyStatus status,
               std::string_view response_json);
    void join_error(const protocol::phoenix::InboundMessage& m, std::string reason);
    void push_system(const std::string& topic, const Channel& ch, std::string_view extension,
                     std::string_view status, std::string_view message);
    void drop_channel(const std::string& topic, bool send_close);
    void expire_tokens(std::int64_t now_unix_s);
    void update_min_exp();
    void start_write();
    void on_written(const boost::system::error_code& ec, std::size_t n);
    void cut_off_slow(std::string reason);
    void cut_off_over_hard_limit(std::size_t queued_bytes);
    /// Appends a framed text message under out_mu_; returns the bytes now queued.
    std::size_t append_locked(std::initializer_list<std::string_view> parts, bool data_frame);
    void flush_direct();
    void teardown();

    tcp::socket socket_;
    ServerContext& ctx_;
    const protocol::phoenix::Vsn vsn_;
    std::shared_ptr<const auth::Claims> socket_claims_;
    std::string socket_token_;
    std::string initial_bytes_;
    WebSocketFrameParser parser_{FrameRole::Server};
    std::unordered_map<std::string, Channel> channels_;
    std::uint64_t join_seq_ = 0;
    bool torn_down_ = false;
    bool close_received_ = false;

    // --- shared with other threads ---
    std::atomic<std::int64_t> last_rx_ms_{0}; ///< steady clock ms of the last bytes received
    std::atomic<std::int64_t> min_exp_{0};    ///< earliest channel token exp (0 = none)
    mutable std::mutex out_mu_;
    std::string pending_;  ///< framed bytes waiting for the socket
    std::string inflight_; ///< framed bytes being written
    std::size_t pending_data_frames_ = 0;
    bool writing_ = false;
    bool batched_ = false;               ///< in some thread's deferred batch (append_deferred)
    bool output_closed_ = false;         ///< a close frame is queued: nothing more is sent
    std::int64_t soft_since_ms_ = 0;     ///< when the queue went above the soft limit (0 = below)
    std::int64_t close_deadline_ms_ = 0; ///< force the socket shut after this (0 = none)
};

} // namespace walcast::server
