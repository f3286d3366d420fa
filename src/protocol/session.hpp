// The seam between transport and protocol: a protocol session (Phoenix channels today;
// GraphQL over graphql-transport-ws later) talks to its connection only through ConnectionIo,
// and the connection hands it what arrives through ProtocolSession. protocol/ knows nothing of
// sockets; server::WsConnection implements ConnectionIo. The upgrade types let a protocol decide
// whether to accept a WebSocket upgrade without seeing the HTTP machinery.
#pragma once

#include "common/delivery_round.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace walcast::protocol {

/// What a protocol session may do with its connection.
class ConnectionIo {
public:
    virtual ~ConnectionIo() = default;

    /// Queues one text message (the concatenation of parts). round: batch it into the caller's
    /// delivery round (delivering threads) instead of writing now. data_frame: counts as a
    /// delivered message (metrics, drop counts). false = the connection no longer accepts
    /// output. Any thread; never blocks on the socket; every byte counts against the outbox's
    /// soft/hard limits (past the hard limit, or the soft one for too long, the connection is
    /// closed with 1008 "client too slow: …").
    virtual bool send_text(std::initializer_list<std::string_view> parts,
                           DeliveryRound* round = nullptr, bool data_frame = false) = 0;
    /// As send_text, one binary message.
    virtual bool send_binary(std::initializer_list<std::string_view> parts,
                             DeliveryRound* round = nullptr, bool data_frame = false) = 0;
    /// Starts the close handshake with a WebSocket close code and reason. Any thread.
    virtual void close(std::uint16_t code, std::string reason) = 0;
    /// Runs fn on the connection's strand (where the session's callbacks run). Any thread; fn
    /// does not run when the connection is gone first.
    virtual void post(std::function<void()> fn) = 0;
    /// Runs fn on the strand after delay. Any thread.
    virtual void post_after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

/// One protocol's state for one connection. Created when the upgrade is accepted; every
/// callback runs on the connection's strand, except sweep_due() (any thread).
class ProtocolSession {
public:
    virtual ~ProtocolSession() = default;
    /// A complete text message.
    virtual void on_text(std::string_view payload) = 0;
    /// A complete binary message.
    virtual void on_binary(std::string_view payload) = 0;
    /// Housekeeping (token expiry and the like). now: steady clock; now_unix_s: wall clock.
    /// Called only when sweep_due(now_unix_s) said so.
    virtual void on_sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s) = 0;
    /// Any thread, cheap (the housekeeping timer asks every connection four times a second):
    /// whether on_sweep has something to do now.
    virtual bool sweep_due(std::int64_t now_unix_s) const = 0;
    /// The connection is gone: release channels and subscriptions. Called once; no callback
    /// follows.
    virtual void on_closed() = 0;
};

// ---- accepting an upgrade -------------------------------------------------------------------

/// What a protocol may look at when a client asks to upgrade (no sockets, no HTTP types).
struct UpgradeRequest {
    std::string_view path;
    /// A query parameter's decoded value; nullopt when absent or without a value.
    std::function<std::optional<std::string>(std::string_view name)> query;
    /// A request header's value; nullopt when absent.
    std::function<std::optional<std::string>(std::string_view name)> header;
    /// Calls the visitor with every request header (name as sent, value), in the request's
    /// order, duplicates included.
    std::function<void(const std::function<void(std::string_view name, std::string_view value)>&)>
        each_header;
    /// Sec-WebSocket-Protocol values the client offered, in its order.
    std::vector<std::string> subprotocols;
};

/// Creates the session for an accepted connection. io stays valid for the session's life;
/// the session may keep a weak reference to reach the connection from other threads.
using SessionFactory =
    std::function<std::unique_ptr<ProtocolSession>(const std::shared_ptr<ConnectionIo>& io)>;

/// The upgrade is accepted.
struct UpgradeAccept {
    SessionFactory make_session;
    /// Close the connection when nothing arrived for this long (0 = never), with 1000 and this
    /// reason (Phoenix: 60 s, "no heartbeat for 60 s").
    std::chrono::milliseconds idle_timeout{0};
    std::string idle_close_reason;
};

/// The upgrade is refused with an HTTP status and body ("" = no body; else JSON).
struct UpgradeRefuse {
    unsigned status = 400;
    std::string body;
};

using UpgradeDecision = std::variant<UpgradeAccept, UpgradeRefuse>;

/// Decides an upgrade for one registered route (server::UpgradeDispatcher). Runs on an I/O
/// thread; must not block.
using UpgradeHandler = std::function<UpgradeDecision(const UpgradeRequest& request)>;

} // namespace walcast::protocol
