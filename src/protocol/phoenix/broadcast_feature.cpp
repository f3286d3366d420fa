#include "protocol/phoenix/broadcast_feature.hpp"

#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>

namespace walcast::protocol::phoenix {

namespace {

constexpr std::size_t format_of(Vsn v) {
    return v == Vsn::V1 ? 0 : 1;
}
constexpr Vsn vsn_of(std::size_t format) {
    return format == 0 ? Vsn::V1 : Vsn::V2;
}

broadcast::Frame text_frame(std::string s) {
    return {false, std::make_shared<const std::string>(std::move(s))};
}

/// One channel in the Hub: frames go to the connection in the publisher's round.
class ChannelMember final : public broadcast::Member {
public:
    ChannelMember(std::weak_ptr<ConnectionIo> io, Vsn vsn, Counter& delivered,
                  std::function<void(std::string)> shut_down)
        : io_(std::move(io)), format_(format_of(vsn)), delivered_(delivered),
          shut_down_(std::move(shut_down)) {}
    std::size_t format() const override { return format_; }
    bool deliver(const broadcast::Frame& f, const broadcast::Message& msg,
                 DeliveryRound& round) override {
        if (closed_.load(std::memory_order_acquire)) return false;
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

private:
    const std::weak_ptr<ConnectionIo> io_;
    const std::size_t format_;
    Counter& delivered_;
    const std::function<void(std::string)> shut_down_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> limited_{false};
};

class BroadcastFeature final : public ChannelFeature {
public:
    BroadcastFeature(broadcast::Hub& hub, broadcast::RateCounter& events, Counter& received,
                     Counter& delivered, Counter& dropped, const BroadcastLimits& limits,
                     ChannelHandle& ch)
        : hub_(hub), events_(events), received_(received), dropped_(dropped), limits_(limits),
          hub_topic_(BroadcastFeatureFactory::hub_topic(ch.topic(), ch.config().is_private)),
          member_(std::make_shared<ChannelMember>(ch.io(), ch.vsn(), delivered,
                                                  ch.shut_down_from_any_thread())) {}

    std::string_view name() const override { return "broadcast"; }

    void join(ChannelHandle& ch, std::function<void(FeatureJoinResult)> done) override {
        if (ch.config().is_private)
            return done({"PrivateChannelsNotSupported: walcast does not serve private channels "
                         "(config.private = true) yet, so their RLS policies on "
                         "realtime.messages would not be applied; join without private: true",
                         {}});
        done({});
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
        events_.add(1);
        if (!m.payload.is_object()) {
            // RT's encoder cannot carry a non-object payload either (spec §7.1.2): dropped.
            dropped_.inc();
            log::debug("dropping a broadcast on {}: its payload is not a JSON object", m.topic);
            return true;
        }
        auto payload = std::make_shared<const std::string>(boost::json::serialize(m.payload));
        if (payload->size() > limits_.max_payload_bytes) return too_large(ch, m.ref);
        const std::string& topic = ch.topic();
        broadcast::Message msg([&](std::size_t format) -> std::optional<broadcast::Frame> {
            return text_frame(encode_broadcast(vsn_of(format), topic, event::broadcast, *payload));
        });
        publish(ch, msg, m.ref);
        return true;
    }

    bool on_user_broadcast(ChannelHandle& ch, UserBroadcastPush& m) override {
        received_.inc();
        events_.add(1);
        if (m.payload.size() > limits_.max_payload_bytes) return too_large(ch, m.ref);
        const std::string& topic = ch.topic();
        // The metadata is not used (spec §7.1.2: RT ignores it too).
        broadcast::Message msg([&](std::size_t format) -> std::optional<broadcast::Frame> {
            if (vsn_of(format) == Vsn::V2) {
                auto bytes = encode_user_broadcast(topic, m.user_event, "", m.encoding, m.payload);
                if (!bytes) return std::nullopt; // cannot happen: the decoder checked lengths
                return broadcast::Frame{true,
                                        std::make_shared<const std::string>(std::move(*bytes))};
            }
            // 1.0.0 members: the JSON envelope with the payload bytes spliced in; a binary
            // payload cannot be carried (spec §7.1.4).
            if (m.encoding == PayloadEncoding::Binary) return std::nullopt;
            std::string envelope = "{\"event\":";
            json::append_string(envelope, m.user_event);
            envelope += ",\"payload\":";
            envelope += m.payload;
            envelope += ",\"type\":\"broadcast\"}";
            return text_frame(encode_broadcast(Vsn::V1, topic, event::broadcast, envelope));
        });
        publish(ch, msg, m.ref);
        return true;
    }

    void close() override {
        member_->close();
        if (joined_) hub_.leave(hub_topic_, member_.get());
        joined_ = false;
    }

private:
    void publish(ChannelHandle& ch, broadcast::Message& msg,
                 const std::optional<std::string>& ref) {
        const bool self = ch.config().broadcast.self;
        msg.kind = kind_broadcast;
        msg.rate = &events_;
        hub_.publish(hub_topic_, msg, self ? nullptr : member_.get());
        // The fan-out is queued before the ack (spec §7.1.5).
        if (ch.config().broadcast.ack && ref) ch.reply(ref, ReplyStatus::Ok, "{}");
    }

    bool too_large(ChannelHandle& ch, const std::optional<std::string>& ref) {
        dropped_.inc();
        // spec §7.1.5: a bare string response; without ack silently dropped.
        if (ch.config().broadcast.ack && ref)
            ch.reply(ref, ReplyStatus::Error, R"("payload_size_exceeded")");
        return true;
    }

    broadcast::Hub& hub_;
    broadcast::RateCounter& events_;
    Counter& received_;
    Counter& dropped_;
    const BroadcastLimits& limits_;
    const std::string hub_topic_;
    const std::shared_ptr<ChannelMember> member_;
    bool joined_ = false;
};

} // namespace

BroadcastFeatureFactory::BroadcastFeatureFactory(broadcast::Hub& hub, MetricsRegistry& r,
                                                 broadcast::RateCounter& events,
                                                 BroadcastLimits limits)
    : hub_(hub), events_(events), received_(r.counter("walcast_broadcasts_received_total",
                                     "client broadcast pushes received (JSON and binary)")),
      delivered_(r.counter("walcast_broadcast_deliveries_total",
                           "broadcast frames queued to channel members")),
      dropped_(r.counter("walcast_broadcasts_dropped_total",
                         "client broadcasts dropped: payload not an object or too large")),
      limits_(limits) {}

std::shared_ptr<ChannelFeature> BroadcastFeatureFactory::make(ChannelHandle& ch) {
    return std::make_shared<BroadcastFeature>(hub_, events_, received_, delivered_, dropped_, limits_, ch);
}

std::string BroadcastFeatureFactory::hub_topic(std::string_view channel_topic, bool is_private) {
    constexpr std::string_view prefix = "realtime:";
    if (channel_topic.starts_with(prefix)) channel_topic.remove_prefix(prefix.size());
    std::string t(is_private ? "private:" : "public:");
    t += channel_topic;
    return t;
}

} // namespace walcast::protocol::phoenix
