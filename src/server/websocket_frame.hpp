// RFC 6455 framing without Beast's websocket::stream: an incremental frame parser (either
// role), the server frame header writer used by fan-out to batch many frames per syscall, and
// masked client frames for tests and the load tool.
#pragma once

#include "common/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace walcast::server {

/// Frame opcodes (RFC 6455 §5.2).
enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

/// Close status codes (RFC 6455 §7.4.1; 1012 from the IANA registry, used by spec §1.5).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t invalid_payload = 1007; ///< e.g. a text message that is not UTF-8
inline constexpr std::uint16_t no_status = 1005;       ///< close frame without a body; never sent
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t service_restart = 1012;
} // namespace close_code

/// Largest message a client may send, reassembled (spec §1.5: 5 000 000 bytes).
inline constexpr std::size_t default_max_message_bytes = 5'000'000;
/// Control frames carry at most 125 payload bytes (RFC 6455 §5.5).
inline constexpr std::size_t max_control_payload_bytes = 125;
/// Longest unmasked (server) frame header: 2 + 8-byte extended length.
inline constexpr std::size_t max_server_frame_header_bytes = 10;
/// Longest masked (client) frame header: 2 + 8-byte extended length + 4-byte masking key.
inline constexpr std::size_t max_client_frame_header_bytes = 14;

/// A 4-byte masking key (RFC 6455 §5.3).
using MaskKey = std::array<std::uint8_t, 4>;

/// Writes a server frame header with FIN set and no mask for a payload of `payload_len` bytes
/// into `out`, which must have room for max_server_frame_header_bytes. Returns the header size:
/// 2 (len ≤ 125), 4 (≤ 65535) or 10 bytes, the minimal encoding RFC 6455 §5.2 requires.
/// The payload follows unmodified. Any thread; no allocation.
std::size_t write_frame_header(std::uint8_t* out, Opcode opcode, std::uint64_t payload_len);

/// The body of a Close frame: 2-byte big-endian `code` then `reason` (RFC 6455 §5.5.1). The
/// reason is cut to the 123 bytes a control frame leaves, at a UTF-8 character boundary.
std::string close_payload(std::uint16_t code, std::string_view reason);

/// A complete unmasked server frame (header + payload), FIN set. For tests and rare control
/// frames; the fan-out writes headers with write_frame_header instead.
std::string encode_server_frame(Opcode opcode, std::string_view payload);

/// A complete masked client frame (RFC 6455 §5.3) with the given masking key. `fin` false makes
/// a non-final fragment; continue with Opcode::Continuation. For tests and the load tool.
std::string encode_client_frame(Opcode opcode, std::string_view payload, MaskKey key,
                                bool fin = true);

/// XORs `data[0..n)` with `key`, starting at key byte `key_offset % 4` (so a payload can be
/// unmasked in pieces). Masking and unmasking are the same operation. 8 bytes per step.
void apply_mask(std::uint8_t* data, std::size_t n, MaskKey key, std::size_t key_offset);

/// Which end parses: a Server parses client frames (must be masked, RFC 6455 §5.1), a Client
/// parses server frames (must not be masked).
enum class FrameRole { Server, Client };

/// A complete message or control frame out of the parser.
struct WebSocketMessage {
    enum class Kind { Text, Binary, Ping, Pong, Close };
    Kind kind = Kind::Text;
    /// The (unmasked) payload; for Close, the reason after the status code. Points into the
    /// caller's input or the parser's buffer: valid until the next parse() call or until the
    /// caller reuses the input bytes, whichever comes first. Text is not UTF-8-validated
    /// here; WsConnection fails a text message that is not UTF-8 with 1007 (RFC 6455 §8.1,
    /// stricter than the reference, spec §1.5).
    std::string_view payload;
    /// Close only: the peer's status code, close_code::no_status when the body was empty.
    std::uint16_t close_code = 0;
};

/// A framing violation: the status code to close with (1002 or 1009) and a log message.
struct FrameError {
    std::uint16_t close_code = close_code::protocol_error;
    std::string message;
};

/// What one parse() call did: `consumed` input bytes, and at most one message.
struct ParseStep {
    std::size_t consumed = 0;
    std::optional<WebSocketMessage> message;
};

/// ParseStep or FrameError.
using FrameParseResult = Result<ParseStep, FrameError>;

/// Incremental RFC 6455 frame parser. Feed bytes as they arrive, split anywhere; get whole
/// messages (text/binary, continuation frames reassembled) and control frames (ping, pong,
/// close), including control frames interleaved inside a fragmented message.
///
/// Enforced, each violation an error with close code 1002 unless noted: masking per role, RSV
/// bits zero (no extensions are negotiated), known opcodes, control frames ≤ 125 bytes and not
/// fragmented, continuation only inside a message and no new message inside one, minimal length
/// encoding with the 64-bit high bit clear, close bodies of 0 or ≥ 2 bytes with a sendable code,
/// and the reassembled message size (1009 past max_message_bytes, checked from the frame header
/// before any payload is buffered). After an error the parser stays failed and returns the same
/// error; the caller sends a Close with that code and drops the connection.
///
/// Memory: a frame whose payload is entirely in the input is unmasked in place in the input and
/// returned as a view, with no copy. Only a message split across reads or fragmented is copied
/// into an internal buffer, which is freed after the message is delivered, so an idle parser
/// owns no heap memory (sizeof(WebSocketFrameParser) plus nothing). One connection, one strand:
/// not thread-safe.
class WebSocketFrameParser {
public:
    explicit WebSocketFrameParser(FrameRole role,
                                  std::size_t max_message_bytes = default_max_message_bytes);

    /// Parses from the start of `input` until one message is complete or the input is used up.
    /// `input` is mutable because masked payloads are unmasked in place. Returns the bytes
    /// consumed and the message, if one completed; when no message completed, every byte was
    /// consumed (kept internally as needed). Call again with the rest of the input after a
    /// message. Errors: FrameError with the close code to send.
    FrameParseResult parse(std::span<std::uint8_t> input);

    /// Heap bytes held right now (the reassembly buffer): 0 when idle between messages.
    std::size_t buffered_capacity() const { return message_.capacity(); }

    /// True while a fragmented message has started but not finished.
    bool in_fragmented_message() const { return message_opcode_ != 0; }

private:
    enum class State : std::uint8_t { Header, Payload, Failed };

    FrameParseResult fail(std::uint16_t code, std::string message);
    // Validates the complete header in header_ and sets up the frame; nullopt when fine.
    std::optional<FrameError> start_frame();
    // A complete frame whose payload is `payload` (already unmasked).
    FrameParseResult finish_frame(std::size_t consumed, std::string_view payload);

    std::vector<char> message_; // reassembly buffer for split/fragmented data messages
    std::size_t max_message_bytes_;
    std::uint64_t remaining_ = 0; // payload bytes of the current frame still to come
    std::uint64_t frame_len_ = 0; // payload length of the current frame
    FrameError error_;            // set once in State::Failed
    MaskKey mask_{};
    std::array<std::uint8_t, max_client_frame_header_bytes> header_{};
    std::array<std::uint8_t, max_control_payload_bytes> control_{}; // split control frames
    std::uint8_t header_len_ = 0;                                   // header bytes collected so far
    std::uint8_t opcode_ = 0;                                       // current frame's opcode
    std::uint8_t message_opcode_ = 0; // Text/Binary of the fragmented message in progress, or 0
    bool fin_ = false;
    bool masked_ = false;
    bool release_pending_ = false; // message_ was delivered; free it on the next parse()
    FrameRole role_;
    State state_ = State::Header;
};

} // namespace walcast::server
