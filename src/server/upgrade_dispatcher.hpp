// UpgradeDispatcher: which protocol serves a WebSocket upgrade, chosen from the request path
// and the Sec-WebSocket-Protocol values the client offers. The composition root registers each
// protocol once (Phoenix on /socket/websocket and /realtime/v1/websocket; GraphQL over
// graphql-transport-ws on /graphql is one more add()).
#pragma once

#include "protocol/session.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace walcast::server {

/// Filled before the server starts, read-only afterwards (then safe from any thread).
class UpgradeDispatcher {
public:
    /// Serves upgrades on any of paths with handler. subprotocols: the Sec-WebSocket-Protocol
    /// values this protocol speaks, in preference order; empty = the route ignores the header
    /// (and answers without one). Routes are tried in registration order.
    void add(std::vector<std::string> paths, std::vector<std::string> subprotocols,
             protocol::UpgradeHandler handler);

    /// The route for a request, or nullptr when no route serves path with one of the offered
    /// subprotocols.
    struct Match {
        const protocol::UpgradeHandler* handler = nullptr;
        std::string subprotocol; ///< to answer with ("" = no Sec-WebSocket-Protocol header)
    };
    Match match(std::string_view path, const std::vector<std::string>& offered) const;

    /// True when some route serves path (whatever the subprotocol): a plain GET there is a
    /// failed upgrade, not a page.
    bool serves(std::string_view path) const;

private:
    struct Route {
        std::vector<std::string> paths;
        std::vector<std::string> subprotocols;
        protocol::UpgradeHandler handler;
    };
    std::vector<Route> routes_;
};

/// Splits a Sec-WebSocket-Protocol header value ("graphql-transport-ws, graphql-ws") into its
/// tokens, trimmed, empty ones dropped (RFC 6455 §4.1, §11.3.4).
std::vector<std::string> parse_subprotocols(std::string_view header);

} // namespace walcast::server
