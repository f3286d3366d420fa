// The Phoenix channel message model shared by both serializers: what a client sends (text
// messages and the V2 binary user broadcast push) and the event names the server uses
// (spec §2.1, §2.2, §2.4).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::protocol::phoenix {

/// Event names on the wire (spec §2.3, §2.4, §4.1). Compared byte for byte: Phoenix event
/// names are case-sensitive.
namespace event {
inline constexpr std::string_view heartbeat = "heartbeat";
inline constexpr std::string_view phx_join = "phx_join";
inline constexpr std::string_view phx_leave = "phx_leave";
inline constexpr std::string_view phx_reply = "phx_reply";
inline constexpr std::string_view phx_close = "phx_close";
inline constexpr std::string_view phx_error = "phx_error";
inline constexpr std::string_view access_token = "access_token";
inline constexpr std::string_view system = "system";
inline constexpr std::string_view broadcast = "broadcast";
inline constexpr std::string_view presence = "presence";
inline constexpr std::string_view presence_state = "presence_state";
inline constexpr std::string_view presence_diff = "presence_diff";
inline constexpr std::string_view postgres_changes = "postgres_changes";
} // namespace event

/// The topic of socket-level messages such as `heartbeat` (spec §2.3).
inline constexpr std::string_view phoenix_topic = "phoenix";

/// A text message from a client, either serializer (spec §2.1, §2.2).
/// Refs sent as JSON numbers are kept as their decimal text ("7"); `null` or a missing V1
/// `join_ref` is nullopt. The payload is any JSON value; checking its shape is the handler's job.
struct InboundMessage {
    std::optional<std::string> join_ref;
    std::optional<std::string> ref;
    std::string topic;
    std::string event;
    boost::json::value payload;
};

/// How the user payload of a binary user broadcast is encoded (spec §2.2, byte after the
/// lengths): 0 = opaque bytes, 1 = UTF-8 JSON text.
enum class PayloadEncoding : std::uint8_t { Binary = 0, Json = 1 };

/// V2 binary frame kind 3, "user broadcast push" (C→S): what realtime-js ≥ 2.81 sends for every
/// `channel.send({type:'broadcast', …})` on a vsn=2.0.0 socket (spec §2.2). Its Phoenix event
/// is `broadcast`. realtime-js writes an empty string for a null ref; that is decoded as nullopt.
struct UserBroadcastPush {
    std::optional<std::string> join_ref;
    std::optional<std::string> ref;
    std::string topic;
    std::string user_event;
    std::string metadata; ///< JSON object text, or empty when the client sent none
    PayloadEncoding encoding = PayloadEncoding::Json;
    std::string payload; ///< raw bytes; valid JSON text when encoding is Json
};

/// Status of a `phx_reply` (spec §2.4): `ok` or `error`.
enum class ReplyStatus { Ok, Error };

} // namespace walcast::protocol::phoenix
