#include "protocol/phoenix/join_config.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace walcast::protocol::phoenix {
namespace {

JoinConfig parse(std::string_view payload) {
    return parse_join_config(boost::json::parse(payload).as_object());
}

} // namespace

TEST(JoinConfigTest, ParsesTheConfigRealtimeJsSends) {
    // spec §7.1.1, as sent by realtime-js 2.119.0 [V-JS119].
    auto c = parse(R"({"config":{"broadcast":{"ack":true,"self":true},
        "presence":{"key":"u1","enabled":true},
        "postgres_changes":[{"event":"*","schema":"public","table":"todos"}],"private":true},
        "access_token":"t"})");
    EXPECT_TRUE(c.broadcast.ack);
    EXPECT_TRUE(c.broadcast.self);
    EXPECT_FALSE(c.broadcast.replay);
    ASSERT_TRUE(c.presence.key);
    EXPECT_EQ(*c.presence.key, "u1");
    EXPECT_TRUE(c.presence.enabled);
    ASSERT_EQ(c.postgres_changes.bindings.size(), 1u);
    EXPECT_EQ(c.postgres_changes.bindings[0].at("table").as_string(), "todos");
    EXPECT_FALSE(c.postgres_changes.wait);
    EXPECT_TRUE(c.is_private);
    EXPECT_FALSE(c.replication_ready);
}

TEST(JoinConfigTest, MissingConfigGivesTheDefaults) {
    for (auto payload : {R"({})", R"({"config":null})", R"({"config":[1]})"}) {
        auto c = parse(payload);
        EXPECT_FALSE(c.broadcast.ack) << payload;
        EXPECT_FALSE(c.broadcast.self) << payload;
        EXPECT_TRUE(c.broadcast.raw.empty()) << payload;
        EXPECT_FALSE(c.presence.key) << payload;
        EXPECT_FALSE(c.presence.enabled) << payload;
        EXPECT_TRUE(c.postgres_changes.bindings.empty()) << payload;
        EXPECT_FALSE(c.is_private) << payload;
    }
}

TEST(JoinConfigTest, FlexibleBooleansAcceptStringsAndIgnoreOtherTypes) {
    // RT's flexible booleans: true/false or "true"/"false"; anything else is false.
    auto c = parse(R"({"config":{"broadcast":{"ack":"true","self":1},"private":"true",
        "replication_ready":"false","presence":{"enabled":"true"}}})");
    EXPECT_TRUE(c.broadcast.ack);
    EXPECT_FALSE(c.broadcast.self);
    EXPECT_TRUE(c.is_private);
    EXPECT_FALSE(c.replication_ready);
    EXPECT_TRUE(c.presence.enabled);
}

TEST(JoinConfigTest, PresenceKeyEmptyOrNullMeansNone_OtherValuesAreStringified) {
    EXPECT_FALSE(parse(R"({"config":{"presence":{"key":""}}})").presence.key);
    EXPECT_FALSE(parse(R"({"config":{"presence":{"key":null}}})").presence.key);
    EXPECT_EQ(parse(R"({"config":{"presence":{"key":42}}})").presence.key, "42");
    EXPECT_EQ(parse(R"({"config":{"presence":{"key":{"a":1}}}})").presence.key, R"({"a":1})");
}

TEST(JoinConfigTest, ReplayNeedsANumericSince) {
    auto c = parse(R"({"config":{"broadcast":{"replay":{"since":1700000000000,"limit":5}}}})");
    ASSERT_TRUE(c.broadcast.replay);
    EXPECT_EQ(c.broadcast.replay->since_ms, 1700000000000);
    EXPECT_EQ(c.broadcast.replay->limit, 5);
    EXPECT_FALSE(parse(R"({"config":{"broadcast":{"replay":{"since":"x"}}}})").broadcast.replay);
    EXPECT_FALSE(parse(R"({"config":{"broadcast":{"replay":{}}}})").broadcast.replay);
    auto no_limit = parse(R"({"config":{"broadcast":{"replay":{"since":1}}}})");
    ASSERT_TRUE(no_limit.broadcast.replay);
    EXPECT_FALSE(no_limit.broadcast.replay->limit);
}

TEST(JoinConfigTest, BroadcastRawKeepsKeysOfOtherFeatures) {
    // Live queries extend config.broadcast with a key of their own.
    auto c = parse(R"({"config":{"broadcast":{"self":true,"live_query":{"name":"q"}}}})");
    ASSERT_TRUE(c.broadcast.raw.contains("live_query"));
    EXPECT_EQ(c.broadcast.raw.at("live_query").at("name").as_string(), "q");
}

TEST(JoinConfigTest, PostgresChangesSkipsNonObjectBindingsAndReadsWait) {
    auto c = parse(R"({"config":{"postgres_changes":[1,{"event":"INSERT"},"x"],
        "postgres_changes_options":{"wait":true}}})");
    ASSERT_EQ(c.postgres_changes.bindings.size(), 1u);
    EXPECT_EQ(c.postgres_changes.bindings[0].at("event").as_string(), "INSERT");
    EXPECT_TRUE(c.postgres_changes.wait);
}

} // namespace walcast::protocol::phoenix
