#include "server/websocket_handshake.hpp"

#include <gtest/gtest.h>

namespace walcast::server {

TEST(WebsocketHandshakeTest, AcceptKeyMatchesRfc6455Example) {
    // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

} // namespace walcast::server
