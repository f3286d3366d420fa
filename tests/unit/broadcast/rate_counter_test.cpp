#include "broadcast/rate_counter.hpp"

#include <gtest/gtest.h>

namespace walcast::broadcast {
namespace {

using namespace std::chrono_literals;
using Clock = RateCounter::Clock;

} // namespace

TEST(BroadcastRateCounterTest, AveragesOverAtLeastOneBucket) {
    const auto t0 = Clock::time_point{} + 1000s;
    RateCounter c(100, "Too many messages per second", t0);
    c.add(400, t0 + 1s); // 400 events ÷ 5 s (one bucket at least) = 80/s
    EXPECT_DOUBLE_EQ(c.average(t0 + 1s), 80.0);
    EXPECT_FALSE(c.over());
    c.add(101, t0 + 2s); // 501 ÷ 5 = 100.2/s
    EXPECT_TRUE(c.over());
    EXPECT_EQ(c.message(), "Too many messages per second");
}

TEST(BroadcastRateCounterTest, DividesByTheCoveredTimeOnceLongerThanABucket) {
    const auto t0 = Clock::time_point{} + 1000s;
    RateCounter c(100, "m", t0);
    c.add(1000, t0 + 1s);
    EXPECT_TRUE(c.over()); // 200/s over the first bucket
    // 10 s later the same 1000 events cover 10 s: 100/s, not over.
    EXPECT_DOUBLE_EQ(c.average(t0 + 10s), 100.0);
    EXPECT_FALSE(c.over());
}

TEST(BroadcastRateCounterTest, ForgetsEventsOlderThanTheWindow) {
    const auto t0 = Clock::time_point{} + 1000s;
    RateCounter c(10, "m", t0);
    c.add(10'000, t0);
    EXPECT_TRUE(c.over());
    // 12 buckets of 5 s later the burst has left the window.
    EXPECT_DOUBLE_EQ(c.average(t0 + 61s), 0.0);
    EXPECT_FALSE(c.over());
    c.add(5, t0 + 62s);
    EXPECT_FALSE(c.over());
}

TEST(BroadcastRateCounterTest, ZeroLimitIsNeverOver) {
    const auto t0 = Clock::time_point{} + 1000s;
    RateCounter c(0, "m", t0);
    c.add(1'000'000, t0);
    EXPECT_FALSE(c.over());
    EXPECT_FALSE(c.would_exceed(1'000'000, t0));
}

TEST(BroadcastRateCounterTest, WouldExceedAddsTheBatchCountToTheAverage) {
    const auto t0 = Clock::time_point{} + 1000s;
    RateCounter c(100, "m", t0);
    c.add(250, t0); // 50/s
    EXPECT_FALSE(c.would_exceed(50, t0));
    EXPECT_TRUE(c.would_exceed(51, t0));
}

} // namespace walcast::broadcast
