// HttpServer: the listening socket. Plain HTTP requests get /healthz, /metrics and static
// files (the inspector page); WebSocket upgrades on the paths the UpgradeDispatcher serves are
// decided by their protocol and become WsConnections with that protocol's session.
#pragma once

#include "common/result.hpp"
#include "server/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace walcast::server {

class PendingConnections;

/// How long accepting pauses when accept(2) fails for lack of descriptors (EMFILE, ENFILE).
inline constexpr std::chrono::milliseconds accept_backoff{100};

/// Accepts connections on an io_context run by any number of threads; each connection gets its
/// own strand. Hostile input is bounded here: every request must arrive complete within
/// HTTP_REQUEST_TIMEOUT_MS (else 408), at most MAX_PENDING_CONNECTIONS connections may be
/// waiting for their request or upgrade (past it the oldest gets 503), and when accept(2) runs
/// out of descriptors accepting backs off for accept_backoff with a warning (every 10 s at most)
/// and walcast_accept_descriptors_exhausted_total, instead of spinning.
class HttpServer {
public:
    HttpServer(boost::asio::io_context& io, ServerContext& ctx);

    /// Loads TLS_CERT_FILE/TLS_KEY_FILE when set (errors name the file and the fix), binds
    /// and starts accepting. port 0 = an ephemeral port (see port()). Errors name the
    /// address and the fix (e.g. "port 4000 is in use; set PORT to another port").
    Status listen(const std::string& host, std::uint16_t port);
    std::uint16_t port() const { return port_; }

    /// Stops accepting and closes every connection with 1001 (going away). Any thread.
    void stop();

private:
    void do_accept();
    void schedule_sweep();

    boost::asio::io_context& io_;
    ServerContext& ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer accept_backoff_timer_; ///< on the acceptor's strand
    std::shared_ptr<PendingConnections> pending_;
    // Acceptor strand only: the current descriptor shortage (nullopt = none) and its last log.
    std::optional<std::chrono::steady_clock::time_point> exhausted_since_;
    std::chrono::steady_clock::time_point last_exhausted_log_{};
    std::uint16_t port_ = 0;
    std::shared_ptr<boost::asio::ssl::context> tls_; ///< null = plain HTTP
    Counter& tls_failures_;
};

} // namespace walcast::server
