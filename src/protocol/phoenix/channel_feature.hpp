// The channel-feature seam of PhoenixSession. A Phoenix channel (`realtime:<topic>`) is the
// session's generic part — join refs, tokens, expiry, leave, phx_close — plus the features its
// join config asks for: Postgres Changes, Broadcast, Presence, live queries. Each feature is a
// ChannelFeature made by a ChannelFeatureFactory registered once in the PhoenixContext; the
// session knows no feature by name.
//
// Lifecycle of one channel (all on the connection's strand):
//   phx_join → parse_join_config (once) → every factory's make() → every feature's join()
//   → when all have called done: an error from any → the join error reply, close() on all;
//     else feature[0].open(feature[1].open(… send the join reply …)) — the reply is queued
//     while every feature holds its deliveries, so no delivery precedes it —
//     then after_join() on each in order (system pushes, presence_state, replay)
//   → on_message / on_user_broadcast for the channel's events; on_token_refreshed after an
//     accepted access_token
//   → close() once (phx_leave, rejoin of the topic, token expiry, socket closed, failed join).
#pragma once

#include "auth/claims.hpp"
#include "protocol/phoenix/join_config.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"
#include "protocol/session.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::protocol::phoenix {

/// A feature's view of its channel. Strand only; valid from make() until close() returns.
class ChannelHandle {
public:
    virtual ~ChannelHandle() = default;

    virtual const std::string& topic() const = 0;    ///< "realtime:<sub-topic>"
    virtual const std::string& join_ref() const = 0; ///< the join's join_ref (else its ref)
    virtual Vsn vsn() const = 0;
    virtual const JoinConfig& config() const = 0;
    /// The channel's verified token and claims: the join's access_token, else the socket's;
    /// replaced by an accepted access_token message (then on_token_refreshed runs).
    virtual const std::shared_ptr<const auth::Claims>& claims() const = 0;
    virtual const std::string& token() const = 0;
    /// The connection, for sinks that deliver from other threads (ConnectionIo is thread-safe).
    virtual const std::weak_ptr<ConnectionIo>& io() const = 0;
    /// The socket's upgrade request headers named `x-*` as a JSON object's text (names lower
    /// case, the last of repeated names), what private channel policies read as
    /// `request.headers` (spec §7.3.2); "{}" when there were none.
    virtual const std::string& request_headers_json() const {
        static const std::string none = "{}";
        return none;
    }

    /// `phx_reply` to one of this channel's pushes (ref = the push's ref; nullopt sends none).
    virtual void reply(const std::optional<std::string>& ref, ReplyStatus status,
                       std::string_view response_json) = 0;
    /// Channel push (join_ref set, ref null), e.g. `presence_state`. payload_json: valid JSON.
    virtual void push(std::string_view event, std::string_view payload_json) = 0;
    /// `system` push `{"channel","extension","message","status"}` (protocol spec §3.5).
    virtual void push_system(std::string_view extension, std::string_view status,
                             std::string_view message) = 0;
    /// Ends the channel as the server does on a limit: `system` error with `message`, then
    /// phx_close. Takes effect after the current call returns (never re-enters the feature).
    virtual void shut_down(std::string message) = 0;
    /// shut_down for other threads (a delivering thread past a rate limit): the returned
    /// function may be called from any thread at any time, also after the channel or the
    /// connection ended (then it does nothing).
    virtual std::function<void(std::string)> shut_down_from_any_thread() const = 0;
    /// Per-channel state that several features share (the private channel permissions of
    /// broadcast and presence), by name; empty until a feature sets it, released with the
    /// channel after every feature's close(). Strand only.
    virtual std::shared_ptr<void>& attachment(std::string_view name) = 0;
};

/// What a feature's join contributes.
struct FeatureJoinResult {
    /// The join fails with this reason (`{"reason": error}`); the channel is not created.
    std::optional<std::string> error;
    /// JSON text put under the feature's name() in the join reply's response; empty = no key.
    std::string reply_json;
};

/// One feature of one channel. Strand only, unless a method says otherwise.
class ChannelFeature {
public:
    virtual ~ChannelFeature() = default;

    /// The feature's name; also its key in the join reply ("postgres_changes").
    virtual std::string_view name() const = 0;

    /// Starts the join. Calls done exactly once, on the strand, possibly before returning (then
    /// as the last thing it does). The session ignores a done() arriving after the channel was
    /// dropped; a feature whose asynchronous work completes after close() releases it itself.
    virtual void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) = 0;

    /// Runs before() and then lets this feature's deliveries through, so that nothing the
    /// feature delivers precedes what before() queued. Default: before().
    virtual void open(const std::function<void()>& before) { before(); }

    /// After the join reply: pushes that follow it (the Postgres Changes `system` status,
    /// `presence_state`, replayed broadcasts).
    virtual void after_join(ChannelHandle& /*ch*/) {}

    /// A text message of the joined channel other than phx_join/phx_leave/access_token.
    /// true = handled (the feature replied if a reply was due).
    virtual bool on_message(ChannelHandle& /*ch*/, InboundMessage& /*m*/) { return false; }

    /// A V2 binary user broadcast push (kind 3) to the joined channel. true = handled.
    virtual bool on_user_broadcast(ChannelHandle& /*ch*/, UserBroadcastPush& /*m*/) {
        return false;
    }

    /// An access_token message replaced the channel's claims (ch.claims()).
    virtual void on_token_refreshed(ChannelHandle& /*ch*/) {}

    /// The channel ends. Called once; no call follows. Stops all deliveries.
    virtual void close() = 0;
};

/// Makes a channel's feature from its join config. Registered once in PhoenixContext;
/// outlives the sessions. make() runs on the joining connection's strand.
class ChannelFeatureFactory {
public:
    virtual ~ChannelFeatureFactory() = default;
    /// The feature for this channel, or null when its join config does not use it.
    virtual std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) = 0;
};

} // namespace walcast::protocol::phoenix
