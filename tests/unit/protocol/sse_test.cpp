// Server-Sent Events (protocol/sse): the reader follows WHATWG HTML §9.2.6 (line endings, comments,
// multi-line data, events split across reads), what the endpoint writes reads back, and the
// query string of GET /live/v1 becomes the live query request or an error naming the parameter.
#include "protocol/sse/event_parser.hpp"
#include "protocol/sse/live_stream.hpp"

#include <gtest/gtest.h>

namespace walcast::protocol::sse {
namespace {

std::vector<Event> read_all(std::string_view bytes, std::size_t step) {
    EventParser parser;
    std::vector<Event> out;
    for (std::size_t at = 0; at < bytes.size(); at += step) {
        auto st = parser.feed(bytes.substr(at, step), [&](const Event& e) { out.push_back(e); });
        EXPECT_TRUE(st);
    }
    return out;
}

TEST(SseEventParser, FieldsCommentsLineEndingsAndSplitReads) {
    const std::string stream = "retry: 2000\n\n"
                               ": heartbeat\n\n"
                               "event: result\nid: 0/1\ndata: {\"a\":1}\n\n"
                               "data:first\r\ndata: second\r\n\r\n"
                               "event: diff\rdata: x\r\r"
                               "event: lost\n"; // not dispatched: no empty line yet
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, stream.size()}) {
        auto events = read_all(stream, step);
        ASSERT_EQ(events.size(), 3u) << "step " << step;
        EXPECT_EQ(events[0].type, "result");
        EXPECT_EQ(events[0].id, "0/1");
        EXPECT_EQ(events[0].data, "{\"a\":1}");
        EXPECT_EQ(events[1].type, "message");
        EXPECT_EQ(events[1].data, "first\nsecond");
        EXPECT_EQ(events[2].type, "diff");
        EXPECT_EQ(events[2].data, "x");
    }
}

TEST(SseEventParser, WhatTheEndpointWritesReadsBack) {
    auto events = read_all(
        sse_event("error", "", R"({"code":"timeout"})") + sse_event("diff", "0/16B3F28", "{}"), 7);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, "error");
    EXPECT_EQ(events[0].id, "");
    EXPECT_EQ(events[0].data, R"({"code":"timeout"})");
    EXPECT_EQ(events[1].id, "0/16B3F28");
}

TEST(SseEventParser, AnEventPastTheBoundIsRefused) {
    EventParser parser(16);
    auto st = parser.feed("data: " + std::string(32, 'x'), [](const Event&) {});
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("longer than 16 bytes"), std::string::npos);
}

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(LiveStreamRequest, QueryParametersBecomeTheRequest) {
    auto r = parse_stream_request({{"name", "pending"},
                                   {"params", "[42,\"x\",null]"},
                                   {"throttle_ms", "0"},
                                   {"key", "id,line"},
                                   {"full", "false"},
                                   {"refresh", R"({"items":"order_id=eq.:result/id"})"},
                                   {"apikey", "ignored-here"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->name, "pending");
    ASSERT_EQ(r->params.size(), 3u);
    EXPECT_EQ(r->params[0], "42");
    EXPECT_EQ(r->params[1], "x");
    EXPECT_EQ(r->params[2], std::nullopt);
    EXPECT_EQ(r->throttle_ms, 0u);
    EXPECT_EQ(r->key, (std::vector<std::string>{"id", "line"}));
    EXPECT_FALSE(r->full);
    ASSERT_EQ(r->refresh.size(), 1u);
    EXPECT_EQ(r->refresh[0].table, "items");

    auto k = parse_stream_request({{"sql", "SELECT 1"}, {"key", R"(["a b"])"}, {"full", ""}});
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(k->key, (std::vector<std::string>{"a b"}));
    EXPECT_TRUE(k->full);
}

TEST(LiveStreamRequest, ErrorsNameTheParameterAndTheFix) {
    auto message = [](const Query& q) {
        auto r = parse_stream_request(q);
        EXPECT_FALSE(r);
        return r ? std::string() : r.error().message;
    };
    EXPECT_NE(message({{"name", "a"}, {"params", "[1"}}).find("params is not JSON"),
              std::string::npos);
    EXPECT_NE(message({{"name", "a"}, {"params", "{}"}}).find("params must be an array"),
              std::string::npos);
    EXPECT_NE(message({{"name", "a"}, {"bogus", "1"}}).find("unknown parameter 'bogus'"),
              std::string::npos);
    EXPECT_NE(message({{"name", "a"}, {"name", "b"}}).find("given twice"), std::string::npos);
    EXPECT_NE(message({{"name", "a"}, {"full", "yes"}}).find("full must be true or false"),
              std::string::npos);
    EXPECT_NE(message({{"name", "a"}, {"throttle_ms", "-1"}}).find("throttle_ms"),
              std::string::npos);
    EXPECT_NE(message({}).find("exactly one of name"), std::string::npos);
}

} // namespace
} // namespace walcast::protocol::sse
