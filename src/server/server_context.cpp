#include "server/server_context.hpp"

#include "server/ws_session.hpp"

#include <vector>

namespace walcast::server {

ServerMetrics::ServerMetrics(MetricsRegistry& r)
    : connections(r.gauge("walcast_connections", "open WebSocket connections")),
      channels(r.gauge("walcast_channels", "joined channels")),
      connects_refused(r.counter("walcast_connects_refused_total",
                                 "WebSocket upgrades refused (bad token, bad vsn)")),
      messages_delivered(r.counter("walcast_changes_delivered_total",
                                   "postgres_changes messages queued to client sockets")),
      messages_dropped(r.counter("walcast_changes_dropped_total",
                                 "postgres_changes messages discarded when a slow client was "
                                 "disconnected")),
      slow_disconnects(r.counter("walcast_slow_client_disconnects_total",
                                 "clients disconnected for exceeding the outgoing queue limits")),
      frames_ignored(
          r.counter("walcast_frames_ignored_total", "malformed client frames logged and ignored")),
      joins(r.counter("walcast_joins_total", "channel joins received")),
      join_errors(r.counter("walcast_join_errors_total", "channel joins answered with an error")) {}

void SessionRegistry::add(const std::shared_ptr<WsSession>& s) {
    std::lock_guard lock(mu_);
    sessions_.emplace(s.get(), s);
}

void SessionRegistry::remove(const WsSession* s) {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
}

void SessionRegistry::for_each(
    const std::function<void(const std::shared_ptr<WsSession>&)>& f) const {
    std::vector<std::shared_ptr<WsSession>> live;
    {
        std::lock_guard lock(mu_);
        live.reserve(sessions_.size());
        for (const auto& [p, w] : sessions_)
            if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (const auto& s : live)
        f(s);
}

std::size_t SessionRegistry::size() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
}

} // namespace walcast::server
