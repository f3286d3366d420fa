// Encoding of server → client Phoenix messages for both serializers (spec §2.1, §2.2): replies,
// channel pushes, fan-out broadcasts, phx_close/phx_error, the shared-bytes `postgres_changes`
// frame (spec §4.1) and the V2 binary user broadcast (kind 4). No sockets here.
//
// Which refs each message carries (spec §2.1, §2.2 tables):
//   reply            join_ref = channel join ref (null for `phoenix`/unmatched), ref = request ref
//   channel push     join_ref = channel join ref, ref = null
//   fan-out          join_ref = null, ref = null
//   phx_close/error  join_ref = channel join ref, ref = channel join ref
// V1 never emits join_ref: its objects carry only topic, event, payload, ref.
#pragma once

#include "common/result.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace walcast::protocol::phoenix {

/// A join_ref or ref to emit: the text is written as a JSON string, nullopt as `null`.
using OptionalRef = std::optional<std::string_view>;

/// Appends one complete text message to `out`.
/// V2: `[join_ref,ref,topic,event,payload]`; V1: `{"topic","event","payload","ref"}` (join_ref
/// dropped, spec §2.1). topic, event and refs are JSON-escaped; `payload_json` is spliced in
/// verbatim and must be valid JSON text (the caller's contract, not checked). Any thread.
void append_message(Vsn vsn, std::string& out, OptionalRef join_ref, OptionalRef ref,
                    std::string_view topic, std::string_view event, std::string_view payload_json);

/// append_message into a new string.
std::string encode_message(Vsn vsn, OptionalRef join_ref, OptionalRef ref, std::string_view topic,
                           std::string_view event, std::string_view payload_json);

/// `phx_reply` to a request: payload `{"status":"ok"|"error","response":<response_json>}`.
/// join_ref = the channel's join ref (nullopt for topic `phoenix`), ref = the request's ref
/// (spec §2.3, §2.4, §3.2). `response_json` must be valid JSON text (usually an object).
std::string encode_reply(Vsn vsn, OptionalRef join_ref, OptionalRef ref, std::string_view topic,
                         ReplyStatus status, std::string_view response_json);

/// Channel push such as `system` or `presence_state`: the channel's join ref, ref null
/// (spec §2.2 table, §3.5). `payload_json` must be valid JSON text.
std::string encode_push(Vsn vsn, OptionalRef join_ref, std::string_view topic,
                        std::string_view event, std::string_view payload_json);

/// Fan-out broadcast (`broadcast`, `presence_diff`, drain `system`): join_ref and ref null
/// (spec §2.2 table). `payload_json` must be valid JSON text.
std::string encode_broadcast(Vsn vsn, std::string_view topic, std::string_view event,
                             std::string_view payload_json);

/// `phx_close` with payload `{}`: the channel's join ref in both join_ref and ref (V1: in ref),
/// so that realtime-js accepts it (spec §2.4, §2.5).
std::string encode_close(Vsn vsn, OptionalRef join_ref, std::string_view topic);

/// `phx_error` with payload `{}`, refs as encode_close (spec §2.4). The client rejoins.
std::string encode_channel_error(Vsn vsn, OptionalRef join_ref, std::string_view topic);

/// Reply to a message for a topic the socket has not joined: join_ref null, the request's ref,
/// `{"status":"error","response":{"reason":"unmatched topic"}}` (spec §2.4).
std::string encode_unmatched_topic(Vsn vsn, OptionalRef ref, std::string_view topic);

/// Appends everything of a `postgres_changes` fan-out frame that precedes the change's `data`
/// JSON (spec §4.1): V2 `[null,null,"<topic>","postgres_changes",{"ids":[1,2],"data":`,
/// V1 `{"topic":"<topic>","event":"postgres_changes","payload":{"ids":[1,2],"data":`.
/// `ids` are the channel's matching binding ids, written as JSON numbers in the given order.
/// head + data + postgres_changes_tail(vsn) is exactly one complete frame, so the server
/// serializes `data` once and shares those bytes across channels (house style). Any thread.
void append_postgres_changes_head(Vsn vsn, std::string& out, std::string_view topic,
                                  std::span<const std::int64_t> ids);

/// The bytes that close a `postgres_changes` frame after its `data`: V2 `}]`, V1
/// `},"ref":null}`. Static storage, valid forever.
std::string_view postgres_changes_tail(Vsn vsn);

/// The V2 binary user broadcast frame, kind 4 (S→C):
/// `04 topic_len user_event_len metadata_len encoding topic user_event metadata payload`
/// (spec §2.2; RT:`lib/realtime_web/socket/v2_serializer.ex` `fastlane!/1`). `metadata_json` is
/// a JSON object text or empty for none; `payload` is the raw user payload (JSON text when
/// encoding is Json). Returns the frame bytes for a WebSocket binary frame.
/// Errors (Errc::InvalidInput): topic, user_event or metadata longer than 255 bytes, which the
/// one-byte length fields cannot express.
Result<std::string> encode_user_broadcast(std::string_view topic, std::string_view user_event,
                                          std::string_view metadata_json, PayloadEncoding encoding,
                                          std::string_view payload);

} // namespace walcast::protocol::phoenix
