#include "server/websocket_frame.hpp"

#include <algorithm>
#include <cstring>

namespace walcast::server {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t rsv_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0f;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::uint8_t length_bits = 0x7f;
constexpr std::uint8_t length_16 = 126; // 7-bit length value announcing a 16-bit length
constexpr std::uint8_t length_64 = 127; // ... a 64-bit length

bool is_control(std::uint8_t opcode) {
    return (opcode & 0x8) != 0;
}

bool is_known_opcode(std::uint8_t opcode) {
    switch (static_cast<Opcode>(opcode)) {
    case Opcode::Continuation:
    case Opcode::Text:
    case Opcode::Binary:
    case Opcode::Close:
    case Opcode::Ping:
    case Opcode::Pong:
        return true;
    }
    return false;
}

// Codes a peer may put in a Close frame (RFC 6455 §7.4; 1012–1014 registered with IANA).
bool is_sendable_close_code(std::uint16_t code) {
    if (code >= 3000 && code <= 4999) return true;
    if (code < 1000 || code > 1014) return false;
    return code != 1004 && code != 1005 && code != 1006;
}

// Writes the 7-bit length (with `first_len_bits` or'ed in) and the extended length; returns
// the bytes written starting at out[1].
std::size_t write_length(std::uint8_t* out, std::uint8_t extra_bits, std::uint64_t len) {
    if (len <= 125) {
        out[1] = static_cast<std::uint8_t>(extra_bits | len);
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = extra_bits | length_16;
        out[2] = static_cast<std::uint8_t>(len >> 8);
        out[3] = static_cast<std::uint8_t>(len);
        return 4;
    }
    out[1] = extra_bits | length_64;
    for (int i = 0; i < 8; ++i)
        out[2 + i] = static_cast<std::uint8_t>(len >> (56 - 8 * i));
    return 10;
}

} // namespace

std::size_t write_frame_header(std::uint8_t* out, Opcode opcode, std::uint64_t payload_len) {
    out[0] = fin_bit | static_cast<std::uint8_t>(opcode);
    return write_length(out, 0, payload_len);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    constexpr std::size_t max_reason_bytes = max_control_payload_bytes - 2;
    if (reason.size() > max_reason_bytes) {
        std::size_t n = max_reason_bytes;
        // Back up over UTF-8 continuation bytes so a character is not cut in half.
        while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
            --n;
        reason = reason.substr(0, n);
    }
    std::string out;
    out.reserve(2 + reason.size());
    out += static_cast<char>(code >> 8);
    out += static_cast<char>(code & 0xff);
    out += reason;
    return out;
}

std::string encode_server_frame(Opcode opcode, std::string_view payload) {
    std::uint8_t header[max_server_frame_header_bytes];
    std::size_t n = write_frame_header(header, opcode, payload.size());
    std::string out;
    out.reserve(n + payload.size());
    out.append(reinterpret_cast<const char*>(header), n);
    out += payload;
    return out;
}

std::string encode_client_frame(Opcode opcode, std::string_view payload, MaskKey key, bool fin) {
    std::uint8_t header[max_client_frame_header_bytes];
    header[0] = static_cast<std::uint8_t>((fin ? fin_bit : 0) | static_cast<std::uint8_t>(opcode));
    std::size_t n = write_length(header, mask_bit, payload.size());
    std::memcpy(header + n, key.data(), key.size());
    n += key.size();
    std::string out;
    out.reserve(n + payload.size());
    out.append(reinterpret_cast<const char*>(header), n);
    out += payload;
    apply_mask(reinterpret_cast<std::uint8_t*>(out.data()) + n, payload.size(), key, 0);
    return out;
}

void apply_mask(std::uint8_t* data, std::size_t n, MaskKey key, std::size_t key_offset) {
    // Eight key bytes in phase with data[0]; k[i & 7] == key[(key_offset + i) & 3] for every i.
    std::uint8_t k[8];
    for (std::size_t i = 0; i < 8; ++i)
        k[i] = key[(key_offset + i) & 3];
    std::uint64_t k64;
    std::memcpy(&k64, k, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, data + i, 8);
        w ^= k64;
        std::memcpy(data + i, &w, 8);
    }
    for (; i < n; ++i)
        data[i] ^= k[i & 7];
}

WebSocketFrameParser::WebSocketFrameParser(FrameRole role, std::size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes), role_(role) {}

FrameParseResult WebSocketFrameParser::fail(std::uint16_t code, std::string message) {
    state_ = State::Failed;
    error_ = FrameError{code, std::move(message)};
    std::vector<char>().swap(message_);
    return error_;
}

std::optional<FrameError> WebSocketFrameParser::start_frame() {
    const std::uint8_t b0 = header_[0];
    const std::uint8_t b1 = header_[1];
    fin_ = (b0 & fin_bit) != 0;
    opcode_ = b0 & opcode_bits;
    masked_ = (b1 & mask_bit) != 0;
    const std::uint8_t len7 = b1 & length_bits;
    std::size_t pos = 2;
    if (len7 == length_16) {
        frame_len_ = (std::uint64_t{header_[2]} << 8) | header_[3];
        pos = 4;
        if (frame_len_ < length_16)
            return FrameError{close_code::protocol_error,
                              "frame length " + std::to_string(frame_len_) +
                                  " uses the 16-bit form; RFC 6455 §5.2 requires the shortest"};
    } else if (len7 == length_64) {
        frame_len_ = 0;
        for (int i = 0; i < 8; ++i)
            frame_len_ = (frame_len_ << 8) | header_[2 + i];
        pos = 10;
        if (frame_len_ >> 63)
            return FrameError{close_code::protocol_error,
                              "64-bit frame length has its high bit set (RFC 6455 §5.2)"};
        if (frame_len_ <= 0xffff)
            return FrameError{close_code::protocol_error,
                              "frame length " + std::to_string(frame_len_) +
                                  " uses the 64-bit form; RFC 6455 §5.2 requires the shortest"};
    } else {
        frame_len_ = len7;
    }
    if (masked_) std::memcpy(mask_.data(), header_.data() + pos, 4);
    remaining_ = frame_len_;

    if (is_control(opcode_)) return std::nullopt; // fragmentation and size checked earlier
    if (opcode_ == static_cast<std::uint8_t>(Opcode::Continuation)) {
        if (message_opcode_ == 0)
            return FrameError{close_code::protocol_error,
                              "continuation frame without a fragmented message to continue; start "
                              "messages with a text or binary frame"};
    } else if (message_opcode_ != 0) {
        return FrameError{close_code::protocol_error,
                          "new data frame inside a fragmented message; finish it with "
                          "continuation frames first"};
    }
    const std::size_t so_far = opcode_ == 0 ? message_.size() : 0;
    if (frame_len_ > max_message_bytes_ - so_far)
        return FrameError{close_code::message_too_big, "message exceeds " +
                                                           std::to_string(max_message_bytes_) +
                                                           " bytes; send smaller messages"};
    if (!fin_ && opcode_ != 0) message_opcode_ = opcode_;
    return std::nullopt;
}

FrameParseResult WebSocketFrameParser::finish_frame(std::size_t consumed,
                                                    std::string_view payload) {
    using Kind = WebSocketMessage::Kind;
    WebSocketMessage m;
    m.payload = payload;
    switch (static_cast<Opcode>(opcode_)) {
    case Opcode::Ping:
        m.kind = Kind::Ping;
        break;
    case Opcode::Pong:
        m.kind = Kind::Pong;
        break;
    case Opcode::Close:
        m.kind = Kind::Close;
        if (payload.empty()) {
            m.close_code = close_code::no_status;
        } else if (payload.size() == 1) {
            return fail(close_code::protocol_error,
                        "close frame body of 1 byte; it must be empty or start with a 2-byte code");
        } else {
            m.close_code =
                static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                           static_cast<unsigned char>(payload[1]));
            if (!is_sendable_close_code(m.close_code))
                return fail(close_code::protocol_error,
                            "close code " + std::to_string(m.close_code) +
                                " may not be sent (RFC 6455 §7.4); use 1000 or 3000-4999");
            m.payload = payload.substr(2);
        }
        break;
    case Opcode::Text:
        m.kind = Kind::Text;
        break;
    case Opcode::Binary:
        m.kind = Kind::Binary;
        break;
    case Opcode::Continuation:
        m.kind =
            message_opcode_ == static_cast<std::uint8_t>(Opcode::Text) ? Kind::Text : Kind::Binary;
        message_opcode_ = 0;
        break;
    }
    return ParseStep{consumed, m};
}

FrameParseResult WebSocketFrameParser::parse(std::span<std::uint8_t> input) {
    if (state_ == State::Failed) return error_;
    if (release_pending_) {
        std::vector<char>().swap(message_);
        release_pending_ = false;
    }
    std::size_t pos = 0;
    for (;;) {
        if (state_ == State::Header) {
            auto collect = [&](std::size_t want) {
                std::size_t n = std::min(want - header_len_, input.size() - pos);
                if (n) std::memcpy(header_.data() + header_len_, input.data() + pos, n);
                header_len_ = static_cast<std::uint8_t>(header_len_ + n);
                pos += n;
                return header_len_ == want;
            };
            if (header_len_ < 2) {
                if (!collect(2)) return ParseStep{pos, std::nullopt};
                // Checks that need only the first two bytes, before waiting for the rest.
                const std::uint8_t b0 = header_[0], b1 = header_[1];
                const std::uint8_t opcode = b0 & opcode_bits;
                if (b0 & rsv_bits)
                    return fail(close_code::protocol_error,
                                "frame has RSV bits set but no extension was negotiated");
                if (!is_known_opcode(opcode))
                    return fail(close_code::protocol_error, "unknown frame opcode " +
                                                                std::to_string(opcode) +
                                                                " (RFC 6455 §5.2)");
                const bool masked = (b1 & mask_bit) != 0;
                if (role_ == FrameRole::Server && !masked)
                    return fail(close_code::protocol_error,
                                "client frame is not masked; clients must mask every frame "
                                "(RFC 6455 §5.1)");
                if (role_ == FrameRole::Client && masked)
                    return fail(close_code::protocol_error,
                                "server frame is masked; servers must not mask (RFC 6455 §5.1)");
                if (is_control(opcode) && !(b0 & fin_bit))
                    return fail(close_code::protocol_error,
                                "fragmented control frame; control frames must have FIN set");
                if (is_control(opcode) && (b1 & length_bits) > max_control_payload_bytes)
                    return fail(close_code::protocol_error,
                                "control frame longer than 125 bytes (RFC 6455 §5.5)");
            }
            const std::uint8_t len7 = header_[1] & length_bits;
            const std::size_t need = 2 +
                                     (len7 == length_16   ? 2
                                      : len7 == length_64 ? 8
                                                          : 0) +
                                     ((header_[1] & mask_bit) ? 4 : 0);
            if (!collect(need)) return ParseStep{pos, std::nullopt};
            if (auto e = start_frame()) return fail(e->close_code, std::move(e->message));
            header_len_ = 0;
            state_ = State::Payload;
            // Fast path: the whole payload is in the input and needs no reassembly, so unmask
            // it where it lies and hand out a view.
            const bool whole_message = is_control(opcode_) || (opcode_ != 0 && fin_);
            if (whole_message && remaining_ <= input.size() - pos) {
                std::uint8_t* p = input.data() + pos;
                const auto n = static_cast<std::size_t>(remaining_);
                if (masked_) apply_mask(p, n, mask_, 0);
                pos += n;
                remaining_ = 0;
                state_ = State::Header;
                return finish_frame(pos, std::string_view(reinterpret_cast<const char*>(p), n));
            }
        }

        // State::Payload: copy what is available, unmasking with the right key phase.
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
        const auto done = static_cast<std::size_t>(frame_len_ - remaining_);
        const bool control = is_control(opcode_);
        std::uint8_t* dst;
        if (control) {
            dst = control_.data() + done;
        } else {
            const std::size_t old = message_.size();
            message_.resize(old + take);
            dst = reinterpret_cast<std::uint8_t*>(message_.data()) + old;
        }
        if (take) std::memcpy(dst, input.data() + pos, take);
        if (masked_) apply_mask(dst, take, mask_, done);
        pos += take;
        remaining_ -= take;
        if (remaining_ > 0) return ParseStep{pos, std::nullopt};
        state_ = State::Header;
        if (control)
            return finish_frame(pos,
                                std::string_view(reinterpret_cast<const char*>(control_.data()),
                                                 static_cast<std::size_t>(frame_len_)));
        if (fin_) {
            release_pending_ = true;
            return finish_frame(pos, std::string_view(message_.data(), message_.size()));
        }
        if (pos == input.size()) return ParseStep{pos, std::nullopt};
    }
}

} // namespace walcast::server
