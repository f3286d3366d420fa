// ChannelSink: where core hands a channel its changes, in commit order. Implemented by each
// protocol's channel (Phoenix: PostgresChangesSink, which frames and queues the bytes); core
// knows nothing of framing.
#pragma once

#include "capture/change_sink.hpp"

#include "common/delivery_round.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace walcast::core {

/// Receiver of one channel's change messages.
class ChannelSink {
public:
    virtual ~ChannelSink() = default;

    /// One change for this channel. data: the change rendered in the subscription's payload
    /// format, once, and shared by every channel receiving the same (variant, format);
    /// ids: the ids of this channel's bindings that matched, in binding order (may repeat).
    /// Called from the router or an authorizer thread, in commit order per channel (core
    /// guarantees it); must not block: queue and return. round: the delivering thread's
    /// delivery round — output joins it and is sent when that thread closes it.
    virtual void deliver(const std::shared_ptr<const std::string>& data,
                         std::span<const std::int64_t> ids, DeliveryRound& round) = 0;

    /// Changes this channel should have received may be missing (capture::Gap: between which
    /// times and positions, and why). The protocol words it for its clients (Phoenix: a
    /// `system` message, see protocol/supabase/messages.hpp). In order with deliver(); same
    /// threads and rules as deliver().
    virtual void notify_gap(const capture::Gap& gap, DeliveryRound& round) {
        (void)gap;
        (void)round;
    }

    /// Core has stopped routing to this channel because it passed a limit; reason is a
    /// neutral English sentence naming the setting and the fix. The protocol tells the client
    /// and ends the channel. Router thread; must not block.
    virtual void end(const std::string& reason) { (void)reason; }
};

} // namespace walcast::core
