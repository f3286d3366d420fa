#include "protocol/phoenix/decoder.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace walcast::protocol::phoenix {
namespace {

// Parses an encoded frame back, failing the test when it is not valid JSON.
boost::json::value parse(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    EXPECT_FALSE(ec) << "not valid JSON: " << text;
    return v;
}

// V1 objects carry exactly topic, event, payload, ref and never join_ref (spec §2.1).
void expect_v1_shape(const boost::json::value& v) {
    ASSERT_TRUE(v.is_object());
    const auto& o = v.get_object();
    EXPECT_EQ(o.size(), 4u);
    for (const char* key : {"topic", "event", "payload", "ref"})
        EXPECT_TRUE(o.contains(key)) << key;
    EXPECT_FALSE(o.contains("join_ref"));
}

} // namespace

// ---- byte-exact frames from the spec ----

TEST(PhoenixEncoderTest, HeartbeatReplyMatchesSpecBothVersions) {
    // spec §2.3
    EXPECT_EQ(encode_reply(Vsn::V2, std::nullopt, "10", "phoenix", ReplyStatus::Ok, "{}"),
              R"([null,"10","phoenix","phx_reply",{"status":"ok","response":{}}])");
    EXPECT_EQ(
        encode_reply(Vsn::V1, std::nullopt, "8", "phoenix", ReplyStatus::Ok, "{}"),
        R"({"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"8"})");
}

TEST(PhoenixEncoderTest, LeaveReplyAndCloseMatchSpec) {
    // spec §2.4, leave as captured
    EXPECT_EQ(encode_reply(Vsn::V2, "6", "11", "realtime:room1", ReplyStatus::Ok, "{}"),
              R"(["6","11","realtime:room1","phx_reply",{"status":"ok","response":{}}])");
    EXPECT_EQ(encode_close(Vsn::V2, "6", "realtime:room1"),
              R"(["6","6","realtime:room1","phx_close",{}])");
    EXPECT_EQ(encode_close(Vsn::V1, "1", "realtime:room1"),
              R"({"topic":"realtime:room1","event":"phx_close","payload":{},"ref":"1"})");
}

TEST(PhoenixEncoderTest, ChannelErrorCarriesJoinRefInBothRefs) {
    EXPECT_EQ(encode_channel_error(Vsn::V2, "6", "realtime:room1"),
              R"(["6","6","realtime:room1","phx_error",{}])");
    EXPECT_EQ(encode_channel_error(Vsn::V1, "6", "realtime:room1"),
              R"({"topic":"realtime:room1","event":"phx_error","payload":{},"ref":"6"})");
}

TEST(PhoenixEncoderTest, UnmatchedTopicReplyHasNullJoinRef) {
    EXPECT_EQ(
        encode_unmatched_topic(Vsn::V2, "7", "other:topic"),
        R"([null,"7","other:topic","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}])");
    EXPECT_EQ(
        encode_unmatched_topic(Vsn::V1, "7", "other:topic"),
        R"({"topic":"other:topic","event":"phx_reply","payload":{"status":"error","response":{"reason":"unmatched topic"}},"ref":"7"})");
}

TEST(PhoenixEncoderTest, SystemPushCarriesJoinRefAndNullRef) {
    // spec §3.5
    const std::string payload =
        R"({"channel":"room1","extension":"postgres_changes","message":"Subscribed to PostgreSQL","status":"ok"})";
    EXPECT_EQ(encode_push(Vsn::V2, "6", "realtime:room1", event::system, payload),
              R"(["6",null,"realtime:room1","system",)" + payload + "]");
    EXPECT_EQ(encode_push(Vsn::V1, "6", "realtime:room1", event::system, payload),
              R"({"topic":"realtime:room1","event":"system","payload":)" + payload +
                  R"(,"ref":null})");
}

TEST(PhoenixEncoderTest, FanOutBroadcastHasNullRefs) {
    EXPECT_EQ(
        encode_broadcast(Vsn::V2, "realtime:room1", event::broadcast,
                         R"({"type":"broadcast","event":"cursor","payload":{"x":1}})"),
        R"([null,null,"realtime:room1","broadcast",{"type":"broadcast","event":"cursor","payload":{"x":1}}])");
    EXPECT_EQ(
        encode_broadcast(Vsn::V1, "realtime:room1", event::presence_diff,
                         R"({"joins":{},"leaves":{}})"),
        R"({"topic":"realtime:room1","event":"presence_diff","payload":{"joins":{},"leaves":{}},"ref":null})");
}

TEST(PhoenixEncoderTest, JoinErrorReplyMatchesSpec) {
    // spec §3.6
    EXPECT_EQ(
        encode_reply(Vsn::V2, "7", "7", "realtime:room1", ReplyStatus::Error,
                     R"({"reason":"InvalidJWTToken: Token has expired 12 seconds ago"})"),
        R"(["7","7","realtime:room1","phx_reply",{"status":"error","response":{"reason":"InvalidJWTToken: Token has expired 12 seconds ago"}}])");
}

// ---- every row of the ref tables, parsed back ----

TEST(PhoenixEncoderTest, RefTableRowsParseBackWithTheRightValues) {
    struct Row {
        const char* name;
        std::string v1, v2;
        boost::json::value join_ref, ref; // expected V2 refs; V1 shows only ref
        const char* event;
    };
    const std::vector<Row> rows = {
        {"reply", encode_reply(Vsn::V1, "3", "4", "realtime:a", ReplyStatus::Ok, R"({"k":[1]})"),
         encode_reply(Vsn::V2, "3", "4", "realtime:a", ReplyStatus::Ok, R"({"k":[1]})"), "3", "4",
         "phx_reply"},
        {"push", encode_push(Vsn::V1, "3", "realtime:a", event::presence_state, "{}"),
         encode_push(Vsn::V2, "3", "realtime:a", event::presence_state, "{}"), "3", nullptr,
         "presence_state"},
        {"fan-out", encode_broadcast(Vsn::V1, "realtime:a", event::broadcast, "{}"),
         encode_broadcast(Vsn::V2, "realtime:a", event::broadcast, "{}"), nullptr, nullptr,
         "broadcast"},
        {"close", encode_close(Vsn::V1, "3", "realtime:a"),
         encode_close(Vsn::V2, "3", "realtime:a"), "3", "3", "phx_close"},
        {"error", encode_channel_error(Vsn::V1, "3", "realtime:a"),
         encode_channel_error(Vsn::V2, "3", "realtime:a"), "3", "3", "phx_error"},
        {"unmatched", encode_unmatched_topic(Vsn::V1, "4", "realtime:a"),
         encode_unmatched_topic(Vsn::V2, "4", "realtime:a"), nullptr, "4", "phx_reply"},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.name);
        auto v2 = parse(row.v2);
        ASSERT_TRUE(v2.is_array());
        ASSERT_EQ(v2.get_array().size(), 5u);
        EXPECT_EQ(v2.at(0), row.join_ref);
        EXPECT_EQ(v2.at(1), row.ref);
        EXPECT_EQ(v2.at(2), "realtime:a");
        EXPECT_EQ(v2.at(3), row.event);
        auto v1 = parse(row.v1);
        expect_v1_shape(v1);
        EXPECT_EQ(v1.at("ref"), row.ref);
        EXPECT_EQ(v1.at("topic"), "realtime:a");
        EXPECT_EQ(v1.at("event"), row.event);
        EXPECT_EQ(v1.at("payload"), v2.at(4));
    }
}

TEST(PhoenixEncoderTest, EscapesTopicsEventsAndRefs) {
    const std::string topic = "realtime:a\"b\\c\n\x01\xc3\xa9";
    const std::string ref = "r\"1";
    for (Vsn vsn : {Vsn::V1, Vsn::V2}) {
        auto text = encode_message(vsn, "j\t", ref, topic, "ev\"", "{}");
        auto v = parse(text);
        if (vsn == Vsn::V2) {
            EXPECT_EQ(v.at(0), "j\t");
            EXPECT_EQ(v.at(1).as_string(), ref);
            EXPECT_EQ(v.at(2).as_string(), topic);
            EXPECT_EQ(v.at(3), "ev\"");
        } else {
            expect_v1_shape(v);
            EXPECT_EQ(v.at("ref").as_string(), ref);
            EXPECT_EQ(v.at("topic").as_string(), topic);
            EXPECT_EQ(v.at("event"), "ev\"");
        }
    }
}

TEST(PhoenixEncoderTest, EncodedClientStyleMessagesRoundTripThroughTheDecoder) {
    for (Vsn vsn : {Vsn::V1, Vsn::V2}) {
        auto text = encode_message(vsn, "6", "9", "realtime:room1", "presence",
                                   R"({"type":"presence","event":"track","payload":{"a":1}})");
        auto m = decode_text(vsn, text);
        ASSERT_TRUE(m) << m.error().message;
        // V1 drops join_ref on encode (server → client never carries it).
        if (vsn == Vsn::V2)
            EXPECT_EQ(m->join_ref, "6");
        else
            EXPECT_FALSE(m->join_ref);
        EXPECT_EQ(m->ref, "9");
        EXPECT_EQ(m->topic, "realtime:room1");
        EXPECT_EQ(m->event, "presence");
        EXPECT_EQ(m->payload.at("payload").at("a"), 1);
    }
}

// ---- postgres_changes from shared bytes ----

TEST(PhoenixEncoderTest, PostgresChangesHeadDataTailIsTheSpecFrame) {
    const std::string data =
        R"({"columns":[{"name":"id","type":"int8"}],"commit_timestamp":"2026-11-21T09:21:44.403Z","errors":null,"record":{"id":1},"schema":"public","table":"todos","type":"INSERT"})";
    const std::int64_t ids[] = {30636876};

    std::string v2;
    append_postgres_changes_head(Vsn::V2, v2, "realtime:room1", ids);
    v2 += data;
    v2 += postgres_changes_tail(Vsn::V2);
    EXPECT_EQ(v2, R"([null,null,"realtime:room1","postgres_changes",{"ids":[30636876],"data":)" +
                      data + "}]");

    std::string v1;
    append_postgres_changes_head(Vsn::V1, v1, "realtime:room1", ids);
    v1 += data;
    v1 += postgres_changes_tail(Vsn::V1);
    EXPECT_EQ(
        v1,
        R"({"topic":"realtime:room1","event":"postgres_changes","payload":{"ids":[30636876],"data":)" +
            data + R"(},"ref":null})");

    auto p2 = parse(v2);
    EXPECT_EQ(p2.at(0), nullptr);
    EXPECT_EQ(p2.at(1), nullptr);
    EXPECT_EQ(p2.at(4).at("ids"), (boost::json::array{30636876}));
    EXPECT_EQ(p2.at(4).at("data").at("table"), "todos");
    auto p1 = parse(v1);
    expect_v1_shape(p1);
    EXPECT_EQ(p1.at("ref"), nullptr);
    EXPECT_EQ(p1.at("payload"), p2.at(4));
}

TEST(PhoenixEncoderTest, PostgresChangesIdsAreNumbersInOrder) {
    const std::int64_t ids[] = {7, 1, 7, std::numeric_limits<std::int64_t>::max()};
    for (Vsn vsn : {Vsn::V1, Vsn::V2}) {
        std::string out = "prefix-kept:";
        append_postgres_changes_head(vsn, out, "realtime:\"q\"", ids);
        ASSERT_EQ(out.rfind("prefix-kept:", 0), 0u); // appends, never overwrites
        out.erase(0, 12);
        out += "{}";
        out += postgres_changes_tail(vsn);
        auto v = parse(out);
        const auto& payload = vsn == Vsn::V2 ? v.at(4) : v.at("payload");
        const auto& got = payload.at("ids").get_array();
        ASSERT_EQ(got.size(), 4u);
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_TRUE(got[i].is_int64());
            EXPECT_EQ(got[i].as_int64(), ids[i]);
        }
        EXPECT_EQ(vsn == Vsn::V2 ? v.at(2) : v.at("topic"), "realtime:\"q\"");
    }
    std::string empty;
    append_postgres_changes_head(Vsn::V2, empty, "t", {});
    empty += "{}";
    empty += postgres_changes_tail(Vsn::V2);
    EXPECT_EQ(empty, R"([null,null,"t","postgres_changes",{"ids":[],"data":{}}])");
}

// ---- V2 binary kind 4 ----

TEST(PhoenixEncoderTest, Kind4UserBroadcastMatchesSpecBytes) {
    // spec §2.2: 04 0e 06 00 01 | "realtime:room1" | "cursor" | {"x":1}
    auto frame =
        encode_user_broadcast("realtime:room1", "cursor", "", PayloadEncoding::Json, R"({"x":1})");
    ASSERT_TRUE(frame) << frame.error().message;
    const std::string expected =
        std::string("\x04\x0e\x06\x00\x01", 5) + "realtime:room1" + "cursor" + R"({"x":1})";
    EXPECT_EQ(*frame, expected);
}

TEST(PhoenixEncoderTest, Kind4CarriesMetadataAndBinaryPayload) {
    const std::string meta = R"({"replayed":true,"id":"x"})";
    const std::string payload("\x00\xff\x01", 3);
    auto frame = encode_user_broadcast("t", "ev", meta, PayloadEncoding::Binary, payload);
    ASSERT_TRUE(frame) << frame.error().message;
    EXPECT_EQ(*frame, std::string("\x04\x01\x02", 3) + static_cast<char>(meta.size()) +
                          std::string("\x00", 1) + "t" + "ev" + meta + payload);
}

TEST(PhoenixEncoderTest, Kind4RejectsHeaderStringsOver255Bytes) {
    const std::string ok(255, 'a');
    const std::string long_text(256, 'a');
    EXPECT_TRUE(encode_user_broadcast(ok, ok, "", PayloadEncoding::Json, "{}"));
    EXPECT_FALSE(encode_user_broadcast(long_text, "e", "", PayloadEncoding::Json, "{}"));
    EXPECT_FALSE(encode_user_broadcast("t", long_text, "", PayloadEncoding::Json, "{}"));
    EXPECT_FALSE(encode_user_broadcast("t", "e", long_text, PayloadEncoding::Json, "{}"));
}

} // namespace walcast::protocol::phoenix
