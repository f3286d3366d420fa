// ServerContext: what every connection of the server shares — configuration, the token
// verifier, the subscription service, metrics, health, and the registry of live sessions the
// housekeeping timer sweeps.
#pragma once

#include "auth/jwt_verifier.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "core/subscription_service.hpp"
#include "server/static_files.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace walcast::server {

class WsSession;

/// Health of the replication stream for GET /healthz.
struct Health {
    bool up = false;
    std::string reason; ///< why it is down (empty when up)
};

/// Server-side metrics, registered once.
struct ServerMetrics {
    explicit ServerMetrics(MetricsRegistry& registry);
    Gauge& connections;
    Gauge& channels;
    Counter& connects_refused;
    Counter& messages_delivered; ///< postgres_changes frames queued to sockets
    Counter& messages_dropped;   ///< frames discarded when a slow client was cut off
    Counter& slow_disconnects;   ///< clients disconnected for exceeding the queue limits
    Counter& frames_ignored;     ///< malformed client frames (logged and ignored)
    Counter& joins;
    Counter& join_errors;
};

/// Live WebSocket sessions, held weakly, for housekeeping sweeps, metrics and shutdown.
class SessionRegistry {
public:
    void add(const std::shared_ptr<WsSession>& s);
    void remove(const WsSession* s);
    /// Calls f for every live session (outside the registry lock).
    void for_each(const std::function<void(const std::shared_ptr<WsSession>&)>& f) const;
    std::size_t size() const;

private:
    mutable std::mutex mu_;
    std::unordered_map<const WsSession*, std::weak_ptr<WsSession>> sessions_;
};

struct ServerContext {
    const Config& config;
    const auth::JwtVerifier& verifier;
    core::SubscriptionService& subscriptions;
    MetricsRegistry& registry;
    ServerMetrics& metrics;
    SessionRegistry& sessions;
    std::function<Health()> health;
    /// Static files served over HTTP (the inspector page); may be null.
    std::shared_ptr<const StaticFiles> static_files;
};

} // namespace walcast::server
