#include "broadcast/hub.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walcast::broadcast {
namespace {

/// Records the frames it is handed and which round they came in.
class Recorder final : public Member {
public:
    explicit Recorder(std::size_t format) : format_(format) {}
    std::size_t format() const override { return format_; }
    bool deliver(const Frame& f, const Message&, DeliveryRound&) override {
        frames.push_back(f);
        return true;
    }
    std::vector<Frame> frames;

private:
    std::size_t format_;
};

Message counting(std::vector<std::size_t>& calls, std::string text) {
    return Message([&calls, text](std::size_t format) -> std::optional<Frame> {
        calls.push_back(format);
        if (format == 2) return std::nullopt; // "cannot carry this message"
        return Frame{false, std::make_shared<const std::string>(text + std::to_string(format))};
    });
}

} // namespace

TEST(BroadcastHubTest, EncodesOncePerFormatAndSharesTheBytes) {
    Hub hub;
    std::vector<std::shared_ptr<Recorder>> members;
    for (std::size_t i = 0; i < 6; ++i) {
        members.push_back(std::make_shared<Recorder>(i % 2));
        hub.join("t", members.back());
    }
    std::vector<std::size_t> calls;
    auto msg = counting(calls, "m");
    EXPECT_EQ(hub.publish("t", msg, nullptr), 6u);
    EXPECT_EQ(calls, (std::vector<std::size_t>{0, 1}));
    for (const auto& m : members) {
        ASSERT_EQ(m->frames.size(), 1u);
        EXPECT_EQ(*m->frames[0].bytes, "m" + std::to_string(m->format()));
    }
    // One shared string per format.
    EXPECT_EQ(members[0]->frames[0].bytes.get(), members[2]->frames[0].bytes.get());
    EXPECT_NE(members[0]->frames[0].bytes.get(), members[1]->frames[0].bytes.get());
}

TEST(BroadcastHubTest, SkipsTheExceptedMemberAndMembersWhoseFormatCannotCarryIt) {
    Hub hub;
    auto a = std::make_shared<Recorder>(0), b = std::make_shared<Recorder>(0),
         c = std::make_shared<Recorder>(2);
    hub.join("t", a);
    hub.join("t", b);
    hub.join("t", c);
    std::vector<std::size_t> calls;
    auto msg = counting(calls, "m");
    EXPECT_EQ(hub.publish("t", msg, a.get()), 1u);
    EXPECT_TRUE(a->frames.empty());
    EXPECT_EQ(b->frames.size(), 1u);
    EXPECT_TRUE(c->frames.empty());
}

TEST(BroadcastHubTest, DeliversInPublishOrderAndOnlyToTheTopicsCurrentMembers) {
    Hub hub;
    auto a = std::make_shared<Recorder>(0), b = std::make_shared<Recorder>(0);
    hub.join("t", a);
    hub.join("other", b);
    std::vector<std::size_t> calls;
    for (int i = 0; i < 100; ++i) {
        auto msg = counting(calls, std::to_string(i) + ":");
        hub.publish("t", msg, nullptr);
    }
    ASSERT_EQ(a->frames.size(), 100u);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(*a->frames[static_cast<std::size_t>(i)].bytes, std::to_string(i) + ":0");
    EXPECT_TRUE(b->frames.empty());

    hub.leave("t", a.get());
    EXPECT_EQ(hub.members("t"), 0u);
    auto msg = counting(calls, "late");
    EXPECT_EQ(hub.publish("t", msg, nullptr), 0u);
    EXPECT_EQ(a->frames.size(), 100u);
    hub.leave("t", a.get()); // absent: no-op
    EXPECT_EQ(hub.members("other"), 1u);
}

TEST(BroadcastHubTest, CountsEveryDeliveryOnTheMessagesRateCounter) {
    Hub hub;
    std::vector<std::shared_ptr<Recorder>> members;
    for (std::size_t i = 0; i < 3; ++i) {
        members.push_back(std::make_shared<Recorder>(0));
        hub.join("t", members.back());
    }
    const auto t0 = RateCounter::Clock::now();
    RateCounter rate(0.5, "Too many messages per second", t0);
    std::vector<std::size_t> calls;
    auto msg = counting(calls, "m");
    msg.rate = &rate;
    // The sender is excluded: two deliveries, two events (2 ÷ 5 s = 0.4/s, under 0.5).
    EXPECT_EQ(hub.publish("t", msg, members[0].get()), 2u);
    EXPECT_FALSE(rate.over());
    auto again = counting(calls, "m");
    again.rate = &rate;
    EXPECT_EQ(hub.publish("t", again, nullptr), 3u); // 5 events in the bucket: 1/s
    EXPECT_TRUE(rate.over());
}

} // namespace walcast::broadcast
