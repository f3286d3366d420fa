// HttpServer: the listening socket. Plain HTTP requests get /healthz, /metrics and static
// files (the inspector page); WebSocket upgrades on the paths the UpgradeDispatcher serves are
// decided by their protocol and become WsConnections with that protocol's session.
#pragma once

#include "common/result.hpp"
#include "server/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <string>

namespace walcast::server {

/// Accepts connections on an io_context run by any number of threads; each connection gets its
/// own strand.
class HttpServer {
public:
    HttpServer(boost::asio::io_context& io, ServerContext& ctx);

    /// Binds and starts accepting. port 0 = an ephemeral port (see port()). Errors name the
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
    std::uint16_t port_ = 0;
};

} // namespace walcast::server
