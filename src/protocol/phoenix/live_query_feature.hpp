// Live queries on a Phoenix channel, for realtime-js / supabase-js unmodified (issue 13):
// realtime-js 2.119 keeps unknown keys only inside `broadcast`, `presence` and
// `postgres_changes_options` of the join config, so the live query rides in
// `config.broadcast.live_query` and its pushes are `broadcast` messages that
// `channel.on('broadcast', { event: 'result' | 'diff' | 'error' }, …)` receives:
//
//   config: { broadcast: { live_query: {
//       name: "pending_orders" | sql: "SELECT …",   one of them (sql: LIVE_SQL_ROLES only)
//       params: [1, "x", null],                      $1, $2, … (non-strings as JSON text)
//       throttle_ms: 0,                              optional (default 500 or the query's)
//       key: ["id"] | "id",                          optional: the diffs' key columns
//       full: true } } }                             optional: whole results, never diffs
//
// The join reply's response carries `live_query: {"columns": [...], "key": [...]}`; a refused
// query fails the join with the engine's reason. Then the first `result`, a `diff` (or
// `result` with full or without a key) whenever the result changes, `error` when a run
// fails (the channel stays). Payload shapes: livequery::append_update_json, docs/livequery.md.
// The channel's token decides the identity; an access_token refresh that changes it
// subscribes again (a new first `result`). The token's role is checked first exactly as a
// Postgres Changes join's is (SubscriptionService::check_role: a superuser or BYPASSRLS role not
// in JWT_ALLOWED_ROLES, an unknown role or one walcast cannot assume is refused), since the
// query runs as that role.
#pragma once

#include "core/routing/subscription_service.hpp"
#include "livequery/engine.hpp"
#include "livequery/request_json.hpp"
#include "protocol/phoenix/channel_feature.hpp"

namespace walcast::protocol::phoenix {

class LiveQueryFeatureFactory final : public ChannelFeatureFactory {
public:
    /// engine and subscriptions (its role check) must outlive the factory and every channel.
    LiveQueryFeatureFactory(livequery::Engine& engine, core::SubscriptionService& subscriptions)
        : engine_(engine), subscriptions_(subscriptions) {}
    /// Null unless the join config has `broadcast.live_query`.
    std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) override;

private:
    livequery::Engine& engine_;
    core::SubscriptionService& subscriptions_;
};

} // namespace walcast::protocol::phoenix
