#include "protocol/phoenix/broadcast_feature.hpp"

#include "protocol/phoenix/broadcast_frames.hpp"
#include "protocol/phoenix/channel_permissions.hpp"

#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <unordered_set>

namespace walcast::protocol::phoenix {

namespace {

/// One channel in the Hub: frames go to the connection in the publisher's round.
class ChannelMember final : public broadcast::Member {
public:
    ChannelMember(std::weak_ptr<ConnectionIo> io, Vsn vsn, Counter& delivered,
                  std::function<void(std::string)> shut_down,
                  std::shared_ptr<const ChannelPermissions> permissions)
        : io_(std::move(io)), format_(format_of(vsn)), delivered_(delivered),
          shut_down_(std::move(shut_down)), permissions_(std::move(permissions)) {}
    std::size_t format() const override { return format_; }
    bool deliver(const broadcast::Frame& f, const broadcast::Message& msg,
                 DeliveryRound& round) override {
        if (closed_.load(std::memory_order_acquire)) return false;
        // A private channel receives only what its read permissions allow (spec §7.3.6).
        if (msg.kind == kind_presence ? !permissions_->delivers_presence()
                                      : !permissions_->delivers_broadcast())
            return false;
        // A database message this channel got by replay is not delivered again (§7.6.1).
        if (!msg.id.empty() && replayed_.contains(msg.id)) return false;
        auto io = io_.lock();
        if (!io) return false;
        const bool queued = f.binary ? io->send_binary({*f.bytes}, &round, true)
                                     : io->send_text({*f.bytes}, &round, true);
        if (!queued) return false;
        delivered_.inc();
        // A receiving channel past the tenant's rate is shut down after the message, as the
        // reference does (spec §7.1.7); once.
        if (msg.rate && msg.rate->over() && !limited_.exchange(true, std::memory_order_relaxed))
            shut_down_(msg.rate->message());
        return true;
    }
    /// No frame is queued after this returns from a publish that starts later; the Hub leave
    /// covers publishes that have not taken the member list yet.
    void close() { closed_.store(true, std::memory_order_release); }
    /// The ids of the replayed messages; set before the member joins the Hub, then read-only.
    void set_replayed(std::unordered_set<std::string> ids) { replayed_ = std::move(ids); }

private:
    const std::weak_ptr<ConnectionIo> io_;
    const std::size_t format_;
    Counter& delivered_;
    const std::function<void(std::string)> shut_down_;
    const std::shared_ptr<const ChannelPermissions> permissions_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> limited_{false};
    std::unordered_set<std::string> replayed_;
};

std::string unauthorized_read(const ChannelHandle& ch) {
    return "Unauthorized: You do not have permissions to read from this Channel topic: " +
           channel_subtopic(ch);
}

class BroadcastFeature final : public ChannelFeature {
public:
    BroadcastFeature(broadcast::Hub& hub, broadcast::TopicPolicies* policies,
                     broadcast::RateCounter& events, Counter& received, Counter& delivered,
                     Counter& dropped, const BroadcastLimits& limits, ChannelHandle& ch)
        : hub_(hub), policies_(policies), events_(events), received_(received), dropped_(dropped),
          limits_(limits),
          hub_topic_(BroadcastFeatureFactory::hub_topic(ch.topic(), ch.config().is_private)),
          permissions_(ChannelPermissions::of(ch, policies)),
          member_(std::make_shared<ChannelMember>(ch.io(), ch.vsn(), delivered,
                                                  ch.shut_down_from_any_thread(), permissions_)) {}

    std::string_view name() const override { return "broadcast"; }

    void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) override {
        if (ch.config().broadcast.replay && !ch.config().is_private)
            return done({"UnableToReplayMessages: Replay is not allowed for public channels", {}});
        if (!ch.config().is_private) return done({});
        if (!policies_)
            return done({"PrivateChannelsNotSupported: this walcast has no database to check "
                         "the RLS policies of realtime.messages with; join without private: "
                         "true",
                         {}});
        // The read check (spec §7.3.3, §7.3.5): broadcast.read, and presence.read when presence
        // is enabled; the join needs one of them. The callback runs on the strand only while
        // the channel lives (ChannelPermissions::close in close()), so ch is valid in it.
        permissions_->evaluate_reads(
            ch.config().presence.enabled, true,
            [this, &ch,
             done = std::move(done)](std::optional<ChannelPermissions::CheckFailure> failure) {
                if (failure) {
                    if (failure->failure == broadcast::PolicyFailure::MissingPartition)
                        return done({"MissingPartition: Realtime was unable to find the expected "
                                     "messages partition; create today's partition of "
                                     "realtime.messages (walcast db init does)",
                                     {}});
                    // RLS errors count as denied (spec §7.3.3); the cause goes to the log.
                    log::info("private channel {}: the read check failed, join refused: {}",
                              channel_subtopic(ch), failure->error);
                    return done({unauthorized_read(ch), {}});
                }
                if (!permissions_->broadcast_read.value_or(false) &&
                    !permissions_->presence_read.value_or(false))
                    return done({unauthorized_read(ch), {}});
                if (!ch.config().broadcast.replay) return done({});
                if (!permissions_->broadcast_read.value_or(false))
                    return done({unauthorized_read(ch), {}});
                replay(ch, std::move(done));
            });
    }

    // The replayed messages right after the join reply (spec §7.6.1): pushes with the join
    // ref and meta {"id", "replayed": true}; binary rows as kind 4 to 2.0.0 only.
    void after_join(ChannelHandle& ch) override {
        auto rows = std::move(replayed_);
        replayed_.clear();
        for (const auto& r : rows) {
            std::string meta = "{\"id\":";
            json::append_string(meta, r.id);
            meta += ",\"replayed\":true}";
            if (r.binary) {
                if (ch.vsn() != Vsn::V2) continue;
                auto bytes = encode_user_broadcast(ch.topic(), r.event, meta,
                                                   PayloadEncoding::Binary, r.payload);
                if (auto io = ch.io().lock(); io && bytes) io->send_binary({*bytes}, nullptr, true);
                continue;
            }
            std::string envelope = "{\"event\":";
            json::append_string(envelope, r.event);
            envelope +=
                ",\"meta\":" + meta + ",\"payload\":" + r.payload + ",\"type\":\"broadcast\"}";
            ch.push(event::broadcast, envelope);
        }
    }

    // Joining the topic after the join reply is queued: no broadcast precedes the reply.
    void open(const std::function<void()>& before) override {
        before();
        hub_.join(hub_topic_, member_);
        joined_ = true;
    }

    bool on_message(ChannelHandle& ch, InboundMessage& m) override {
        if (m.event != event::broadcast) return false;
        received_.inc();
        if (!m.payload.is_object()) {
            // RT's encoder cannot carry a non-object payload either (spec §7.1.2): dropped.
            events_.add(1);
            dropped_.inc();
            log::debug("dropping a broadcast on {}: its payload is not a JSON object", m.topic);
            return true;
        }
        auto payload = std::make_shared<const std::string>(boost::json::serialize(m.payload));
        if (payload->size() > limits_.max_payload_bytes) return too_large(ch, m.ref);
        auto topic = std::make_shared<const std::string>(ch.topic());
        send(
            ch,
            [payload, topic](std::size_t format) -> std::optional<broadcast::Frame> {
                return push_frame(format, *topic, event::broadcast, *payload);
            },
            m.ref);
        return true;
    }

    bool on_user_broadcast(ChannelHandle& ch, UserBroadcastPush& m) override {
        received_.inc();
        if (m.payload.size() > limits_.max_payload_bytes) return too_large(ch, m.ref);
        struct Push {
            std::string topic, user_event, payload;
            PayloadEncoding encoding;
        };
        auto p = std::make_shared<const Push>(
            Push{ch.topic(), std::string(m.user_event), std::string(m.payload), m.encoding});
        // The metadata is not used (spec §7.1.2: RT ignores it too).
        send(
            ch,
            [p](std::size_t format) {
                return user_broadcast_frame(format, p->topic, p->user_event, "", p->encoding,
                                            p->payload);
            },
            m.ref);
        return true;
    }

    void on_token_refreshed(ChannelHandle& ch) override {
        if (!permissions_->is_private()) return;
        // All four policies again (spec §7.3.5): reads now, writes at the next send.
        const bool had_broadcast = permissions_->broadcast_read.value_or(false);
        const bool had_presence = permissions_->presence_read.value_or(false);
        const bool presence = ch.config().presence.enabled || permissions_->presence_read;
        permissions_->reset();
        permissions_->evaluate_reads(
            presence, true,
            [this, &ch, had_broadcast,
             had_presence](std::optional<ChannelPermissions::CheckFailure> failure) {
                if (failure)
                    log::info("private channel {}: the read check after a token refresh failed: "
                              "{}",
                              channel_subtopic(ch), failure->error);
                const bool b = permissions_->broadcast_read.value_or(false);
                const bool p = permissions_->presence_read.value_or(false);
                if (!b && !p)
                    return ch.shut_down(
                        "You do not have permissions to read from this Channel topic: " +
                        channel_subtopic(ch));
                if ((had_broadcast && !b) || (had_presence && !p))
                    return ch.shut_down(
                        "You no longer have permission to read from this Channel topic: " +
                        channel_subtopic(ch));
            });
    }

    void close() override {
        permissions_->close();
        member_->close();
        if (joined_) hub_.leave(hub_topic_, member_.get());
        joined_ = false;
    }

private:
    /// Reads the replayed rows (as walcast's role: broadcast.read was checked) before the join
    /// completes; limit default 25, clamped to 1…25 (spec §7.6.1).
    void replay(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) {
        const auto& cfg = *ch.config().broadcast.replay;
        const int limit = static_cast<int>(std::clamp<std::int64_t>(cfg.limit.value_or(25), 1, 25));
        policies_->replay(
            channel_subtopic(ch), cfg.since_ms, limit,
            [weak = std::weak_ptr<ChannelPermissions>(permissions_), io = ch.io(), this,
             done = std::move(done)](
                broadcast::PolicyOutcome<std::vector<broadcast::ReplayedMessage>> out) mutable {
                auto conn = io.lock();
                if (!conn) return;
                conn->post([weak, this, done = std::move(done), out = std::move(out)]() mutable {
                    // The channel lives while its permissions are open (close() closes them).
                    auto perms = weak.lock();
                    if (!perms || perms->closed()) return;
                    if (!out.verdict) {
                        log::info("replay failed: {}", out.error);
                        return done({"UnableToReplayMessages: Realtime was unable to replay "
                                     "messages",
                                     {}});
                    }
                    std::unordered_set<std::string> ids;
                    for (const auto& r : *out.verdict)
                        ids.insert(r.id);
                    member_->set_replayed(std::move(ids));
                    replayed_ = std::move(*out.verdict);
                    done({});
                });
            });
    }

    /// Publishes now when the channel may write; on a private channel whose write permission
    /// is not known yet, after the write check (the messages wait in order, spec §7.1.3);
    /// without permission dropped silently, no ack (spec §7.3.6).
    void send(ChannelHandle& ch, broadcast::Message::Encoder encoder,
              const std::optional<std::string>& ref) {
        auto publish = [this, &ch, encoder = std::move(encoder), ref]() {
            if (!permissions_->broadcast_write.value_or(false)) {
                dropped_.inc();
                return;
            }
            events_.add(1);
            broadcast::Message msg(encoder);
            msg.kind = kind_broadcast;
            msg.rate = &events_;
            hub_.publish(hub_topic_, msg, ch.config().broadcast.self ? nullptr : member_.get());
            // The fan-out is queued before the ack (spec §7.1.5).
            if (ch.config().broadcast.ack && ref) ch.reply(ref, ReplyStatus::Ok, "{}");
        };
        if (!permissions_->when_writes_known(std::move(publish))) dropped_.inc();
    }

    bool too_large(ChannelHandle& ch, const std::optional<std::string>& ref) {
        events_.add(1);
        dropped_.inc();
        // spec §7.1.5: a bare string response; without ack silently dropped.
        if (ch.config().broadcast.ack && ref)
            ch.reply(ref, ReplyStatus::Error, R"("payload_size_exceeded")");
        return true;
    }

    broadcast::Hub& hub_;
    broadcast::TopicPolicies* const policies_;
    broadcast::RateCounter& events_;
    Counter& received_;
    Counter& dropped_;
    const BroadcastLimits& limits_;
    const std::string hub_topic_;
    const std::shared_ptr<ChannelPermissions> permissions_;
    const std::shared_ptr<ChannelMember> member_;
    std::vector<broadcast::ReplayedMessage> replayed_; ///< until after_join pushes them
    bool joined_ = false;
};

} // namespace

BroadcastFeatureFactory::BroadcastFeatureFactory(broadcast::Hub& hub, MetricsRegistry& r,
                                                 broadcast::RateCounter& events,
                                                 BroadcastLimits limits,
                                                 broadcast::TopicPolicies* policies)
    : hub_(hub), policies_(policies), events_(events),
      received_(r.counter("walcast_broadcasts_received_total",
                          "client broadcast pushes received (JSON and binary)")),
      delivered_(r.counter("walcast_broadcast_deliveries_total",
                           "broadcast frames queued to channel members")),
      dropped_(r.counter("walcast_broadcasts_dropped_total",
                         "client broadcasts dropped: payload not an object, too large, or no write "
                         "permission on a private channel")),
      limits_(limits) {}

std::shared_ptr<ChannelFeature> BroadcastFeatureFactory::make(ChannelHandle& ch) {
    return std::make_shared<BroadcastFeature>(hub_, policies_, events_, received_, delivered_,
                                              dropped_, limits_, ch);
}

std::string BroadcastFeatureFactory::hub_topic(std::string_view channel_topic, bool is_private) {
    constexpr std::string_view prefix = "realtime:";
    if (channel_topic.starts_with(prefix)) channel_topic.remove_prefix(prefix.size());
    std::string t(is_private ? "private:" : "public:");
    t += channel_topic;
    return t;
}

} // namespace walcast::protocol::phoenix
