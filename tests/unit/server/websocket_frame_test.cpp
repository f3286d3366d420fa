#include "server/websocket_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walcast::server {
namespace {

using Kind = WebSocketMessage::Kind;

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (unsigned b : list)
        s += static_cast<char>(b);
    return s;
}

// RFC 6455 §5.7 masking key.
constexpr MaskKey rfc_key{0x37, 0xfa, 0x21, 0x3d};

struct Got {
    Kind kind;
    std::string payload;
    std::uint16_t close_code = 0;
    bool operator==(const Got&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Got& g) {
    return os << "{kind " << static_cast<int>(g.kind) << ", '" << g.payload << "', " << g.close_code
              << "}";
}

struct Fed {
    std::vector<Got> messages;
    std::optional<FrameError> error;
};

// Feeds `wire` in chunks of `chunk` bytes (each chunk a fresh buffer, as a socket read would be)
// and collects every message until the end or the first error.
Fed feed(WebSocketFrameParser& parser, const std::string& wire, std::size_t chunk) {
    Fed out;
    for (std::size_t at = 0; at < wire.size(); at += chunk) {
        std::vector<std::uint8_t> buf(wire.begin() + at,
                                      wire.begin() + std::min(wire.size(), at + chunk));
        std::span<std::uint8_t> rest(buf);
        do {
            auto r = parser.parse(rest);
            if (!r) {
                out.error = r.error();
                return out;
            }
            EXPECT_LE(r->consumed, rest.size());
            if (r->message)
                out.messages.push_back(
                    {r->message->kind, std::string(r->message->payload), r->message->close_code});
            else
                EXPECT_EQ(r->consumed, rest.size()) << "no message but input left over";
            rest = rest.subspan(r->consumed);
        } while (!rest.empty());
    }
    return out;
}

Fed feed_server(const std::string& wire, std::size_t chunk = SIZE_MAX,
                std::size_t max = default_max_message_bytes) {
    WebSocketFrameParser parser(FrameRole::Server, max);
    return feed(parser, wire, std::min(chunk, std::max<std::size_t>(wire.size(), 1)));
}

Fed feed_client(const std::string& wire, std::size_t chunk = SIZE_MAX) {
    WebSocketFrameParser parser(FrameRole::Client);
    return feed(parser, wire, std::min(chunk, std::max<std::size_t>(wire.size(), 1)));
}

// The close code of the first error, or 0 when there was none.
std::uint16_t error_code(const Fed& f) {
    return f.error ? f.error->close_code : 0;
}

std::string header(Opcode op, std::uint64_t len) {
    std::uint8_t h[max_server_frame_header_bytes];
    auto n = write_frame_header(h, op, len);
    return std::string(reinterpret_cast<const char*>(h), n);
}

} // namespace

// ---- RFC 6455 §5.7 examples, byte for byte ----

TEST(WebSocketFrameTest, SingleFrameMaskedHello) {
    const std::string wire =
        bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    EXPECT_EQ(encode_client_frame(Opcode::Text, "Hello", rfc_key), wire);
    auto f = feed_server(wire);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrameTest, SingleFrameUnmaskedHello) {
    const std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    EXPECT_EQ(encode_server_frame(Opcode::Text, "Hello"), wire);
    auto f = feed_client(wire);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrameTest, FragmentedUnmaskedHelReassembles) {
    const std::string wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
    auto f = feed_client(wire);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrameTest, FragmentedMaskedHelReassembles) {
    const std::string wire = encode_client_frame(Opcode::Text, "Hel", rfc_key, false) +
                             encode_client_frame(Opcode::Continuation, "lo", rfc_key);
    EXPECT_EQ(wire.substr(0, 2), bytes({0x01, 0x83}));
    EXPECT_EQ(wire.substr(9, 2), bytes({0x80, 0x82}));
    auto f = feed_server(wire);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Text, "Hello"}}));
}

TEST(WebSocketFrameTest, UnmaskedPingAndMaskedPong) {
    const std::string ping = bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    const std::string pong =
        bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    EXPECT_EQ(encode_server_frame(Opcode::Ping, "Hello"), ping);
    EXPECT_EQ(encode_client_frame(Opcode::Pong, "Hello", rfc_key), pong);
    auto c = feed_client(ping);
    ASSERT_FALSE(c.error) << c.error->message;
    EXPECT_EQ(c.messages, (std::vector<Got>{{Kind::Ping, "Hello"}}));
    auto s = feed_server(pong);
    ASSERT_FALSE(s.error) << s.error->message;
    EXPECT_EQ(s.messages, (std::vector<Got>{{Kind::Pong, "Hello"}}));
}

TEST(WebSocketFrameTest, Binary256BytesUses16BitLength) {
    EXPECT_EQ(header(Opcode::Binary, 256), bytes({0x82, 0x7e, 0x01, 0x00}));
    std::string payload;
    for (int i = 0; i < 256; ++i)
        payload += static_cast<char>(i);
    auto f = feed_client(header(Opcode::Binary, 256) + payload);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Binary, payload}}));
    auto m = feed_server(encode_client_frame(Opcode::Binary, payload, rfc_key), 7);
    ASSERT_FALSE(m.error) << m.error->message;
    EXPECT_EQ(m.messages, (std::vector<Got>{{Kind::Binary, payload}}));
}

TEST(WebSocketFrameTest, Binary64KiBUses64BitLength) {
    EXPECT_EQ(header(Opcode::Binary, 65536),
              bytes({0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
    std::string payload(65536, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>(i * 7 + 3);
    auto f = feed_client(header(Opcode::Binary, 65536) + payload, 1000);
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Binary, payload}}));
    auto m = feed_server(encode_client_frame(Opcode::Binary, payload, rfc_key), 999);
    ASSERT_FALSE(m.error) << m.error->message;
    EXPECT_EQ(m.messages, (std::vector<Got>{{Kind::Binary, payload}}));
}

TEST(WebSocketFrameTest, HeaderWriterUsesMinimalLengthForms) {
    EXPECT_EQ(header(Opcode::Text, 0), bytes({0x81, 0x00}));
    EXPECT_EQ(header(Opcode::Text, 125), bytes({0x81, 0x7d}));
    EXPECT_EQ(header(Opcode::Text, 126), bytes({0x81, 0x7e, 0x00, 0x7e}));
    EXPECT_EQ(header(Opcode::Close, 2), bytes({0x88, 0x02}));
    EXPECT_EQ(header(Opcode::Text, 65535), bytes({0x81, 0x7e, 0xff, 0xff}));
    EXPECT_EQ(header(Opcode::Binary, 0x0123456789ULL),
              bytes({0x82, 0x7f, 0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89}));
}

// ---- any split ----

TEST(WebSocketFrameTest, AnySplitGivesTheSameMessages) {
    const MaskKey k{0xde, 0xad, 0xbe, 0xef};
    const std::string big(300, 'x');
    const std::string wire =
        encode_client_frame(Opcode::Text, "first", k) +
        encode_client_frame(Opcode::Binary, "ab", k, false) +
        encode_client_frame(Opcode::Ping, "p1", k) +
        encode_client_frame(Opcode::Continuation, "", k, false) +
        encode_client_frame(Opcode::Continuation, big, k) +
        encode_client_frame(Opcode::Text, "", k) +
        encode_client_frame(Opcode::Close, close_payload(close_code::normal, "bye"), k);
    const std::vector<Got> expected = {{Kind::Text, "first"},
                                       {Kind::Ping, "p1"},
                                       {Kind::Binary, "ab" + big},
                                       {Kind::Text, ""},
                                       {Kind::Close, "bye", close_code::normal}};
    for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
        auto f = feed_server(wire, chunk);
        ASSERT_FALSE(f.error) << "chunk " << chunk << ": " << f.error->message;
        ASSERT_EQ(f.messages, expected) << "chunk " << chunk;
    }
}

TEST(WebSocketFrameTest, ControlFramesInterleaveInsideAFragmentedMessage) {
    const std::string wire = encode_client_frame(Opcode::Text, "Hel", rfc_key, false) +
                             encode_client_frame(Opcode::Ping, "are you there", rfc_key) +
                             encode_client_frame(Opcode::Pong, "", rfc_key) +
                             encode_client_frame(Opcode::Continuation, "lo", rfc_key);
    WebSocketFrameParser parser(FrameRole::Server);
    auto f = feed(parser, wire, wire.size());
    ASSERT_FALSE(f.error) << f.error->message;
    EXPECT_EQ(
        f.messages,
        (std::vector<Got>{{Kind::Ping, "are you there"}, {Kind::Pong, ""}, {Kind::Text, "Hello"}}));
    EXPECT_FALSE(parser.in_fragmented_message());
}

TEST(WebSocketFrameTest, OneMessagePerCallWithConsumedCount) {
    const std::string a = encode_client_frame(Opcode::Text, "one", rfc_key);
    const std::string b = encode_client_frame(Opcode::Text, "two", rfc_key);
    std::vector<std::uint8_t> buf(a.begin(), a.end());
    buf.insert(buf.end(), b.begin(), b.end());
    WebSocketFrameParser parser(FrameRole::Server);
    auto r1 = parser.parse(buf);
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->consumed, a.size());
    ASSERT_TRUE(r1->message);
    EXPECT_EQ(r1->message->payload, "one");
    auto r2 = parser.parse(std::span(buf).subspan(r1->consumed));
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->consumed, b.size());
    ASSERT_TRUE(r2->message);
    EXPECT_EQ(r2->message->payload, "two");
}

// ---- memory ----

TEST(WebSocketFrameTest, WholeFrameInInputIsUnmaskedInPlaceWithoutCopy) {
    const std::string wire = encode_client_frame(Opcode::Text, "in place please", rfc_key);
    std::vector<std::uint8_t> buf(wire.begin(), wire.end());
    WebSocketFrameParser parser(FrameRole::Server);
    auto r = parser.parse(buf);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->message);
    EXPECT_EQ(r->message->payload, "in place please");
    const auto* p = reinterpret_cast<const std::uint8_t*>(r->message->payload.data());
    EXPECT_EQ(p, buf.data() + 6); // right after the 6-byte header, in the caller's buffer
    EXPECT_EQ(parser.buffered_capacity(), 0u);
}

TEST(WebSocketFrameTest, IdleParserHoldsNoHeapAndIsSmall) {
    EXPECT_LE(sizeof(WebSocketFrameParser), 320u);
    WebSocketFrameParser parser(FrameRole::Server);
    EXPECT_EQ(parser.buffered_capacity(), 0u);
    const std::string wire = encode_client_frame(Opcode::Binary, std::string(20000, 'z'), rfc_key);
    auto f = feed(parser, wire, 4096); // split: reassembled in the parser's buffer
    ASSERT_FALSE(f.error);
    ASSERT_EQ(f.messages.size(), 1u);
    EXPECT_EQ(f.messages[0].payload, std::string(20000, 'z'));
    std::vector<std::uint8_t> none;
    auto r = parser.parse(none); // the next call frees the delivered message's buffer
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->message);
    EXPECT_EQ(parser.buffered_capacity(), 0u);
}

// ---- violations and their close codes ----

TEST(WebSocketFrameTest, UnmaskedClientFrameIsProtocolError) {
    auto f = feed_server(encode_server_frame(Opcode::Text, "Hello"));
    EXPECT_EQ(error_code(f), close_code::protocol_error);
    EXPECT_TRUE(f.messages.empty());
}

TEST(WebSocketFrameTest, MaskedServerFrameIsProtocolErrorForClients) {
    EXPECT_EQ(error_code(feed_client(encode_client_frame(Opcode::Text, "x", rfc_key))),
              close_code::protocol_error);
}

TEST(WebSocketFrameTest, RsvBitsAreProtocolErrors) {
    for (unsigned rsv : {0x40u, 0x20u, 0x10u}) {
        std::string wire = encode_client_frame(Opcode::Text, "x", rfc_key);
        wire[0] = static_cast<char>(static_cast<unsigned char>(wire[0]) | rsv);
        EXPECT_EQ(error_code(feed_server(wire)), close_code::protocol_error) << rsv;
    }
}

TEST(WebSocketFrameTest, ReservedOpcodesAreProtocolErrors) {
    for (unsigned op : {3u, 4u, 5u, 6u, 7u, 0xbu, 0xcu, 0xdu, 0xeu, 0xfu}) {
        std::string wire = encode_client_frame(Opcode::Text, "x", rfc_key);
        wire[0] = static_cast<char>(0x80 | op);
        EXPECT_EQ(error_code(feed_server(wire)), close_code::protocol_error) << op;
    }
}

TEST(WebSocketFrameTest, OversizeOrFragmentedControlFramesAreProtocolErrors) {
    EXPECT_EQ(
        error_code(feed_server(encode_client_frame(Opcode::Ping, std::string(126, 'p'), rfc_key))),
        close_code::protocol_error);
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Ping, "p", rfc_key, false))),
              close_code::protocol_error);
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Close, "", rfc_key, false))),
              close_code::protocol_error);
    // 125 bytes is still fine
    auto ok = feed_server(encode_client_frame(Opcode::Ping, std::string(125, 'p'), rfc_key));
    ASSERT_FALSE(ok.error);
    EXPECT_EQ(ok.messages, (std::vector<Got>{{Kind::Ping, std::string(125, 'p')}}));
}

TEST(WebSocketFrameTest, LengthEncodingViolationsAreProtocolErrors) {
    // 64-bit length with the high bit set
    EXPECT_EQ(error_code(feed_server(bytes({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}))),
              close_code::protocol_error);
    // 5 bytes in the 16-bit form, 100 bytes in the 64-bit form: not minimal
    EXPECT_EQ(error_code(feed_server(bytes({0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4}) + "abcde")),
              close_code::protocol_error);
    EXPECT_EQ(error_code(feed_server(bytes({0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 100, 1, 2, 3, 4}))),
              close_code::protocol_error);
}

TEST(WebSocketFrameTest, ContinuationRulesAreEnforced) {
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Continuation, "lo", rfc_key))),
              close_code::protocol_error);
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Text, "Hel", rfc_key, false) +
                                     encode_client_frame(Opcode::Text, "lo", rfc_key))),
              close_code::protocol_error);
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Text, "Hel", rfc_key, false) +
                                     encode_client_frame(Opcode::Binary, "lo", rfc_key, false))),
              close_code::protocol_error);
}

TEST(WebSocketFrameTest, MessageOverTheLimitIsTooBigBeforeItsPayloadArrives) {
    EXPECT_EQ(error_code(feed_server(
                  encode_client_frame(Opcode::Text, std::string(11, 'a'), rfc_key), SIZE_MAX, 10)),
              close_code::message_too_big);
    auto exact =
        feed_server(encode_client_frame(Opcode::Text, std::string(10, 'a'), rfc_key), SIZE_MAX, 10);
    EXPECT_FALSE(exact.error);
    EXPECT_EQ(exact.messages.size(), 1u);
    // Fragments that add up past the limit: rejected at the second header.
    auto frag =
        feed_server(encode_client_frame(Opcode::Text, std::string(6, 'a'), rfc_key, false) +
                        encode_client_frame(Opcode::Continuation, std::string(5, 'a'), rfc_key),
                    SIZE_MAX, 10);
    EXPECT_EQ(error_code(frag), close_code::message_too_big);
    // Default limit (spec §1.5): a header announcing 5,000,001 bytes fails on its own.
    WebSocketFrameParser parser(FrameRole::Server);
    std::uint8_t h[max_client_frame_header_bytes];
    std::size_t n = write_frame_header(h, Opcode::Binary, default_max_message_bytes + 1);
    h[1] |= 0x80;
    std::vector<std::uint8_t> head(h, h + n);
    head.insert(head.end(), {1, 2, 3, 4});
    auto r = parser.parse(head);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().close_code, close_code::message_too_big);
    EXPECT_EQ(parser.buffered_capacity(), 0u);
}

TEST(WebSocketFrameTest, CloseFramesCarryCodeAndReason) {
    auto empty = feed_server(encode_client_frame(Opcode::Close, "", rfc_key));
    ASSERT_FALSE(empty.error);
    EXPECT_EQ(empty.messages, (std::vector<Got>{{Kind::Close, "", close_code::no_status}}));
    for (std::uint16_t code : {1000, 1001, 1011, 1012, 3000, 4999}) {
        auto f =
            feed_server(encode_client_frame(Opcode::Close, close_payload(code, "why"), rfc_key));
        ASSERT_FALSE(f.error) << code;
        EXPECT_EQ(f.messages, (std::vector<Got>{{Kind::Close, "why", code}}));
    }
}

TEST(WebSocketFrameTest, BadCloseBodiesAreProtocolErrors) {
    EXPECT_EQ(error_code(feed_server(encode_client_frame(Opcode::Close, "\x03", rfc_key))),
              close_code::protocol_error);
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 65535}) {
        EXPECT_EQ(error_code(feed_server(
                      encode_client_frame(Opcode::Close, close_payload(code, ""), rfc_key))),
                  close_code::protocol_error)
            << code;
    }
}

TEST(WebSocketFrameTest, ParserStaysFailedAfterAnError) {
    WebSocketFrameParser parser(FrameRole::Server);
    std::string bad = encode_server_frame(Opcode::Text, "x");
    std::vector<std::uint8_t> buf(bad.begin(), bad.end());
    auto r1 = parser.parse(buf);
    ASSERT_FALSE(r1);
    std::string good = encode_client_frame(Opcode::Text, "x", rfc_key);
    std::vector<std::uint8_t> buf2(good.begin(), good.end());
    auto r2 = parser.parse(buf2);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().close_code, r1.error().close_code);
    EXPECT_EQ(r2.error().message, r1.error().message);
}

TEST(WebSocketFrameTest, GarbageNeverCrashes) {
    // Every byte value in the first two header positions, followed by a short tail: each either
    // parses or fails with 1002/1009, never anything else.
    for (unsigned b0 = 0; b0 < 256; ++b0) {
        for (unsigned b1 = 0; b1 < 256; b1 += 3) {
            std::string wire = bytes({b0, b1, 0, 0, 0, 1, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd});
            for (auto role : {FrameRole::Server, FrameRole::Client}) {
                WebSocketFrameParser parser(role, 64);
                auto f = feed(parser, wire, 5);
                if (f.error) {
                    EXPECT_TRUE(f.error->close_code == close_code::protocol_error ||
                                f.error->close_code == close_code::message_too_big);
                }
            }
        }
    }
}

// ---- helpers ----

TEST(WebSocketFrameTest, ClosePayloadTruncatesAtCharacterBoundary) {
    EXPECT_EQ(close_payload(1000, "bye"), bytes({0x03, 0xe8}) + "bye");
    EXPECT_EQ(close_payload(4000, ""), bytes({0x0f, 0xa0}));
    std::string accents;
    for (int i = 0; i < 100; ++i)
        accents += "\xc3\xa9"; // "é", 2 bytes each
    auto p = close_payload(1008, accents);
    EXPECT_LE(p.size(), max_control_payload_bytes);
    EXPECT_EQ(p.size(), 2u + 122u); // 61 whole characters; the 62nd would straddle byte 123
    EXPECT_EQ(p.substr(2), accents.substr(0, 122));
    EXPECT_EQ(close_payload(1008, std::string(200, 'a')).size(), max_control_payload_bytes);
}

TEST(WebSocketFrameTest, MaskingInPiecesEqualsMaskingWhole) {
    const MaskKey k{1, 2, 3, 250};
    std::vector<std::uint8_t> whole(37), pieces(37);
    for (std::size_t i = 0; i < whole.size(); ++i)
        whole[i] = pieces[i] = static_cast<std::uint8_t>(i);
    apply_mask(whole.data(), whole.size(), k, 0);
    for (std::size_t i = 0; i < whole.size(); ++i)
        EXPECT_EQ(whole[i], i ^ k[i % 4]) << i;
    std::size_t at = 0;
    for (std::size_t n : {1, 2, 9, 3, 17, 5}) {
        apply_mask(pieces.data() + at, n, k, at);
        at += n;
    }
    EXPECT_EQ(pieces, whole);
}

} // namespace walcast::server
