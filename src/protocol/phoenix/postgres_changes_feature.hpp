// Postgres Changes as a channel feature: the join's `config.postgres_changes` bindings are
// parsed as Supabase Realtime parses them (protocol/supabase), subscribed through
// core::SubscriptionService; the reply echoes each binding with its id (protocol spec §3.2),
// then a `system` push reports the outcome in Supabase's words; changes reach the client
// through a PostgresChangesSink in the postgres_changes format.
#pragma once

#include "core/routing/subscription_service.hpp"
#include "protocol/phoenix/channel_feature.hpp"

namespace walcast::protocol::phoenix {

/// Present on every channel (the join reply always carries `postgres_changes`, `[]` when the
/// join has no bindings). subscriptions must outlive the factory and every channel.
class PostgresChangesFeatureFactory final : public ChannelFeatureFactory {
public:
    explicit PostgresChangesFeatureFactory(core::SubscriptionService& subscriptions)
        : subscriptions_(subscriptions) {}
    std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) override;

private:
    core::SubscriptionService& subscriptions_;
};

} // namespace walcast::protocol::phoenix
