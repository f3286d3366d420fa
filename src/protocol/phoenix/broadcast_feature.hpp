// Broadcast as a channel feature (spec §7.1): the channel joins its topic in a broadcast::Hub;
// client pushes — V1/V2 JSON `broadcast` messages and V2 binary kind-3 frames — are relayed to
// every member of the topic on this node in the sender's order, encoded once per serializer
// (kind 3 → kind 4 for 2.0.0 members, JSON for 1.0.0 members, binary payloads not to 1.0.0),
// with `self` and `ack` as specified.
#pragma once

#include "broadcast/hub.hpp"
#include "broadcast/rate_counter.hpp"
#include "broadcast/topic_policies.hpp"
#include "common/metrics.hpp"
#include "protocol/phoenix/channel_feature.hpp"

#include <cstddef>

namespace walcast::protocol::phoenix {

/// broadcast::Message::kind values of the Phoenix features.
inline constexpr std::uint8_t kind_broadcast = 0;
inline constexpr std::uint8_t kind_presence = 1;

/// Limits of client broadcasts (spec §7.1.7).
struct BroadcastLimits {
    /// Largest user payload in bytes (JSON text or binary bytes); RT's default is
    /// max_payload_size_in_kb 3000 × 1000 + 500 bytes of slack.
    std::size_t max_payload_bytes = 3000 * 1000 + 500;
};

/// Present on every channel. A private channel (`config.private`, spec §7.3) is joined only
/// when its token may read the topic (broadcast.read, or presence.read with presence enabled)
/// by the RLS policies of realtime.messages, checked through `policies` (null: private joins
/// refused); its member receives broadcasts only with broadcast.read and presence diffs only
/// with presence.read; its first broadcast waits for the write check, and without
/// broadcast.write its broadcasts are dropped silently (no ack); an access_token refresh
/// re-checks the reads and closes the channel when a read is lost (ChannelPermissions).
/// Every published client broadcast counts one event on `events` (the tenant's events/s, spec
/// §7.1.7), and so does every delivery; a channel that receives while the average is over the limit
/// is shut down with `system` "Too many messages per second" (the counter's message) and
/// phx_close — the sender is not. hub, registry and events must outlive the factory and every
/// channel.
class BroadcastFeatureFactory final : public ChannelFeatureFactory {
public:
    BroadcastFeatureFactory(broadcast::Hub& hub, MetricsRegistry& registry,
                            broadcast::RateCounter& events, BroadcastLimits limits,
                            broadcast::TopicPolicies* policies);
    std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) override;

    /// The Hub topic of a channel: its namespace (public / private, which never see each
    /// other, spec §7.0) and its sub-topic.
    static std::string hub_topic(std::string_view channel_topic, bool is_private);

private:
    broadcast::Hub& hub_;
    broadcast::TopicPolicies* const policies_;
    broadcast::RateCounter& events_;
    Counter& received_;
    Counter& delivered_;
    Counter& dropped_;
    const BroadcastLimits limits_;
};

} // namespace walcast::protocol::phoenix
