// The frames a Broadcast or Presence message becomes for each serializer, shared by every
// publisher on the Phoenix socket: client pushes, REST broadcasts (spec §7.5), Broadcast from
// Database (spec §7.6) and presence diffs.
#pragma once

#include "broadcast/hub.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace walcast::protocol::phoenix {

/// A text frame holding `bytes`.
broadcast::Frame text_frame(std::string bytes);

/// The Phoenix push of event `phx_event` (broadcast, presence_diff) on `topic` with the JSON
/// `payload`, as a text frame for broadcast::Hub format `format` (format_of).
broadcast::Frame push_frame(std::size_t format, std::string_view topic, std::string_view phx_event,
                            std::string_view payload);

/// The broadcast envelope {"event":…,"meta":…,"payload":…,"type":"broadcast"} that 1.0.0
/// clients receive as the payload of a `broadcast` push (spec §7.1.4). `meta_json` is a JSON
/// object or empty (no "meta" key); `payload_json` is spliced in as is (a JSON value).
std::string broadcast_envelope(std::string_view user_event, std::string_view meta_json,
                               std::string_view payload_json);

/// A user broadcast for `format`: 2.0.0 gets the binary kind-4 frame with `meta_json` as its
/// metadata, 1.0.0 the JSON envelope in a `broadcast` push (spec §2.2, §7.1.4, §7.5.4).
/// nullopt: not deliverable in that format — a binary payload to 1.0.0, or a topic, event or
/// metadata over the 255 bytes a kind-4 frame can carry.
std::optional<broadcast::Frame> user_broadcast_frame(std::size_t format, std::string_view topic,
                                                     std::string_view user_event,
                                                     std::string_view meta_json,
                                                     PayloadEncoding encoding,
                                                     std::string_view payload);

} // namespace walcast::protocol::phoenix
