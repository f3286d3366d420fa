#include "protocol/phoenix/channel_permissions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace walcast::protocol::phoenix {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

HeaderWalk walk(Headers headers) {
    return [headers = std::move(headers)](const auto& visit) {
        for (const auto& [name, value] : headers)
            visit(name, value);
    };
}

TEST(RequestHeadersJson, UpgradeKeepsOnlyXHeadersWithLowerCaseNames) {
    const auto json = request_headers_json(walk({{"Host", "h"},
                                                 {"X-Room-Key", "k1"},
                                                 {"Upgrade", "websocket"},
                                                 {"x-client-info", "realtime-js/2.119.0"}}),
                                           true);
    EXPECT_EQ(json, R"({"x-room-key":"k1","x-client-info":"realtime-js/2.119.0"})");
}

TEST(RequestHeadersJson, RestKeepsEveryHeader) {
    const auto json = request_headers_json(walk({{"Host", "h"}, {"Content-Type", "a/b"}}), false);
    EXPECT_EQ(json, R"({"host":"h","content-type":"a/b"})");
}

TEST(RequestHeadersJson, RepeatedNameKeepsTheLastValue) {
    const auto json =
        request_headers_json(walk({{"x-a", "first"}, {"X-A", "second"}, {"x-b", "b"}}), true);
    EXPECT_EQ(json, R"({"x-a":"second","x-b":"b"})");
}

TEST(RequestHeadersJson, ValuesAreEscapedAsJsonStrings) {
    const auto json = request_headers_json(walk({{"x-q", "a\"b\\c"}}), true);
    EXPECT_EQ(json, R"({"x-q":"a\"b\\c"})");
}

TEST(RequestHeadersJson, NoHeadersOrNoWalkGiveAnEmptyObject) {
    EXPECT_EQ(request_headers_json(walk({{"Host", "h"}}), true), "{}");
    EXPECT_EQ(request_headers_json(HeaderWalk{}, true), "{}");
}

} // namespace
} // namespace walcast::protocol::phoenix
