// Subscription ordering and SubscriptionIndex candidate maintenance: the two mechanisms that
// make "each channel receives changes in commit order" and "a change committed after the join
// reply is delivered" true.
#include "core/subscription/subscription.hpp"
#include "core/subscription/subscription_index.hpp"
#include "protocol/supabase/binding.hpp"
#include "protocol/supabase/postgres_changes_data.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace walcast::core {

namespace {

// A ChannelSink that records what it is handed.
class RecordingSink : public ChannelSink {
public:
    void deliver(const std::shared_ptr<const std::string>& data, std::span<const std::int64_t> ids,
                 DeliveryRound&) override {
        std::lock_guard lock(mu);
        messages.emplace_back(*data, std::vector<std::int64_t>(ids.begin(), ids.end()));
    }
    void notify_gap(const capture::Gap& gap, DeliveryRound&) override {
        std::lock_guard lock(mu);
        messages.emplace_back("gap: " + gap.reason, std::vector<std::int64_t>{});
    }
    std::vector<std::string> data() {
        std::lock_guard lock(mu);
        std::vector<std::string> out;
        for (auto& m : messages)
            out.push_back(m.first);
        return out;
    }
    std::mutex mu;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> messages;
};

const PayloadFormat& format() {
    return protocol::supabase::postgres_changes_format();
}

// Deliveries made outside any delivering thread's round (the sink above needs none).
DeliveryRound test_round;

Binding binding(std::int64_t id, const char* json) {
    Binding b;
    b.id = id;
    auto spec = protocol::supabase::parse_binding(boost::json::parse(json).as_object());
    EXPECT_TRUE(spec) << json;
    if (spec) b.spec = std::move(spec).value();
    return b;
}

std::shared_ptr<const std::string> text(const char* s) {
    return std::make_shared<const std::string>(s);
}

IdentityPtr anon() {
    return std::make_shared<const Identity>(Identity{"anon", "{}", "anon"});
}

} // namespace

TEST(SubscriptionTest, AGapNoticeWaitsForTheChangesReservedBeforeItAndPrecedesLaterOnes) {
    auto sink = std::make_shared<RecordingSink>();
    Subscription sub("realtime:a", {}, anon(), sink, format());
    auto s0 = sub.reserve(); // e.g. an RLS check still running
    auto gap = std::make_shared<capture::Gap>();
    gap->reason = "missing";
    sub.notify_gap(gap, test_round);
    auto s2 = sub.reserve();
    sub.complete(s2, text("after"), {1}, test_round);
    EXPECT_TRUE(sink->data().empty()) << "the gap notice may not overtake slot 0";
    sub.complete(s0, text("before"), {1}, test_round);
    EXPECT_EQ(sink->data(), (std::vector<std::string>{"before", "gap: missing", "after"}));
}

TEST(SubscriptionTest, DeliversInReservationOrderWhateverOrderSlotsComplete) {
    auto sink = std::make_shared<RecordingSink>();
    Subscription sub("realtime:a", {}, anon(), sink, format());
    auto s0 = sub.reserve(), s1 = sub.reserve(), s2 = sub.reserve(), s3 = sub.reserve();
    sub.complete(s2, text("c"), {1}, test_round);
    sub.complete(s1, text("b"), {1}, test_round);
    EXPECT_TRUE(sink->data().empty()) << "nothing may overtake slot 0";
    EXPECT_EQ(sub.waiting(), 2u);
    sub.skip(s0, test_round);
    EXPECT_EQ(sink->data(), (std::vector<std::string>{"b", "c"}));
    sub.complete(s3, text("d"), {7, 7}, test_round);
    EXPECT_EQ(sink->data(), (std::vector<std::string>{"b", "c", "d"}));
    EXPECT_EQ(sink->messages.back().second, (std::vector<std::int64_t>{7, 7}));
    EXPECT_EQ(sub.waiting(), 0u);
}

TEST(SubscriptionTest, ConcurrentCompletionKeepsOrder) {
    auto sink = std::make_shared<RecordingSink>();
    Subscription sub("realtime:a", {}, anon(), sink, format());
    constexpr int n = 2000;
    std::vector<std::uint64_t> slots;
    for (int i = 0; i < n; ++i)
        slots.push_back(sub.reserve());
    // Two threads complete interleaved halves in reverse: order must still be 0..n-1.
    auto worker = [&](int parity) {
        DeliveryRound round; // each delivering thread has its own
        for (int i = n - 1; i >= 0; --i)
            if (i % 2 == parity)
                sub.complete(slots[i], text(std::to_string(i).c_str()), {1}, round);
    };
    std::thread a(worker, 0), b(worker, 1);
    a.join();
    b.join();
    auto got = sink->data();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        ASSERT_EQ(got[i], std::to_string(i));
}

TEST(SubscriptionTest, ClosedSinkReceivesNothingAndDoesNotStallOthers) {
    auto sink = std::make_shared<RecordingSink>();
    Subscription sub("realtime:a", {}, anon(), sink, format());
    auto s0 = sub.reserve();
    sink.reset(); // the channel went away
    sub.complete(s0, text("x"), {1}, test_round);
    EXPECT_EQ(sub.waiting(), 0u);
}

TEST(SubscriptionIndexTest, CandidatesFollowAddAndRemoveForKnownAndNewTables) {
    SubscriptionIndex index;
    auto table = std::make_shared<Subscription>(
        "realtime:t",
        std::vector<Binding>{binding(1, R"({"event":"*","schema":"public","table":"todos"})")},
        anon(), std::weak_ptr<ChannelSink>(), format());
    auto schema_wide = std::make_shared<Subscription>(
        "realtime:s",
        std::vector<Binding>{binding(2, R"({"event":"INSERT","schema":"public"})"),
                             binding(3, R"({"event":"*","schema":"public","table":"todos"})")},
        anon(), std::weak_ptr<ChannelSink>(), format());
    index.add(table);
    {
        auto lock = index.lock();
        const auto& c = index.candidates("public", "todos"); // first use builds the list
        ASSERT_EQ(c.size(), 1u);
        EXPECT_EQ(c[0].subscription, table.get());
    }
    index.add(schema_wide); // must be added to the already known table's list
    {
        auto lock = index.lock();
        const auto& c = index.candidates("public", "todos");
        ASSERT_EQ(c.size(), 3u);
        // One subscription's candidates are adjacent and in binding order.
        std::vector<std::pair<Subscription*, int>> got;
        for (auto& x : c)
            got.emplace_back(x.subscription, x.binding);
        auto it = std::find(got.begin(), got.end(), std::make_pair(schema_wide.get(), 0));
        ASSERT_NE(it, got.end());
        ASSERT_NE(it + 1, got.end());
        EXPECT_EQ(*(it + 1), std::make_pair(schema_wide.get(), 1));
        // A table first seen later (added to the publication) finds the schema-wide binding only.
        const auto& other = index.candidates("public", "notes");
        ASSERT_EQ(other.size(), 1u);
        EXPECT_EQ(other[0].subscription, schema_wide.get());
        EXPECT_TRUE(index.candidates("private", "todos").empty());
    }
    EXPECT_EQ(index.subscriptions(), 2u);
    EXPECT_EQ(index.bindings(), 3u);
    index.remove(schema_wide);
    {
        auto lock = index.lock();
        ASSERT_EQ(index.candidates("public", "todos").size(), 1u);
        EXPECT_TRUE(index.candidates("public", "notes").empty());
    }
    EXPECT_EQ(index.bindings(), 1u);
}

} // namespace walcast::core
