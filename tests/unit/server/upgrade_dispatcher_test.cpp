// The upgrade dispatcher picks a protocol by path and offered Sec-WebSocket-Protocol values.
#include "server/upgrade_dispatcher.hpp"

#include <gtest/gtest.h>

namespace walcast::server {
namespace {

protocol::UpgradeHandler refusing(unsigned status) {
    return [status](const protocol::UpgradeRequest&) -> protocol::UpgradeDecision {
        return protocol::UpgradeRefuse{status, ""};
    };
}

unsigned status_of(const UpgradeDispatcher::Match& m) {
    protocol::UpgradeRequest req;
    return std::get<protocol::UpgradeRefuse>((*m.handler)(req)).status;
}

TEST(UpgradeDispatcherTest, PicksTheRouteByPathAndOfferedSubprotocol) {
    UpgradeDispatcher d;
    d.add({"/socket/websocket", "/realtime/v1/websocket"}, {}, refusing(401));
    d.add({"/graphql"}, {"graphql-transport-ws", "graphql-ws"}, refusing(402));

    auto phoenix = d.match("/realtime/v1/websocket", {"anything"});
    ASSERT_TRUE(phoenix.handler);
    EXPECT_EQ(status_of(phoenix), 401u);
    EXPECT_EQ(phoenix.subprotocol, ""); // a route without subprotocols answers without one

    auto gql = d.match("/graphql", {"graphql-ws", "graphql-transport-ws"});
    ASSERT_TRUE(gql.handler);
    EXPECT_EQ(status_of(gql), 402u);
    EXPECT_EQ(gql.subprotocol, "graphql-transport-ws"); // the route's preference wins

    EXPECT_FALSE(d.match("/graphql", {"mqtt"}).handler);
    EXPECT_FALSE(d.match("/graphql", {}).handler);
    EXPECT_TRUE(d.serves("/graphql"));
    EXPECT_FALSE(d.serves("/socket"));
    EXPECT_FALSE(d.match("/socket", {}).handler);
}

TEST(UpgradeDispatcherTest, SubprotocolHeaderIsSplitIntoTrimmedTokens) {
    EXPECT_EQ(parse_subprotocols("graphql-transport-ws, graphql-ws"),
              (std::vector<std::string>{"graphql-transport-ws", "graphql-ws"}));
    EXPECT_EQ(parse_subprotocols(" a ,, \tb\t,"), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(parse_subprotocols("").empty());
}

} // namespace
} // namespace walcast::server
