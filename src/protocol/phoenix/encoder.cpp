#include "protocol/phoenix/encoder.hpp"

#include "common/json_writer.hpp"

namespace walcast::protocol::phoenix {
namespace {

void append_ref(std::string& out, OptionalRef ref) {
    if (ref)
        json::append_string(out, *ref);
    else
        out += "null";
}

// Everything before the payload: V2 `[join_ref,ref,"topic","event",`, V1
// `{"topic":"topic","event":"event","payload":`.
void append_head(Vsn vsn, std::string& out, OptionalRef join_ref, OptionalRef ref,
                 std::string_view topic, std::string_view event) {
    if (vsn == Vsn::V2) {
        out += '[';
        append_ref(out, join_ref);
        out += ',';
        append_ref(out, ref);
        out += ',';
        json::append_string(out, topic);
        out += ',';
        json::append_string(out, event);
        out += ',';
    } else {
        out += "{\"topic\":";
        json::append_string(out, topic);
        out += ",\"event\":";
        json::append_string(out, event);
        out += ",\"payload\":";
    }
}

// Everything after the payload: V2 `]`, V1 `,"ref":<ref>}` (no join_ref in V1, spec §2.1).
void append_tail(Vsn vsn, std::string& out, OptionalRef ref) {
    if (vsn == Vsn::V2) {
        out += ']';
    } else {
        out += ",\"ref\":";
        append_ref(out, ref);
        out += '}';
    }
}

std::string_view status_text(ReplyStatus status) {
    return status == ReplyStatus::Ok ? "ok" : "error";
}

void append_reply(Vsn vsn, std::string& out, OptionalRef join_ref, OptionalRef ref,
                  std::string_view topic, ReplyStatus status, std::string_view response_json) {
    append_head(vsn, out, join_ref, ref, topic, event::phx_reply);
    out += "{\"status\":\"";
    out += status_text(status);
    out += "\",\"response\":";
    out += response_json;
    out += '}';
    append_tail(vsn, out, ref);
}

} // namespace

void append_message(Vsn vsn, std::string& out, OptionalRef join_ref, OptionalRef ref,
                    std::string_view topic, std::string_view event, std::string_view payload_json) {
    append_head(vsn, out, join_ref, ref, topic, event);
    out += payload_json;
    append_tail(vsn, out, ref);
}

std::string encode_message(Vsn vsn, OptionalRef join_ref, OptionalRef ref, std::string_view topic,
                           std::string_view event, std::string_view payload_json) {
    std::string out;
    out.reserve(32 + topic.size() + event.size() + payload_json.size());
    append_message(vsn, out, join_ref, ref, topic, event, payload_json);
    return out;
}

std::string encode_reply(Vsn vsn, OptionalRef join_ref, OptionalRef ref, std::string_view topic,
                         ReplyStatus status, std::string_view response_json) {
    std::string out;
    out.reserve(64 + topic.size() + response_json.size());
    append_reply(vsn, out, join_ref, ref, topic, status, response_json);
    return out;
}

std::string encode_push(Vsn vsn, OptionalRef join_ref, std::string_view topic,
                        std::string_view event, std::string_view payload_json) {
    return encode_message(vsn, join_ref, std::nullopt, topic, event, payload_json);
}

std::string encode_broadcast(Vsn vsn, std::string_view topic, std::string_view event,
                             std::string_view payload_json) {
    return encode_message(vsn, std::nullopt, std::nullopt, topic, event, payload_json);
}

std::string encode_close(Vsn vsn, OptionalRef join_ref, std::string_view topic) {
    return encode_message(vsn, join_ref, join_ref, topic, event::phx_close, "{}");
}

std::string encode_channel_error(Vsn vsn, OptionalRef join_ref, std::string_view topic) {
    return encode_message(vsn, join_ref, join_ref, topic, event::phx_error, "{}");
}

std::string encode_unmatched_topic(Vsn vsn, OptionalRef ref, std::string_view topic) {
    return encode_reply(vsn, std::nullopt, ref, topic, ReplyStatus::Error,
                        R"({"reason":"unmatched topic"})");
}

void append_postgres_changes_head(Vsn vsn, std::string& out, std::string_view topic,
                                  std::span<const std::int64_t> ids) {
    append_head(vsn, out, std::nullopt, std::nullopt, topic, event::postgres_changes);
    out += "{\"ids\":[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ',';
        json::append_int(out, ids[i]);
    }
    out += "],\"data\":";
}

std::string_view postgres_changes_tail(Vsn vsn) {
    // The payload object's closing brace, then append_tail(vsn, ref = null).
    return vsn == Vsn::V2 ? std::string_view("}]") : std::string_view("},\"ref\":null}");
}

Result<std::string> encode_user_broadcast(std::string_view topic, std::string_view user_event,
                                          std::string_view metadata_json, PayloadEncoding encoding,
                                          std::string_view payload) {
    constexpr std::size_t max_field_bytes = 255; // one-byte length fields (spec §2.2)
    constexpr char user_broadcast_kind = 4;
    auto too_long = [](std::string_view what, std::size_t n) {
        return make_error(Errc::InvalidInput,
                          std::string(what) + " is " + std::to_string(n) +
                              " bytes; binary broadcast frames allow at most 255, shorten it");
    };
    if (topic.size() > max_field_bytes) return too_long("topic", topic.size());
    if (user_event.size() > max_field_bytes) return too_long("event name", user_event.size());
    if (metadata_json.size() > max_field_bytes) return too_long("metadata", metadata_json.size());
    std::string out;
    out.reserve(5 + topic.size() + user_event.size() + metadata_json.size() + payload.size());
    out += user_broadcast_kind;
    out += static_cast<char>(topic.size());
    out += static_cast<char>(user_event.size());
    out += static_cast<char>(metadata_json.size());
    out += static_cast<char>(encoding);
    out += topic;
    out += user_event;
    out += metadata_json;
    out += payload;
    return out;
}

} // namespace walcast::protocol::phoenix
