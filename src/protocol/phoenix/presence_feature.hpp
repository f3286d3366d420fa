// Presence as a channel feature (spec §7.2): `presence_state` after the join reply when
// enabled, `track` / `untrack` pushes answered per §7.2.3, leaves when the channel ends, and
// `presence_diff` fan-outs to every member of the topic — coalesced per topic every
// `flush_interval` by one flusher thread and published through the broadcast Hub (encoded once
// per serializer).
#pragma once

#include "broadcast/hub.hpp"
#include "broadcast/rate_counter.hpp"
#include "broadcast/topic_policies.hpp"
#include "presence/tracker.hpp"
#include "protocol/phoenix/channel_feature.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace walcast::protocol::phoenix {

/// Limits of presence pushes (spec §7.2.7).
struct PresenceLimits {
    std::uint32_t max_calls = 5;                       ///< CLIENT_PRESENCE_MAX_CALLS per window
    std::chrono::milliseconds window{30'000};          ///< CLIENT_PRESENCE_WINDOW_MS
    std::size_t max_payload_bytes = 3000 * 1000 + 500; ///< as broadcast payloads
    std::chrono::milliseconds flush_interval{50};      ///< diff coalescing window
};

/// Present on every channel (its Hub membership is the broadcast feature's: register after
/// BroadcastFeatureFactory). On a private channel presence_state and diffs need presence.read
/// and a track presence.write (ChannelPermissions, shared with the broadcast feature;
/// `policies` as BroadcastFeatureFactory's). `presence_events` is the tenant's presence events/s
/// (spec §7.2.7): presence_state pushes, tracks and every diff delivery count one; past its limit
/// the channel is shut down with "Too many presence messages per second". Owns the flusher thread;
/// hub and presence_events must outlive the factory.
class PresenceFeatureFactory final : public ChannelFeatureFactory {
public:
    PresenceFeatureFactory(broadcast::Hub& hub, broadcast::RateCounter& presence_events,
                           PresenceLimits limits, broadcast::TopicPolicies* policies);
    ~PresenceFeatureFactory() override;
    std::shared_ptr<ChannelFeature> make(ChannelHandle& ch) override;

    presence::Tracker& tracker() { return tracker_; }

private:
    void run();

    broadcast::Hub& hub_;
    broadcast::RateCounter& rate_;
    const PresenceLimits limits_;
    broadcast::TopicPolicies* const policies_;
    presence::Tracker tracker_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread flusher_;
};

} // namespace walcast::protocol::phoenix
