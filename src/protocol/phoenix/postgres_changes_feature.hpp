// Postgres Changes as a channel feature: the join's `config.postgres_changes` bindings are
// parsed as Supabase Realtime parses them (protocol/supabase), subscribed through
// core::SubscriptionService; the reply echoes each binding with its id (protocol spec §3.2),
// then a `system` push reports the outcome in Supabase's words; changes reach the client
// through a PostgresChangesSink in the postgres_changes format.
#pragma once

#include "core/routing/subscription_service.hpp"
#include "protocol/phoenix/channel_feature.hpp"

#include <functional>
#include <optional>
#include <string>

namespace walcast::protocol::phoenix {

/// Present on every channel (the join reply always carries `postgres_changes`, `[]` when the
/// join has no bindings). subscriptions must outlive the factory and every channel.
class PostgresChangesFeatureFactory final : public ChannelFeatureFactory {
public:
    /// The message of the change stream's open gap (capture::Gap: changes being lost now,
    /// e.g. the slot was invalidated), or nullopt. Any thread.
    using OpenGap = std::function<std::optional<std::string>()>;

    /// open_gap: asked after each join; while a gap is open the join's `system` push says so
    /// (status error) instead of "Subscribed to PostgreSQL". Empty: never.
    explicit PostgresChangesFeatureFactory(core::SubscriptionService& subscriptions,
                                           OpenGap open_gap = {})
        : subscriptions_(subscriptions), open_gap_(std::move(open_gap)) {}
    std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) override;

private:
    core::SubscriptionService& subscriptions_;
    OpenGap open_gap_;
};

} // namespace walcast::protocol::phoenix
