// Live queries over Server-Sent Events (issue 13): `GET /live/v1` streams one live query's
// pushes as `text/event-stream` (WHATWG HTML §9.2, docs/protocol/server-sent-events.md), for
// any language, curl -N, and a browser's native EventSource without a library.
//
//   GET /live/v1?name=pending_orders&params=[42]           a named query (LIVE_QUERIES_DIR)
//   GET /live/v1?sql=SELECT%20…                            raw SQL (roles of LIVE_SQL_ROLES)
//       &throttle_ms=0 &key=id,line (or a JSON array) &full=true &refresh={"items":"…"}
//   Authorization: Bearer <jwt>   or   ?apikey=<jwt>      (EventSource cannot set headers)
//
// The stream, each event one `event:`/`id:`/`data:` block (data one line of JSON, the same
// payloads as the realtime-js front end: livequery::append_update_json, docs/livequery.md):
//
//   retry: 2000
//   event: result   id: <position>   data: {"position","at","columns","key","rows"}
//   event: diff     id: <position>   data: {"position","at","key","inserted","updated",…}
//   event: error                     data: {"code","message"}   (the stream stays)
//   : (a comment every 15 s without an event)
//
// At the token's exp the stream ends after `event: error` with code `token_expired`. Refusals
// are answered before the stream, as JSON `{"message": …}` naming the fix: 400 (a bad
// parameter, SQL that does not prepare or reads nothing captured), 401 (no or an invalid
// token), 403 (raw SQL from a role not in LIVE_SQL_ROLES, a role walcast may not assume), 404
// (no such named query), 503 (LIVE_SSE_MAX_STREAMS reached, the database unavailable).
#pragma once

#include "auth/jwt_verifier.hpp"
#include "common/metrics.hpp"
#include "core/routing/subscription_service.hpp"
#include "livequery/engine.hpp"
#include "protocol/http_route.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace walcast::protocol::sse {

/// Options of the endpoint.
struct LiveStreamOptions {
    std::uint32_t max_streams = 10'000; ///< LIVE_SSE_MAX_STREAMS
    std::chrono::milliseconds heartbeat{15'000};
};

/// The `/live/v1` route. verifier, subscriptions (its role check) and engine must outlive
/// every stream; the object itself must outlive the routes it returns.
class LiveStreams {
public:
    LiveStreams(const auth::JwtVerifier& verifier, core::SubscriptionService& subscriptions,
                livequery::Engine& engine, LiveStreamOptions options, MetricsRegistry& registry);

    /// The route for HttpRoutes (GET and OPTIONS on /live/v1).
    HttpRoute route();

    /// Streams open now. Any thread.
    std::uint32_t open_streams() const { return open_->load(); }

private:
    void handle(const HttpRequest& req, std::function<void(HttpResponse)> respond);

    const auth::JwtVerifier& verifier_;
    core::SubscriptionService& subscriptions_;
    livequery::Engine& engine_;
    const LiveStreamOptions options_;
    /// Shared with the streams, which may outlive this object by their last event.
    std::shared_ptr<std::atomic<std::uint32_t>> open_;
    Counter& refused_;
};

/// The request a query string asks for (identity not set): name, sql, params (a JSON array),
/// throttle_ms, key (`a,b` or a JSON array), full (true/false), refresh (a JSON object);
/// apikey is the token and otherwise ignored. Errors (Errc::InvalidInput) name the parameter
/// and its expected shape; an unknown parameter is one. Pure.
Result<livequery::Request>
parse_stream_request(const std::vector<std::pair<std::string, std::string>>& query);

/// One Server-Sent Events block: `event: <event>\n[id: <id>\n]data: <data>\n\n` (data must be
/// one line). Pure.
std::string sse_event(std::string_view event, std::string_view id, std::string_view data);

} // namespace walcast::protocol::sse
