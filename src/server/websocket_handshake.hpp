// The server half of the WebSocket opening handshake (RFC 6455 §4.2.2): the
// Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
#pragma once

#include <string>
#include <string_view>

namespace walcast::server {

/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) per RFC 6455 §4.2.2 step 5.4.
std::string websocket_accept_key(std::string_view client_key);

} // namespace walcast::server
