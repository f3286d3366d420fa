// Fuzz target: the Phoenix text decoders (protocol::phoenix::decode_text, V1 JSON objects and V2
// JSON arrays). Input: byte 0 picks the serializer (bit 0: V1 or V2); the rest is the frame.
// Properties beyond "no crash":
//  - an error is Errc::InvalidInput with a message;
//  - a decoded message encoded again with the server's encoder (encode_message) is valid JSON
//    that decodes to the same topic, event, refs and payload — as V2 with its join_ref and as
//    V1, which carries no join_ref (spec §2.1) — so the encoder escapes whatever the decoder
//    lets through.
#include "fuzz_support.hpp"
#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using walcast::fuzz::check;
using namespace walcast::protocol::phoenix;

// JSON equality, doubles within a relative 1e-15: Boost.JSON 1.81 parses long decimal numbers
// to the nearest double only approximately (a last-bit difference after a serialize/parse round
// trip is Boost's, and harmless to a payload walcast passes on).
bool same_json(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_double() && b.is_double()) {
        const double x = a.get_double(), y = b.get_double();
        return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
    }
    if (a.kind() != b.kind()) return false;
    if (a.is_array()) {
        const auto &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same_json(x[i], y[i])) return false;
        return true;
    }
    if (a.is_object()) {
        const auto &x = a.get_object(), &y = b.get_object();
        if (x.size() != y.size()) return false;
        for (const auto& kv : x) {
            const auto* other = y.if_contains(kv.key());
            if (!other || !same_json(kv.value(), *other)) return false;
        }
        return true;
    }
    return a == b;
}

OptionalRef ref_of(const std::optional<std::string>& r) {
    return r ? OptionalRef(*r) : std::nullopt;
}

void round_trip(Vsn vsn, const InboundMessage& m) {
    const std::string payload = boost::json::serialize(m.payload);
    const std::string frame =
        encode_message(vsn, ref_of(m.join_ref), ref_of(m.ref), m.topic, m.event, payload);
    auto back = decode_text(vsn, frame);
    check(back.ok(), "encoded message does not decode");
    check(back->topic == m.topic && back->event == m.event, "topic or event changed");
    check(back->ref == m.ref, "ref changed");
    check(vsn == Vsn::V1 ? !back->join_ref.has_value() : back->join_ref == m.join_ref,
          "join_ref changed");
    check(same_json(back->payload, m.payload), "payload changed");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const Vsn vsn = (data[0] & 1) ? Vsn::V1 : Vsn::V2;
    const std::string_view frame(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto m = decode_text(vsn, frame);
    if (!m) {
        check(m.error().code == walcast::Errc::InvalidInput, "error is not Errc::InvalidInput");
        check(!m.error().message.empty(), "error without a message");
        return 0;
    }
    round_trip(Vsn::V2, *m);
    round_trip(Vsn::V1, *m);
    return 0;
}
