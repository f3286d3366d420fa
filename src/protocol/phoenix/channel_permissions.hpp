// The permissions of one private channel (spec §7.3): broadcast.read, broadcast.write,
// presence.read, presence.write, each granted, denied or not evaluated, decided by the RLS
// policies of realtime.messages through broadcast::TopicPolicies and cached for the channel's
// life (re-evaluated on an access_token refresh). One object per channel, shared by its
// broadcast and presence features (ChannelHandle::attachment), so that a write check asked for
// by a broadcast also answers the next track, as the reference checks both writes at once.
#pragma once

#include "broadcast/topic_policies.hpp"
#include "protocol/phoenix/channel_feature.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::protocol::phoenix {

/// The TopicPolicies question of a channel: its sub-topic, its current claims (role, claims
/// JSON, sub) and the socket's upgrade x-* headers (ChannelHandle::request_headers_json).
broadcast::TopicAuthContext topic_auth_context(const ChannelHandle& ch);

/// Visits every header of a request (name as sent, value); UpgradeRequest::each_header and
/// HttpRequest::each_header have this shape.
using HeaderWalk =
    std::function<void(const std::function<void(std::string_view name, std::string_view value)>&)>;

/// A request's headers as the JSON object text that `request.headers` is set to (spec
/// §7.3.2; RT:`authorization.ex` `build_authorization_params/1`): names lower-cased, a repeated
/// name keeps its last value; x_only keeps only names starting with `x-` (the WebSocket
/// upgrade; REST passes every header). "{}" when none. Pure function, any thread.
std::string request_headers_json(const HeaderWalk& walk, bool x_only);

/// The channel's sub-topic ("realtime:" removed).
std::string channel_subtopic(const ChannelHandle& ch);

/// Strand only, except the delivery gates (any thread). A public channel's object grants
/// everything and never asks the database.
class ChannelPermissions : public std::enable_shared_from_this<ChannelPermissions> {
public:
    /// At most this many broadcasts and tracks wait for the first write check; past it they
    /// are dropped (as without write permission).
    static constexpr std::size_t max_waiting = 100;

    /// The channel's object, created on first use. policies: null for public channels (and
    /// when the server has no database to ask).
    static std::shared_ptr<ChannelPermissions> of(ChannelHandle& ch,
                                                  broadcast::TopicPolicies* policies);

    ChannelPermissions(ChannelHandle& ch, broadcast::TopicPolicies* policies);

    bool is_private() const { return private_; }

    broadcast::Permission broadcast_read, broadcast_write, presence_read, presence_write;

    /// Whether the channel's Hub member may receive broadcasts / presence diffs (reads granted).
    /// Any thread.
    bool delivers_broadcast() const { return deliver_broadcast_.load(std::memory_order_acquire); }
    bool delivers_presence() const { return deliver_presence_.load(std::memory_order_acquire); }

    /// Why a check could not decide; nullopt = decided.
    struct CheckFailure {
        broadcast::PolicyFailure failure;
        std::string error; ///< the Postgres error text, for logs
    };

    /// Runs the read check (broadcast, and presence when asked) and then `then` on the strand
    /// with the reads updated (a failure leaves them unevaluated). broadcast_too = false keeps
    /// the broadcast read as it is (presence read evaluated lazily at the first track).
    void evaluate_reads(bool presence, bool broadcast_too,
                        std::function<void(std::optional<CheckFailure>)> then);

    /// Runs `then` on the strand once both writes are known: at once when they are, else after
    /// one write check shared by every caller waiting meanwhile, in call order. A failed check
    /// leaves them unevaluated and runs `then` (callers read the nullopt as "not allowed").
    /// false = too many waiting; `then` will not run.
    bool when_writes_known(std::function<void()> then);

    /// access_token refresh: all four unevaluated again; checks in flight are ignored when
    /// they answer. The delivery gates stay until evaluate_reads sets them.
    void reset();

    /// The channel ended: no callback runs any more. Idempotent.
    void close();
    bool closed() const { return closed_; }

private:
    void set_gates();

    const bool private_;
    broadcast::TopicPolicies* const policies_;
    ChannelHandle* ch_; ///< valid until close()
    std::weak_ptr<ConnectionIo> io_;
    std::atomic<bool> deliver_broadcast_{true};
    std::atomic<bool> deliver_presence_{true};
    std::uint64_t epoch_ = 0; ///< bumped by reset()
    bool write_in_flight_ = false;
    std::vector<std::function<void()>> write_waiters_;
    bool closed_ = false;
};

} // namespace walcast::protocol::phoenix
