#include "protocol/phoenix/broadcast_frames.hpp"

#include "common/json_writer.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <memory>

namespace walcast::protocol::phoenix {

broadcast::Frame text_frame(std::string bytes) {
    return {false, std::make_shared<const std::string>(std::move(bytes))};
}

broadcast::Frame push_frame(std::size_t format, std::string_view topic, std::string_view phx_event,
                            std::string_view payload) {
    return text_frame(encode_broadcast(vsn_of(format), topic, phx_event, payload));
}

std::string broadcast_envelope(std::string_view user_event, std::string_view meta_json,
                               std::string_view payload_json) {
    std::string envelope = "{\"event\":";
    json::append_string(envelope, user_event);
    if (!meta_json.empty()) {
        envelope += ",\"meta\":";
        envelope += meta_json;
    }
    envelope += ",\"payload\":";
    envelope += payload_json;
    envelope += ",\"type\":\"broadcast\"}";
    return envelope;
}

std::optional<broadcast::Frame> user_broadcast_frame(std::size_t format, std::string_view topic,
                                                     std::string_view user_event,
                                                     std::string_view meta_json,
                                                     PayloadEncoding encoding,
                                                     std::string_view payload) {
    if (vsn_of(format) == Vsn::V2) {
        auto bytes = encode_user_broadcast(topic, user_event, meta_json, encoding, payload);
        if (!bytes) return std::nullopt;
        return broadcast::Frame{true, std::make_shared<const std::string>(std::move(*bytes))};
    }
    if (encoding == PayloadEncoding::Binary) return std::nullopt;
    return push_frame(format, topic, event::broadcast,
                      broadcast_envelope(user_event, meta_json, payload));
}

} // namespace walcast::protocol::phoenix
