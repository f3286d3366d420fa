// ServerContext: what every connection of the server shares — configuration, metrics, health,
// static files, the upgrade dispatcher (which protocol serves a WebSocket), and the registry of
// live connections the housekeeping timer sweeps.
#pragma once

#include "common/metrics.hpp"
#include "config/config.hpp"
#include "protocol/http_route.hpp"
#include "server/static_files.hpp"
#include "server/upgrade_dispatcher.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace walcast::server {

class WsConnection;

/// Health of the replication stream for GET /healthz.
struct Health {
    bool up = false;
    std::string reason; ///< why it is down (empty when up)
    /// The last gap of the change stream (capture::Gap) as told to subscribers, empty if none;
    /// gap_open: changes are being lost now.
    std::string last_gap;
    bool gap_open = false;
    std::string capture;        ///< the capture source: "logical" or "trigger" ("" = not said)
    std::string capture_reason; ///< why CAPTURE chose it ("CAPTURE=trigger", "auto: …")
};

/// Transport metrics, registered once (the protocols register their own).
struct ServerMetrics {
    explicit ServerMetrics(MetricsRegistry& registry);
    Gauge& connections;
    Counter& connects_refused;
    Counter& messages_delivered; ///< data frames (postgres_changes, …) queued to sockets
    Counter& messages_dropped;   ///< frames discarded when a slow client was cut off
    Counter& slow_disconnects;   ///< clients disconnected for exceeding the queue limits
    Gauge& http_pending;         ///< connections not (yet) upgraded to a WebSocket
    Gauge& http_streams;         ///< streamed responses in progress (Server-Sent Events)
    Counter& http_timeouts;      ///< closed for not sending a request within the timeout
    Counter& http_evicted;       ///< closed to stay within MAX_PENDING_CONNECTIONS
    Counter& accept_exhausted;   ///< accept(2) failures for lack of descriptors (EMFILE, ENFILE)
};

/// Live WebSocket connections, held weakly, for housekeeping sweeps, metrics and shutdown.
class ConnectionRegistry {
public:
    void add(const std::shared_ptr<WsConnection>& c);
    void remove(const WsConnection* c);
    /// Calls f for every live connection (outside the registry lock).
    void for_each(const std::function<void(const std::shared_ptr<WsConnection>&)>& f) const;
    std::size_t size() const;

private:
    mutable std::mutex mu_;
    std::unordered_map<const WsConnection*, std::weak_ptr<WsConnection>> connections_;
};

struct ServerContext {
    const Config& config;
    MetricsRegistry& registry;
    ServerMetrics& metrics;
    ConnectionRegistry& connections;
    std::function<Health()> health;
    /// Static files served over HTTP (the inspector page); may be null.
    std::shared_ptr<const StaticFiles> static_files;
    /// The WebSocket routes (filled before listen()).
    const UpgradeDispatcher& upgrades;
    /// Plain HTTP endpoints of the protocols (REST broadcast); may be null.
    const protocol::HttpRoutes* routes = nullptr;
};

} // namespace walcast::server
