// A live query request as JSON (livequery/request_json: realtime-js's
// `config.broadcast.live_query`, GET /live/v1): the keys, parameters as text, and errors naming the
// key.
#include "livequery/request_json.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace walcast::livequery {
namespace {

Result<Request> parse(std::string_view json) {
    return parse_request(boost::json::parse(json));
}

TEST(LiveQueryConfig, NamedQueryWithParametersThrottleAndKey) {
    auto r = parse(
        R"({"name":"pending","params":[1,"x",null,true,{"a":1}],"throttle_ms":0,"key":"id"})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->name, "pending");
    ASSERT_EQ(r->params.size(), 5u);
    EXPECT_EQ(r->params[0], "1");
    EXPECT_EQ(r->params[1], "x");
    EXPECT_EQ(r->params[2], std::nullopt);
    EXPECT_EQ(r->params[3], "true");
    EXPECT_EQ(r->params[4], R"({"a":1})");
    EXPECT_EQ(r->throttle_ms, 0u);
    EXPECT_EQ(r->key, (std::vector<std::string>{"id"}));
    EXPECT_FALSE(r->full);
}

TEST(LiveQueryConfig, RefusalsNameTheKey) {
    auto msg = [](std::string_view json) {
        auto r = parse(json);
        return r ? std::string("accepted") : r.error().message;
    };
    EXPECT_NE(msg(R"("SELECT 1")").find("must be an object"), std::string::npos);
    EXPECT_NE(msg(R"({})").find("exactly one of name"), std::string::npos);
    EXPECT_NE(msg(R"({"name":"a","sql":"SELECT 1"})").find("exactly one of name"),
              std::string::npos);
    EXPECT_NE(msg(R"({"sql":"SELECT 1","params":{}})").find("params must be an array"),
              std::string::npos);
    EXPECT_NE(msg(R"({"sql":"SELECT 1","throttle_ms":1.5})").find("throttle_ms"),
              std::string::npos);
    EXPECT_NE(msg(R"({"sql":"SELECT 1","throttle_ms":-1})").find("throttle_ms"), std::string::npos);
    EXPECT_NE(msg(R"({"sql":"SELECT 1","key":[1]})").find("key must be"), std::string::npos);
    EXPECT_NE(msg(R"({"sql":"SELECT 1","bogus":1})").find("unknown key 'bogus'"),
              std::string::npos);
}

} // namespace
} // namespace walcast::livequery
