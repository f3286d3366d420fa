// Fuzz target: the RFC 6455 frame parser (server::WebSocketFrameParser) on an arbitrary byte
// stream, in either role. Input: byte 0 picks the role (bit 0), the message size limit (bits
// 1-2: 5 000 000, 200, 64 or 0 bytes) and seeds the split points; the rest is the stream.
// Properties beyond "no crash, no access outside the input" (ASan):
//  - a parse() call never consumes more than it was given, and when it returns no message it
//    consumed everything;
//  - the same stream split at arbitrary points yields the same messages and the same error as
//    the stream in one piece;
//  - no message is larger than the limit, and a control frame's payload is at most 125 bytes;
//  - after an error the parser keeps returning the same error;
//  - a data message re-encoded as one frame (encode_client_frame / encode_server_frame) parses
//    back to the same message with a fresh parser.
#include "fuzz_support.hpp"
#include "server/websocket_frame.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using walcast::fuzz::check;
using namespace walcast::server;

struct Event {
    WebSocketMessage::Kind kind{};
    std::string payload;
    std::uint16_t close_code = 0;
    bool operator==(const Event&) const = default;
};

struct Outcome {
    std::vector<Event> events;
    std::optional<FrameError> error;
};

// Feeds `stream` to a fresh parser in chunks whose sizes come from `seed` (0 = one chunk).
Outcome feed(FrameRole role, std::size_t max_bytes, std::vector<std::uint8_t> stream,
             std::uint32_t seed) {
    WebSocketFrameParser parser(role, max_bytes);
    Outcome out;
    std::size_t pos = 0;
    std::uint32_t rng = seed * 2654435761u + 1;
    while (pos < stream.size()) {
        std::size_t n = stream.size() - pos;
        if (seed != 0) {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            n = std::min<std::size_t>(n, 1 + rng % 23);
        }
        std::span<std::uint8_t> chunk(stream.data() + pos, n);
        pos += n;
        for (;;) {
            auto step = parser.parse(chunk);
            if (!step) {
                out.error = step.error();
                auto again = parser.parse(chunk);
                check(!again && again.error().close_code == out.error->close_code &&
                          again.error().message == out.error->message,
                      "a failed parser returned something else than its error");
                return out;
            }
            check(step->consumed <= chunk.size(), "parse consumed more than it was given");
            if (!step->message) {
                check(step->consumed == chunk.size(), "no message but input left unconsumed");
                break;
            }
            const WebSocketMessage& m = *step->message;
            const bool control = m.kind == WebSocketMessage::Kind::Ping ||
                                 m.kind == WebSocketMessage::Kind::Pong ||
                                 m.kind == WebSocketMessage::Kind::Close;
            check(m.payload.size() <= (control ? max_control_payload_bytes : max_bytes),
                  "message larger than its limit");
            out.events.push_back(Event{m.kind, std::string(m.payload), m.close_code});
            chunk = chunk.subspan(step->consumed);
            if (chunk.empty()) break;
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const FrameRole role = (data[0] & 1) ? FrameRole::Client : FrameRole::Server;
    static constexpr std::size_t limits[] = {default_max_message_bytes, 200, 64, 0};
    const std::size_t max_bytes = limits[(data[0] >> 1) & 3];
    const std::uint32_t seed = data[0] >> 3;
    std::vector<std::uint8_t> stream(data + 1, data + size);

    const Outcome whole = feed(role, max_bytes, stream, 0);
    const Outcome split = feed(role, max_bytes, stream, seed + 1);
    check(whole.events == split.events, "split stream gave other messages");
    check(whole.error.has_value() == split.error.has_value(), "split stream failed differently");
    if (whole.error)
        check(whole.error->close_code == split.error->close_code &&
                  whole.error->message == split.error->message,
              "split stream gave another error");

    for (const Event& e : whole.events) {
        if (e.kind != WebSocketMessage::Kind::Text && e.kind != WebSocketMessage::Kind::Binary)
            continue;
        const Opcode op = e.kind == WebSocketMessage::Kind::Text ? Opcode::Text : Opcode::Binary;
        const std::string frame = role == FrameRole::Server
                                      ? encode_client_frame(op, e.payload, MaskKey{1, 2, 3, 4})
                                      : encode_server_frame(op, e.payload);
        std::vector<std::uint8_t> bytes(frame.begin(), frame.end());
        const Outcome back = feed(role, max_bytes, bytes, 0);
        check(!back.error && back.events.size() == 1 && back.events[0] == e,
              "re-encoded message does not parse back to itself");
    }
    return 0;
}
