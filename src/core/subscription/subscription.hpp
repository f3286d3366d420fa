// Subscription: what one joined channel receives — its bindings (compiled filters, select
// lists), its identity, the payload format its sink wants, and the ordering buffer that
// delivers to the channel in commit order whichever lane (direct or row-level-security check)
// finishes first.
#pragma once

#include "capture/change.hpp"
#include "core/filter/filter.hpp"
#include "core/identity.hpp"
#include "core/subscription/binding_spec.hpp"
#include "core/subscription/channel_sink.hpp"
#include "core/subscription/payload.hpp"

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// The binding ids of one channel that matched one change (usually one).
using BindingIds = boost::container::small_vector<std::int64_t, 4>;

/// One `postgres_changes` binding of a channel, ready for matching.
struct Binding {
    std::int64_t id = 0;            ///< chosen by the protocol (Supabase: the join reply's, §3.2)
    BindingSpec spec;               ///< event, schema/table patterns, filter, select
    std::uint16_t select_group = 0; ///< bindings with equal select share a message (§4.1)
    /// Filters compiled per relation OID. Filled at join for the tables known then, and
    /// lazily by the router (router thread only) for tables that appear later.
    std::unordered_map<pg::Oid, std::shared_ptr<const CompiledFilter>> compiled;

    bool wants(capture::ChangeKind kind) const { return spec.matches_event(kind); }
};

/// A channel's bindings plus the state needed to deliver to it in order. Shared between the
/// index (router), the authorizer's pending work and the session that owns the channel.
class Subscription : public std::enable_shared_from_this<Subscription> {
public:
    /// sink: the channel; held weakly so a closed channel simply stops receiving. format: how
    /// its payloads are rendered (static lifetime).
    /// source: whose channel (a socket, SubscribeRequest::source; 0 = none), for limits that
    /// count per socket.
    Subscription(std::string topic, std::vector<Binding> bindings, IdentityPtr identity,
                 std::weak_ptr<ChannelSink> sink, const PayloadFormat& format,
                 std::uintptr_t source = 0);

    std::uint64_t id() const { return id_; }
    const std::string& topic() const { return topic_; }
    std::uintptr_t source() const { return source_; }
    /// The channel, or null once it is gone. Any thread.
    std::shared_ptr<ChannelSink> sink() const { return sink_.lock(); }
    /// Set by the router when it stops routing to this subscription (a limit passed); it is
    /// then removed from the index. Router thread only.
    bool ended() const { return ended_; }
    void mark_ended() { ended_ = true; }
    const PayloadFormat& format() const { return *format_; }
    /// Bindings; the compiled-filter caches inside are touched by the router thread only.
    std::vector<Binding>& bindings() { return bindings_; }
    const std::vector<Binding>& bindings() const { return bindings_; }

    /// Current identity. Any thread.
    IdentityPtr identity() const;
    /// Replaces the identity (token refresh, spec §9): changes routed from now on are
    /// authorized with it. Any thread.
    void set_identity(IdentityPtr identity);

    /// Reserves the next position in this channel's delivery order. Router thread only, in
    /// commit order.
    std::uint64_t reserve();
    /// Fills position slot with a message (data + ids) and delivers every message now ready in
    /// order, in the calling thread's round. Any thread; each reserved slot must be completed
    /// or skipped exactly once.
    void complete(std::uint64_t slot, std::shared_ptr<const std::string> data, BindingIds ids,
                  DeliveryRound& round);
    /// Marks position slot as "nothing to deliver" (e.g. row not visible under RLS); delivers
    /// what it releases in round.
    void skip(std::uint64_t slot, DeliveryRound& round);
    /// A gap notice (ChannelSink::notify_gap) in this channel's delivery order: after every
    /// change reserved before it. Router thread only (it reserves).
    void notify_gap(std::shared_ptr<const capture::Gap> gap, DeliveryRound& round);

    /// Messages waiting for an earlier slot (for metrics/tests).
    std::size_t waiting() const;

    /// Keeps `resource` alive as long as this subscription (e.g. the bindings it counts
    /// against its socket's limit). Before the subscription is shared with other threads.
    void hold(std::shared_ptr<const void> resource) { held_ = std::move(resource); }

private:
    struct Pending {
        std::shared_ptr<const std::string> data; ///< null = skipped
        BindingIds ids;
        std::shared_ptr<const capture::Gap> gap; ///< set: a gap notice, not a change
    };
    void settle(std::uint64_t slot, Pending p, DeliveryRound& round);

    const std::uint64_t id_;
    const std::string topic_;
    std::vector<Binding> bindings_;
    const std::weak_ptr<ChannelSink> sink_;
    const PayloadFormat* const format_;
    const std::uintptr_t source_;
    bool ended_ = false; ///< router thread only
    std::shared_ptr<const void> held_;

    mutable std::mutex identity_mu_;
    IdentityPtr identity_;

    std::uint64_t next_reserve_ = 0; ///< router thread only

    mutable std::mutex order_mu_;
    std::uint64_t next_deliver_ = 0;
    std::map<std::uint64_t, Pending> waiting_;
};
using SubscriptionPtr = std::shared_ptr<Subscription>;

} // namespace walcast::core
