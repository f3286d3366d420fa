#include "server/server_context.hpp"

#include "server/ws_connection.hpp"

#include <vector>

namespace walcast::server {

ServerMetrics::ServerMetrics(MetricsRegistry& r)
    : connections(r.gauge("walcast_connections", "open WebSocket connections")),
      connects_refused(r.counter("walcast_connects_refused_total",
                                 "WebSocket upgrades refused (bad token, bad vsn)")),
      messages_delivered(r.counter("walcast_changes_delivered_total",
                                   "postgres_changes messages queued to client sockets")),
      messages_dropped(r.counter("walcast_changes_dropped_total",
                                 "postgres_changes messages discarded when a slow client was "
                                 "disconnected")),
      slow_disconnects(r.counter("walcast_slow_client_disconnects_total",
                                 "clients disconnected for exceeding the outgoing queue limits")),
      http_pending(r.gauge("walcast_http_pending_connections",
                           "connections that have not completed a WebSocket upgrade")),
      http_streams(r.gauge("walcast_http_streams",
                           "streamed HTTP responses in progress (Server-Sent Events: "
                           "GET /live/v1)")),
      http_timeouts(r.counter("walcast_http_request_timeouts_total",
                              "connections closed (408) for not sending a complete request "
                              "within HTTP_REQUEST_TIMEOUT_MS")),
      http_evicted(r.counter("walcast_http_pending_evicted_total",
                             "not-yet-upgraded connections closed (503) to stay within "
                             "MAX_PENDING_CONNECTIONS")),
      accept_exhausted(r.counter("walcast_accept_descriptors_exhausted_total",
                                 "accept failures for lack of file descriptors (EMFILE/ENFILE); "
                                 "accepting backs off")) {}

void ConnectionRegistry::add(const std::shared_ptr<WsConnection>& c) {
    std::lock_guard lock(mu_);
    connections_.emplace(c.get(), c);
}

void ConnectionRegistry::remove(const WsConnection* c) {
    std::lock_guard lock(mu_);
    connections_.erase(c);
}

void ConnectionRegistry::for_each(
    const std::function<void(const std::shared_ptr<WsConnection>&)>& f) const {
    std::vector<std::shared_ptr<WsConnection>> live;
    {
        std::lock_guard lock(mu_);
        live.reserve(connections_.size());
        for (const auto& [p, w] : connections_)
            if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (const auto& c : live)
        f(c);
}

std::size_t ConnectionRegistry::size() const {
    std::lock_guard lock(mu_);
    return connections_.size();
}

} // namespace walcast::server
