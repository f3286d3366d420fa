#include "protocol/phoenix/presence_feature.hpp"

#include "common/logging.hpp"
#include "protocol/phoenix/broadcast_feature.hpp"
#include "protocol/phoenix/broadcast_frames.hpp"
#include "protocol/phoenix/channel_permissions.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cctype>
#include <random>

namespace walcast::protocol::phoenix {

namespace {

std::atomic<std::uint64_t> next_member{1};

/// A fresh key for a join without one (RT makes a UUID per join, spec §7.2.1).
std::string fresh_key() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
        s += hex[rng() & 15];
    }
    return s;
}

class PresenceFeature final : public ChannelFeature {
public:
    PresenceFeature(presence::Tracker& tracker, broadcast::RateCounter& rate,
                    const PresenceLimits& limits, broadcast::TopicPolicies* policies,
                    ChannelHandle& ch)
        : tracker_(tracker), rate_(rate), limits_(limits),
          permissions_(ChannelPermissions::of(ch, policies)),
          topic_(BroadcastFeatureFactory::hub_topic(ch.topic(), ch.config().is_private)),
          key_(ch.config().presence.key ? *ch.config().presence.key : fresh_key()),
          member_(next_member.fetch_add(1)) {}

    std::string_view name() const override { return "presence"; }

    void join(ChannelHandle&, std::function<void(FeatureJoinResult)> done) override { done({}); }

    void after_join(ChannelHandle& ch) override {
        if (!ch.config().presence.enabled) return;
        // A private channel without presence.read gets no presence_state (spec §7.3.6).
        if (!permissions_->presence_read.value_or(false)) return;
        rate_.add(1);
        if (rate_.over()) return ch.shut_down(rate_.message());
        ch.push(event::presence_state, tracker_.state_json(topic_));
    }

    bool on_message(ChannelHandle& ch, InboundMessage& m) override {
        if (m.event != event::presence) return false;
        const boost::json::object empty;
        const auto& p = m.payload.is_object() ? m.payload.get_object() : empty;
        const auto* ev = p.if_contains("event");
        if (!ev) {
            ch.reply(m.ref, ReplyStatus::Ok, "{}");
            return true;
        }
        // Every presence push with an event counts against the channel's window (§7.2.7).
        const auto now = std::chrono::steady_clock::now();
        if (calls_ == 0 || now - window_start_ >= limits_.window) {
            window_start_ = now;
            calls_ = 0;
        }
        if (++calls_ > limits_.max_calls) {
            ch.shut_down("Client presence rate limit exceeded");
            return true;
        }
        std::string name = ev->is_string() ? std::string(ev->get_string()) : std::string();
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "track") {
            const auto* payload = p.if_contains("payload");
            if (payload && !payload->is_object()) {
                ch.reply(m.ref, ReplyStatus::Error,
                         R"({"reason":"Presence track payload must be a map"})");
                return true;
            }
            std::string json = payload ? boost::json::serialize(*payload) : "{}";
            if (json.size() > limits_.max_payload_bytes) {
                ch.shut_down("Track message size exceeded");
                return true;
            }
            track(ch, m.ref, std::move(json));
        } else if (name == "untrack") {
            tracker_.untrack(topic_, member_);
            ch.reply(m.ref, ReplyStatus::Ok, "{}");
        } else {
            ch.reply(m.ref, ReplyStatus::Error, "{}"); // unknown_presence_event
        }
        return true;
    }

    void close() override {
        permissions_->close();
        tracker_.untrack(topic_, member_);
    }

private:
    /// A track on a private channel: presence.read first when not evaluated yet, then the
    /// writes (spec §7.3.5); without presence.write `{"status":"error","response":{}}` and no
    /// diff (spec §7.3.6). Callbacks run on the strand only while the channel lives.
    void track(ChannelHandle& ch, const std::optional<std::string>& ref, std::string json) {
        auto then = [this, &ch, ref, json = std::move(json)]() mutable {
            if (!permissions_->when_writes_known(
                    [this, &ch, ref, json = std::move(json)]() mutable {
                        if (!permissions_->presence_write.value_or(false)) {
                            ch.reply(ref, ReplyStatus::Error, "{}");
                            return;
                        }
                        rate_.add(1);
                        if (rate_.over()) return ch.shut_down(rate_.message());
                        tracker_.track(topic_, member_, key_, std::move(json));
                        ch.reply(ref, ReplyStatus::Ok, "{}");
                    }))
                ch.reply(ref, ReplyStatus::Error, "{}"); // too many waiting for the check
        };
        if (!permissions_->is_private() || permissions_->presence_read) return then();
        permissions_->evaluate_reads(
            true, false,
            [this, &ch, then = std::move(then)](
                std::optional<ChannelPermissions::CheckFailure> failure) mutable {
                if (failure)
                    log::info("private channel {}: the presence read check failed: {}",
                              channel_subtopic(ch), failure->error);
                then();
            });
    }

    presence::Tracker& tracker_;
    broadcast::RateCounter& rate_;
    const PresenceLimits& limits_;
    const std::shared_ptr<ChannelPermissions> permissions_;
    const std::string topic_;
    const std::string key_;
    const std::uint64_t member_;
    std::uint32_t calls_ = 0;
    std::chrono::steady_clock::time_point window_start_{};
};

} // namespace

PresenceFeatureFactory::PresenceFeatureFactory(broadcast::Hub& hub,
                                               broadcast::RateCounter& presence_events,
                                               PresenceLimits limits,
                                               broadcast::TopicPolicies* policies)
    : hub_(hub), rate_(presence_events), limits_(limits), policies_(policies),
      flusher_([this] { run(); }) {}

PresenceFeatureFactory::~PresenceFeatureFactory() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    flusher_.join();
}

std::shared_ptr<ChannelFeature> PresenceFeatureFactory::make(ChannelHandle& ch) {
    return std::make_shared<PresenceFeature>(tracker_, rate_, limits_, policies_, ch);
}

void PresenceFeatureFactory::run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, limits_.flush_interval, [this] { return stop_; });
        if (stop_) break;
        lock.unlock();
        for (auto& [hub_topic, diff] : tracker_.take_pending()) {
            // hub topic "public:<sub>" / "private:<sub>" → channel topic "realtime:<sub>".
            const std::string channel_topic =
                "realtime:" + hub_topic.substr(hub_topic.find(':') + 1);
            const std::string payload = presence::diff_json(diff);
            broadcast::Message msg([&](std::size_t format) -> std::optional<broadcast::Frame> {
                return push_frame(format, channel_topic, event::presence_diff, payload);
            });
            msg.kind = kind_presence;
            msg.rate = &rate_;
            hub_.publish(hub_topic, msg, nullptr);
        }
        lock.lock();
    }
}

} // namespace walcast::protocol::phoenix
