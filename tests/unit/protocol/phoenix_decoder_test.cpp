#include "protocol/phoenix/decoder.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace walcast::protocol::phoenix {
namespace {

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (unsigned b : list)
        s += static_cast<char>(b);
    return s;
}

// The kind-3 frame realtime-js 2.119.0 sends for send({type:'broadcast', event:'cursor',
// payload:{x:1}}) on realtime:room1 with join_ref "6", ref "7" (spec §2.2, captured [V-JS]).
const std::string captured_kind3 = bytes({0x03, 0x01, 0x01, 0x0e, 0x06, 0x00, 0x01}) + "6" + "7" +
                                   "realtime:room1" + "cursor" + R"({"x":1})";

} // namespace

TEST(PhoenixDecoderTest, DecodesCapturedV2Join) {
    // spec §3.1, as sent by realtime-js 2.119.0.
    auto m = decode_text(Vsn::V2, R"(["6","6","realtime:room1","phx_join",
        {"config":{"broadcast":{"ack":true,"self":false},"presence":{"key":"user-1","enabled":false},
        "postgres_changes":[{"event":"*","schema":"public","table":"todos","filter":"id=eq.1"}],
        "private":false},"access_token":"USER-ACCESS-TOKEN-1"}])");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->join_ref, "6");
    EXPECT_EQ(m->ref, "6");
    EXPECT_EQ(m->topic, "realtime:room1");
    EXPECT_EQ(m->event, "phx_join");
    ASSERT_TRUE(m->payload.is_object());
    EXPECT_EQ(m->payload.at("access_token"), "USER-ACCESS-TOKEN-1");
    EXPECT_EQ(m->payload.at("config").at("postgres_changes").at(0).at("filter"), "id=eq.1");
}

TEST(PhoenixDecoderTest, DecodesV2HeartbeatWithNullJoinRef) {
    auto m = decode_text(Vsn::V2, R"([null,"10","phoenix","heartbeat",{}])");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_FALSE(m->join_ref);
    EXPECT_EQ(m->ref, "10");
    EXPECT_EQ(m->topic, "phoenix");
    EXPECT_EQ(m->event, "heartbeat");
    EXPECT_EQ(m->payload, boost::json::object{});
}

TEST(PhoenixDecoderTest, V2IgnoresExtraElementsAndAcceptsNullRefs) {
    auto m = decode_text(Vsn::V2, R"([null,null,"realtime:a","presence",{"k":1},"extra",[1]])");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_FALSE(m->join_ref);
    EXPECT_FALSE(m->ref);
    EXPECT_EQ(m->topic, "realtime:a");
    EXPECT_EQ(m->payload.at("k"), 1);
}

TEST(PhoenixDecoderTest, NumericRefsAreKeptAsText) {
    auto m = decode_text(Vsn::V2, R"([6,18446744073709551615,"t","e",{}])");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->join_ref, "6");
    EXPECT_EQ(m->ref, "18446744073709551615");

    auto v1 =
        decode_text(Vsn::V1, R"({"topic":"t","event":"e","payload":{},"ref":-3,"join_ref":2.5})");
    ASSERT_TRUE(v1) << v1.error().message;
    EXPECT_EQ(v1->ref, "-3");
    EXPECT_EQ(v1->join_ref, "2.5");
}

TEST(PhoenixDecoderTest, DecodesV1JoinAndHeartbeat) {
    // spec §2.1, what realtime-js sends on vsn=1.0.0.
    auto join = decode_text(
        Vsn::V1,
        R"({"topic":"realtime:room1","event":"phx_join","payload":{"config":{}},"ref":"1","join_ref":"1"})");
    ASSERT_TRUE(join) << join.error().message;
    EXPECT_EQ(join->join_ref, "1");
    EXPECT_EQ(join->ref, "1");
    EXPECT_EQ(join->topic, "realtime:room1");
    EXPECT_EQ(join->event, "phx_join");
    EXPECT_TRUE(join->payload.at("config").is_object());

    auto hb =
        decode_text(Vsn::V1, R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"3"})");
    ASSERT_TRUE(hb) << hb.error().message;
    EXPECT_FALSE(hb->join_ref);
    EXPECT_EQ(hb->ref, "3");
    EXPECT_EQ(hb->event, "heartbeat");
}

TEST(PhoenixDecoderTest, V1AcceptsNullRefAndNonObjectPayload) {
    auto m = decode_text(
        Vsn::V1, R"({"topic":"t","event":"e","payload":"text","ref":null,"join_ref":null})");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_FALSE(m->ref);
    EXPECT_FALSE(m->join_ref);
    EXPECT_EQ(m->payload, "text");
}

TEST(PhoenixDecoderTest, KeepsEscapedAndUnicodeStrings) {
    auto m = decode_text(Vsn::V2, R"(["1","2","realtime:r\"\\\u00e9\n","e\u0001",{}])");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->topic, "realtime:r\"\\\xc3\xa9\n");
    EXPECT_EQ(m->event, std::string("e\x01"));
}

TEST(PhoenixDecoderTest, RejectsV1ObjectOnV2SocketAndViceVersa) {
    auto obj = R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"3"})";
    auto arr = R"([null,"10","phoenix","heartbeat",{}])";
    auto a = decode_text(Vsn::V2, obj);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::InvalidInput);
    EXPECT_NE(a.error().message.find("vsn=1.0.0"), std::string::npos) << a.error().message;
    auto b = decode_text(Vsn::V1, arr);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("vsn=2.0.0"), std::string::npos) << b.error().message;
}

TEST(PhoenixDecoderTest, RejectsNumbersBeyondTheDoubleRange) {
    // Found by tests/fuzz/fuzz_phoenix_text: 1e400 parsed as infinity, and the join reply's
    // echo of the bindings serialized it as `Infinity`, which the client cannot parse.
    for (const char* text : {R"([null,"1","t","e",{"x":1e400}])", R"([null,"1","t","e",[-1e999]])",
                             R"([null,1e400,"t","e",{}])"}) {
        auto r = decode_text(Vsn::V2, text);
        ASSERT_FALSE(r) << "accepted: " << text;
        EXPECT_EQ(r.error().code, Errc::InvalidInput);
        EXPECT_NE(r.error().message.find("range of a double"), std::string::npos)
            << r.error().message;
    }
    auto largest =
        decode_text(Vsn::V1, R"({"topic":"t","event":"e","payload":{"x":1.7e308},"ref":null})");
    ASSERT_TRUE(largest) << largest.error().message;
    EXPECT_EQ(largest->payload.at("x").as_double(), 1.7e308);
}

TEST(PhoenixDecoderTest, RejectsMalformedText) {
    const char* v2_bad[] = {
        "",
        "   ",
        "[",
        "not json",
        R"([null,"1","t","e",{}] trailing)",
        R"([null,"1","t","e"])", // 4 elements
        R"([])",
        R"("a string")",
        R"(42)",
        R"(null)",
        R"([null,"1",5,"e",{}])",     // non-string topic
        R"([null,"1",null,"e",{}])",  // null topic
        R"([null,"1","t",["e"],{}])", // non-string event
        R"([{},"1","t","e",{}])",     // object join_ref
        R"([null,true,"t","e",{}])",  // bool ref
        R"([null,["1"],"t","e",{}])", // array ref
    };
    for (const char* text : v2_bad) {
        auto r = decode_text(Vsn::V2, text);
        ASSERT_FALSE(r) << "V2 accepted: " << text;
        EXPECT_EQ(r.error().code, Errc::InvalidInput);
    }
    const char* v1_bad[] = {
        "",
        "{",
        R"({"event":"e","payload":{},"ref":"1"})",           // no topic
        R"({"topic":"t","payload":{},"ref":"1"})",           // no event
        R"({"topic":"t","event":"e","ref":"1"})",            // no payload
        R"({"topic":"t","event":"e","payload":{}})",         // no ref
        R"({"topic":1,"event":"e","payload":{},"ref":"1"})", // non-string topic
        R"({"topic":"t","event":false,"payload":{},"ref":"1"})",
        R"({"topic":"t","event":"e","payload":{},"ref":{}})",
        R"({"topic":"t","event":"e","payload":{},"ref":"1","join_ref":[]})",
    };
    for (const char* text : v1_bad) {
        auto r = decode_text(Vsn::V1, text);
        EXPECT_FALSE(r) << "V1 accepted: " << text;
    }
}

TEST(PhoenixDecoderTest, EveryPrefixOfAValidFrameIsAnErrorNotACrash) {
    const std::string v2 =
        R"(["6","7","realtime:room1","phx_join",{"config":{"a":[1,2,{"b":null}]}}])";
    const std::string v1 =
        R"({"topic":"realtime:room1","event":"phx_join","payload":{"x":[true]},"ref":"7","join_ref":"6"})";
    for (std::size_t n = 0; n < v2.size(); ++n)
        EXPECT_FALSE(decode_text(Vsn::V2, std::string_view(v2).substr(0, n))) << n;
    for (std::size_t n = 0; n < v1.size(); ++n)
        EXPECT_FALSE(decode_text(Vsn::V1, std::string_view(v1).substr(0, n))) << n;
    EXPECT_TRUE(decode_text(Vsn::V2, v2));
    EXPECT_TRUE(decode_text(Vsn::V1, v1));
}

TEST(PhoenixDecoderTest, DecodesCapturedKind3UserBroadcastPush) {
    auto m = decode_binary(Vsn::V2, captured_kind3);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->join_ref, "6");
    EXPECT_EQ(m->ref, "7");
    EXPECT_EQ(m->topic, "realtime:room1");
    EXPECT_EQ(m->user_event, "cursor");
    EXPECT_EQ(m->metadata, "");
    EXPECT_EQ(m->encoding, PayloadEncoding::Json);
    EXPECT_EQ(m->payload, R"({"x":1})");
}

TEST(PhoenixDecoderTest, Kind3WithMetadataAndBinaryPayload) {
    const std::string meta = R"({"id":"a"})";
    const std::string payload = bytes({0x00, 0xff, 0x7b, 0x00});
    const std::string frame =
        bytes({0x03, 0x00, 0x02, 0x03, 0x01, static_cast<unsigned>(meta.size()), 0x00}) + "12" +
        "t:x" + "e" + meta + payload;
    auto m = decode_binary(Vsn::V2, frame);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_FALSE(m->join_ref); // realtime-js writes '' for a null ref
    EXPECT_EQ(m->ref, "12");
    EXPECT_EQ(m->topic, "t:x");
    EXPECT_EQ(m->user_event, "e");
    EXPECT_EQ(m->metadata, meta);
    EXPECT_EQ(m->encoding, PayloadEncoding::Binary);
    EXPECT_EQ(m->payload, payload);
}

TEST(PhoenixDecoderTest, EveryTruncationOfKind3IsAnError) {
    for (std::size_t n = 0; n < captured_kind3.size(); ++n) {
        auto r = decode_binary(Vsn::V2, std::string_view(captured_kind3).substr(0, n));
        EXPECT_FALSE(r) << "accepted a " << n << "-byte prefix";
    }
}

TEST(PhoenixDecoderTest, RejectsKind3LengthsPastTheEnd) {
    for (std::size_t field = 1; field <= 5; ++field) {
        std::string frame = captured_kind3;
        frame[field] = static_cast<char>(0xff);
        auto r = decode_binary(Vsn::V2, frame);
        EXPECT_FALSE(r) << "length byte " << field;
    }
    // Lengths that sum past the end although each alone fits.
    std::string frame = captured_kind3;
    frame[3] = static_cast<char>(0x0e + 0x06 + 8); // topic swallows event and payload and more
    EXPECT_FALSE(decode_binary(Vsn::V2, frame));
}

TEST(PhoenixDecoderTest, RejectsOtherBinaryKindsEncodingsAndV1) {
    EXPECT_FALSE(decode_binary(Vsn::V1, captured_kind3));
    EXPECT_FALSE(decode_binary(Vsn::V2, ""));
    for (unsigned kind : {0u, 1u, 2u, 4u, 5u, 255u}) {
        std::string frame = captured_kind3;
        frame[0] = static_cast<char>(kind);
        EXPECT_FALSE(decode_binary(Vsn::V2, frame)) << "kind " << kind;
    }
    std::string enc = captured_kind3;
    enc[6] = 2;
    EXPECT_FALSE(decode_binary(Vsn::V2, enc));
}

TEST(PhoenixDecoderTest, RejectsKind3WithInvalidJson) {
    // encoding 1 but the payload is not JSON
    std::string bad_payload = captured_kind3.substr(0, captured_kind3.size() - 7) + "{x:1}";
    EXPECT_FALSE(decode_binary(Vsn::V2, bad_payload));
    // the same bytes are fine as a binary (encoding 0) payload
    bad_payload[6] = 0;
    auto ok = decode_binary(Vsn::V2, bad_payload);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->payload, "{x:1}");
    // metadata that is not JSON
    std::string bad_meta =
        bytes({0x03, 0x00, 0x00, 0x01, 0x01, 0x03, 0x01}) + "t" + "e" + "{{{" + "{}";
    EXPECT_FALSE(decode_binary(Vsn::V2, bad_meta));
}

} // namespace walcast::protocol::phoenix
