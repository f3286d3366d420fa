// TLS on the listener (TLS_CERT_FILE, TLS_KEY_FILE): the server's OpenSSL context, and the
// relay that terminates TLS for one accepted connection and hands the HTTP/WebSocket code the
// plaintext over a socketpair, so that code (which writes to its socket's descriptor directly
// from delivering threads, WsConnection::flush_round) stays plain-socket code.
#pragma once

#include "common/metrics.hpp"
#include "common/result.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace walcast::server {

/// A TLS 1.2/1.3 server context with the certificate chain and key loaded and checked. Errors
/// name the setting, the file and the fix: unreadable, not PEM, key not the certificate's.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const std::string& cert_file,
                                                                    const std::string& key_file);

/// Starts relaying `tcp` (accepted, on a strand) through TLS. Returns the plaintext end of the
/// socketpair, on the same strand, for the HTTP layer; the relay lives as long as either side
/// is open. The handshake needs nothing from that end: a connection still in its handshake is
/// a pending HTTP connection that has sent nothing, so MAX_PENDING_CONNECTIONS eviction and
/// HTTP_REQUEST_TIMEOUT_MS apply to it, and closing the plaintext end ends the handshake.
/// A handshake that fails (not TLS, a client refusing the certificate) counts in
/// handshake_failures. A write to the client that makes no progress for stall_timeout ends the
/// connection (the HTTP/WebSocket side may have given up on the client meanwhile). Errors only
/// when no socketpair can be made (descriptors exhausted).
Result<boost::asio::generic::stream_protocol::socket>
start_tls_relay(boost::asio::ip::tcp::socket tcp, boost::asio::ssl::context& context,
                Counter& handshake_failures, std::chrono::seconds stall_timeout);

} // namespace walcast::server
