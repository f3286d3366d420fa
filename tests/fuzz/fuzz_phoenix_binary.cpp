// Fuzz target: the Phoenix V2 binary decoder (protocol::phoenix::decode_binary, kind 3 user
// broadcast push, spec §2.2) on arbitrary frames. Properties beyond "no crash, no read outside
// the frame" (ASan):
//  - an error is Errc::InvalidInput with a message; a V1 socket refuses every binary frame;
//  - an accepted frame is exactly its fields: re-encoding kind 3 from the decoded push (an
//    absent ref as the empty string, as realtime-js writes it) gives back the input byte for
//    byte, so no length is misread and no byte dropped;
//  - the kind-4 frame the server sends for that push (encode_user_broadcast) is accepted (every
//    field fits a one-byte length) and carries the same topic, event, metadata and payload.
#include "fuzz_support.hpp"
#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using walcast::fuzz::check;
using namespace walcast::protocol::phoenix;

std::string kind3(const UserBroadcastPush& m) {
    const std::string join_ref = m.join_ref.value_or(""), ref = m.ref.value_or("");
    std::string out;
    out += '\x03';
    for (const std::string* s : {&join_ref, &ref, &m.topic, &m.user_event, &m.metadata}) {
        check(s->size() <= 255, "a decoded field is longer than a one-byte length");
        out += static_cast<char>(s->size());
    }
    out += static_cast<char>(m.encoding);
    for (const std::string* s : {&join_ref, &ref, &m.topic, &m.user_event, &m.metadata})
        out += *s;
    out += m.payload;
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view frame(reinterpret_cast<const char*>(data), size);
    check(!decode_binary(Vsn::V1, frame).ok(), "a V1 socket accepted a binary frame");
    auto m = decode_binary(Vsn::V2, frame);
    if (!m) {
        check(m.error().code == walcast::Errc::InvalidInput, "error is not Errc::InvalidInput");
        check(!m.error().message.empty(), "error without a message");
        return 0;
    }
    check(!(m->join_ref && m->join_ref->empty()) && !(m->ref && m->ref->empty()),
          "an empty ref decoded as present");
    check(kind3(*m) == frame, "re-encoded frame differs from the input");

    auto out = encode_user_broadcast(m->topic, m->user_event, m->metadata, m->encoding, m->payload);
    check(out.ok(), "the server cannot encode a push it accepted");
    const std::string& f = *out;
    check(f.size() ==
              5 + m->topic.size() + m->user_event.size() + m->metadata.size() + m->payload.size(),
          "kind-4 frame has the wrong size");
    check(f[0] == '\x04' && static_cast<unsigned char>(f[1]) == m->topic.size() &&
              static_cast<unsigned char>(f[2]) == m->user_event.size() &&
              static_cast<unsigned char>(f[3]) == m->metadata.size() &&
              f[4] == static_cast<char>(m->encoding),
          "kind-4 header does not match the push");
    check(std::string_view(f).substr(5) == m->topic + m->user_event + m->metadata + m->payload,
          "kind-4 body does not match the push");
    return 0;
}
