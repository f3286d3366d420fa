// The REST broadcast endpoints (spec §7.5): `POST /api/broadcast` (a batch of JSON messages)
// and `POST /api/broadcast/:topic/events/:event[?private=true]` (one message, JSON or bytes),
// also under the gateway's `/realtime/v1` prefix; what realtime-js uses for `channel.send()`
// before the join and for `httpSend()`. Messages go to the topic's members on this node
// through the broadcast Hub; private topics only when the token may write them (the write
// check of private channels, §7.3.4).
#pragma once

#include "auth/jwt_verifier.hpp"
#include "broadcast/hub.hpp"
#include "broadcast/rate_counter.hpp"
#include "broadcast/topic_policies.hpp"
#include "common/metrics.hpp"
#include "protocol/http_route.hpp"
#include "protocol/phoenix/broadcast_feature.hpp"

namespace walcast::protocol::phoenix {

/// Largest request body (Plug's parser default, spec §7.5.5).
inline constexpr std::size_t rest_max_body_bytes = 8 * 1024 * 1024;

/// Thread-safe; answers on the caller's thread or, for private topics, on a TopicPolicies
/// worker. Statuses: 202 empty (accepted; a batch's private topics without write permission
/// are skipped silently, as the reference does), 401 {"message":"Unauthorized"} (no or a bad
/// token: `Authorization: Bearer`, else `apikey`), 403 (single private message without write
/// permission), 415 (single: a Content-Type other than JSON or octet-stream), 422 (a batch's
/// validation errors per message; single: RLS error, missing partition, no database), 429
/// (the tenant's events/s, TENANT_MAX_EVENTS_PER_SECOND), with the reference's bodies. Every
/// response carries `Access-Control-Allow-Origin: *`; OPTIONS answers the CORS preflight.
/// verifier, hub, policies (may be null: private messages are not accepted), events and
/// registry must outlive it.
class RestBroadcast {
public:
    RestBroadcast(const auth::JwtVerifier& verifier, broadcast::Hub& hub,
                  broadcast::TopicPolicies* policies, broadcast::RateCounter& events,
                  BroadcastLimits limits, MetricsRegistry& registry);

    /// The routes: /api/broadcast and /realtime/v1/api/broadcast.
    std::vector<HttpRoute> routes();

    void handle(const HttpRequest& request, std::function<void(HttpResponse)> respond);

private:
    void batch(const auth::Claims& claims, const HttpRequest& request,
               std::function<void(HttpResponse)> respond);
    void single(const auth::Claims& claims, const HttpRequest& request, const std::string& topic,
                const std::string& event, std::function<void(HttpResponse)> respond);

    const auth::JwtVerifier& verifier_;
    broadcast::Hub& hub_;
    broadcast::TopicPolicies* const policies_;
    broadcast::RateCounter& events_;
    const BroadcastLimits limits_;
    Counter& accepted_;
};

} // namespace walcast::protocol::phoenix
