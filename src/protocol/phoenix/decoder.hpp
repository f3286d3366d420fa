// Decoding of client → server Phoenix messages for both serializers: V1 JSON objects, V2 JSON
// arrays and the V2 binary user broadcast push (spec §2.1, §2.2). No sockets here.
#pragma once

#include "common/result.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"

#include <string_view>

namespace walcast::protocol::phoenix {

/// Decodes the payload of a WebSocket text frame.
/// V1: a JSON object with keys `topic`, `event`, `payload`, `ref` (all required, `ref` may be
/// null) and optional `join_ref` (PHX:`lib/phoenix/socket/message.ex` `from_map!/1`).
/// V2: a JSON array of at least 5 elements `[join_ref, ref, topic, event, payload]`; extra
/// elements are ignored (RT:`lib/realtime_web/socket/v2_serializer.ex` `decode_text/1`).
/// In both, topic and event must be strings; refs must be strings, numbers (kept as text) or
/// null. UTF-8 is not validated (spec §1.5).
/// Errors (Errc::InvalidInput, message naming the fix): bad JSON, including numbers beyond the
/// double range (Boost.JSON would read them as infinity and echo them as `Infinity`, not JSON),
/// an object on a V2 socket or an array on a V1 socket, missing keys, wrong types. The caller logs
/// and ignores the frame; the socket stays open (spec §1.5). Pure function, any thread.
Result<InboundMessage> decode_text(Vsn vsn, std::string_view frame);

/// Decodes the payload of a WebSocket binary frame. Only V2 kind 3 (user broadcast push) is
/// accepted: `03 join_ref_len ref_len topic_len user_event_len metadata_len encoding` then the
/// five strings and the user payload (spec §2.2; RT:`v2_serializer.ex` `decode_binary/1`).
/// Every length is checked against the frame; metadata, when present, and a Json-encoded payload
/// must be valid JSON text, so that later stages can splice both into JSON unchecked.
/// Errors (Errc::InvalidInput): V1 socket, empty frame, other kinds, truncated header or
/// strings, encoding byte other than 0/1, invalid metadata or JSON payload.
/// Pure function, any thread.
Result<UserBroadcastPush> decode_binary(Vsn vsn, std::string_view frame);

} // namespace walcast::protocol::phoenix
