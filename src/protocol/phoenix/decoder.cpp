#include "protocol/phoenix/decoder.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>

namespace walcast::protocol::phoenix {
namespace {

Error invalid(std::string message) {
    return make_error(Errc::InvalidInput, std::move(message));
}

// A ref may be a string, a number (kept as its text) or null (nullopt).
Result<std::optional<std::string>> ref_text(const boost::json::value& v, std::string_view what) {
    char buf[32];
    std::to_chars_result r{};
    switch (v.kind()) {
    case boost::json::kind::null:
        return std::optional<std::string>{};
    case boost::json::kind::string: {
        const auto& s = v.get_string();
        return std::optional<std::string>{std::string(s.data(), s.size())};
    }
    case boost::json::kind::int64:
        r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
        break;
    case boost::json::kind::uint64:
        r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
        break;
    case boost::json::kind::double_:
        r = std::to_chars(buf, buf + sizeof buf, v.get_double());
        break;
    default:
        return invalid(std::string(what) +
                       " must be a string, a number or null; send refs as strings like \"1\"");
    }
    if (r.ec != std::errc{}) return invalid(std::string(what) + " is not a representable number");
    return std::optional<std::string>{std::string(buf, r.ptr)};
}

Result<std::string> required_string(const boost::json::value& v, std::string_view what) {
    if (!v.is_string())
        return invalid(std::string(what) + " must be a JSON string, e.g. \"realtime:room1\"");
    const auto& s = v.get_string();
    return std::string(s.data(), s.size());
}

Result<InboundMessage> from_v1(boost::json::value&& doc) {
    if (!doc.is_object())
        return invalid("a vsn=1.0.0 socket expects a JSON object "
                       "{\"topic\",\"event\",\"payload\",\"ref\"}; connect with vsn=2.0.0 to send "
                       "arrays");
    auto& obj = doc.get_object();
    const auto* topic = obj.if_contains("topic");
    const auto* event = obj.if_contains("event");
    auto* payload = obj.if_contains("payload");
    const auto* ref = obj.if_contains("ref");
    if (!topic || !event || !payload || !ref)
        return invalid("message lacks one of the required keys topic, event, payload, ref "
                       "(ref may be null); send all four");
    InboundMessage m;
    if (const auto* join_ref = obj.if_contains("join_ref")) {
        auto jr = ref_text(*join_ref, "join_ref");
        if (!jr) return std::move(jr).error();
        m.join_ref = std::move(*jr);
    }
    auto r = ref_text(*ref, "ref");
    if (!r) return std::move(r).error();
    m.ref = std::move(*r);
    auto t = required_string(*topic, "topic");
    if (!t) return std::move(t).error();
    m.topic = std::move(*t);
    auto e = required_string(*event, "event");
    if (!e) return std::move(e).error();
    m.event = std::move(*e);
    m.payload = std::move(*payload);
    return m;
}

Result<InboundMessage> from_v2(boost::json::value&& doc) {
    if (!doc.is_array())
        return invalid("a vsn=2.0.0 socket expects a JSON array "
                       "[join_ref, ref, topic, event, payload]; connect with vsn=1.0.0 to send "
                       "objects");
    auto& arr = doc.get_array();
    if (arr.size() < 5)
        return invalid("a vsn=2.0.0 message needs 5 elements [join_ref, ref, topic, event, "
                       "payload], got " +
                       std::to_string(arr.size()));
    InboundMessage m;
    auto jr = ref_text(arr[0], "join_ref");
    if (!jr) return std::move(jr).error();
    m.join_ref = std::move(*jr);
    auto r = ref_text(arr[1], "ref");
    if (!r) return std::move(r).error();
    m.ref = std::move(*r);
    auto t = required_string(arr[2], "topic");
    if (!t) return std::move(t).error();
    m.topic = std::move(*t);
    auto e = required_string(arr[3], "event");
    if (!e) return std::move(e).error();
    m.event = std::move(*e);
    m.payload = std::move(arr[4]);
    return m;
}

// Boost.JSON 1.81 reads a number beyond the double range (1e400) as infinity, and serializes
// infinity as `Infinity`, which is not JSON: a payload echoed back (the join reply echoes the
// bindings) would break the client's parser. Such numbers are refused like bad JSON (Elixir's
// Jason, behind the reference, refuses them too). Depth is bounded by the parser (32).
bool has_non_finite_number(const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::double_:
        return !std::isfinite(v.get_double());
    case boost::json::kind::array:
        for (const auto& e : v.get_array())
            if (has_non_finite_number(e)) return true;
        return false;
    case boost::json::kind::object:
        for (const auto& kv : v.get_object())
            if (has_non_finite_number(kv.value())) return true;
        return false;
    default:
        return false;
    }
}

bool is_valid_json(std::string_view text) {
    boost::system::error_code ec;
    (void)boost::json::parse(text, ec);
    return !ec;
}

// Reads the next `len` bytes of a binary frame as a string; false when the frame is too short.
bool take(std::string_view frame, std::size_t& pos, std::size_t len, std::string& out) {
    if (frame.size() - pos < len) return false;
    out.assign(frame.data() + pos, len);
    pos += len;
    return true;
}

std::optional<std::string> non_empty(std::string&& s) {
    if (s.empty()) return std::nullopt;
    return std::optional<std::string>(std::move(s));
}

} // namespace

Result<InboundMessage> decode_text(Vsn vsn, std::string_view frame) {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(frame, ec);
    if (ec) return invalid("text frame is not valid JSON (" + ec.message() + "); send JSON text");
    if (has_non_finite_number(doc))
        return invalid("text frame has a number beyond the range of a double (e.g. 1e400); send "
                       "numbers within ±1.7e308 or as strings");
    return vsn == Vsn::V1 ? from_v1(std::move(doc)) : from_v2(std::move(doc));
}

Result<UserBroadcastPush> decode_binary(Vsn vsn, std::string_view frame) {
    constexpr std::uint8_t user_broadcast_push_kind = 3;
    constexpr std::size_t header_bytes = 7; // kind + 5 lengths + encoding
    if (vsn == Vsn::V1)
        return invalid("binary frames need a vsn=2.0.0 socket; connect with vsn=2.0.0 or send "
                       "JSON text");
    if (frame.empty()) return invalid("empty binary frame; send a V2 kind-3 frame");
    const auto* b = reinterpret_cast<const std::uint8_t*>(frame.data());
    if (b[0] != user_broadcast_push_kind)
        return invalid("binary frame of kind " + std::to_string(b[0]) +
                       " is not accepted; clients may only send kind 3 (user broadcast push)");
    if (frame.size() < header_bytes)
        return invalid("binary frame truncated inside its 7-byte header (" +
                       std::to_string(frame.size()) + " bytes); send the full kind-3 header");
    if (b[6] > 1)
        return invalid("binary frame payload encoding " + std::to_string(b[6]) +
                       " is unknown; use 0 (binary) or 1 (JSON)");
    UserBroadcastPush m;
    m.encoding = static_cast<PayloadEncoding>(b[6]);
    std::size_t pos = header_bytes;
    std::string join_ref, ref;
    if (!take(frame, pos, b[1], join_ref) || !take(frame, pos, b[2], ref) ||
        !take(frame, pos, b[3], m.topic) || !take(frame, pos, b[4], m.user_event) ||
        !take(frame, pos, b[5], m.metadata))
        return invalid("binary frame is shorter than its header's lengths (" +
                       std::to_string(frame.size()) +
                       " bytes); each length must count the bytes that follow");
    m.join_ref = non_empty(std::move(join_ref));
    m.ref = non_empty(std::move(ref));
    m.payload.assign(frame.data() + pos, frame.size() - pos);
    if (!m.metadata.empty() && !is_valid_json(m.metadata))
        return invalid("binary frame metadata is not valid JSON; send a JSON object or nothing");
    if (m.encoding == PayloadEncoding::Json && !is_valid_json(m.payload))
        return invalid("binary frame says its payload is JSON (encoding 1) but it is not valid "
                       "JSON; fix the payload or send it with encoding 0");
    return m;
}

} // namespace walcast::protocol::phoenix
