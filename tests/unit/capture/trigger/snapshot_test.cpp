// Transaction snapshots and PgQ's batch range: parsing pg_snapshot text, visibility as
// pg_visible_in_snapshot decides it, which transactions a batch between two snapshots holds,
// and when a poll may skip the batch query.
#include "capture/trigger/snapshot.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace walcast::capture::trigger {
namespace {

Snapshot snap(const char* text) {
    auto s = Snapshot::parse(text);
    EXPECT_TRUE(s) << text;
    return s.value_or(Snapshot{});
}

TEST(SnapshotTest, ParsesAndPrintsPgSnapshotText) {
    auto s = snap("100:105:100,103");
    EXPECT_EQ(s.xmin, 100u);
    EXPECT_EQ(s.xmax, 105u);
    EXPECT_EQ(s.xip, (std::vector<std::uint64_t>{100, 103}));
    EXPECT_EQ(s.to_string(), "100:105:100,103");
    EXPECT_EQ(snap("7:7:").to_string(), "7:7:");
}

TEST(SnapshotTest, RejectsMalformedText) {
    for (const char* bad : {"", "1", "1:2", "5:4:", "1:5:7", "1:5:0", "1:5:2,", "a:5:", "1:5:2,,3",
                            "1:5:-2", "1:18446744073709551616:"})
        EXPECT_FALSE(Snapshot::parse(bad)) << bad;
}

TEST(SnapshotTest, VisibilityFollowsXminXmaxAndRunningList) {
    auto s = snap("100:105:100,103");
    EXPECT_TRUE(s.visible(99));
    EXPECT_FALSE(s.visible(100)); // running
    EXPECT_TRUE(s.visible(101));
    EXPECT_FALSE(s.visible(103));
    EXPECT_TRUE(s.visible(104));
    EXPECT_FALSE(s.visible(105)); // not started
}

// The batch (s1, s2] = transactions not visible in s1 and visible in s2; the range + list
// predicate of batch_range must select exactly those among all xids.
std::set<std::uint64_t> selected(const Snapshot& s1, const Snapshot& s2, std::uint64_t upto) {
    auto b = batch_range(s1, s2);
    std::set<std::uint64_t> out;
    for (std::uint64_t x = 1; x < upto; ++x) {
        bool in_range = x >= b.range_lo && x < b.range_hi && s2.visible(x) && !s1.visible(x);
        bool listed = std::find(b.listed.begin(), b.listed.end(), x) != b.listed.end();
        if (listed) {
            EXPECT_TRUE(s2.visible(x) && !s1.visible(x)) << x;
        }
        if (in_range || listed) out.insert(x);
    }
    return out;
}

std::set<std::uint64_t> expected(const Snapshot& s1, const Snapshot& s2, std::uint64_t upto) {
    std::set<std::uint64_t> out;
    for (std::uint64_t x = 1; x < upto; ++x)
        if (!s1.visible(x) && s2.visible(x)) out.insert(x);
    return out;
}

TEST(BatchRangeTest, LongTransactionFarBelowIsListedNotScanned) {
    // xid 10 stayed open across 1,000 others and commits between s1 and s2.
    auto s1 = snap("10:1010:10");
    auto s2 = snap("1020:1020:");
    auto b = batch_range(s1, s2);
    EXPECT_EQ(b.range_lo, 1010u);
    EXPECT_EQ(b.range_hi, 1020u);
    EXPECT_EQ(b.listed, (std::vector<std::uint64_t>{10}));
    EXPECT_EQ(selected(s1, s2, 1100), expected(s1, s2, 1100));
}

TEST(BatchRangeTest, NearbyFinishedTransactionsLowerTheRange) {
    auto s1 = snap("850:1000:850,990,995,999");
    auto s2 = snap("995:1010:995");
    auto b = batch_range(s1, s2);
    EXPECT_EQ(b.range_lo, 990u); // 999 and 990 absorbed; 850 listed; 995 still running
    EXPECT_EQ(b.listed, (std::vector<std::uint64_t>{850}));
    EXPECT_EQ(selected(s1, s2, 1100), expected(s1, s2, 1100));
}

TEST(BatchRangeTest, StillRunningTransactionIsLeftForALaterBatch) {
    auto s1 = snap("10:20:10,15");
    auto s2 = snap("10:30:10");
    auto sel = selected(s1, s2, 40);
    EXPECT_EQ(sel.count(10), 0u);
    EXPECT_EQ(sel.count(15), 1u);
    EXPECT_EQ(sel, expected(s1, s2, 40));
}

// Property: over random chains of snapshots, consecutive batches select every committed
// transaction exactly once, whenever it commits.
TEST(BatchRangeTest, ConsecutiveBatchesSelectEachTransactionExactlyOnce) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 200; ++round) {
        // Simulate xids 1..N starting in order and finishing at random later times.
        const std::uint64_t n = 300;
        std::vector<int> finish_at(n + 1);
        std::vector<int> start_at(n + 1);
        int t = 0;
        for (std::uint64_t x = 1; x <= n; ++x) {
            start_at[x] = t;
            t += 1;
            finish_at[x] = t + static_cast<int>(rng() % (rng() % 10 == 0 ? 400 : 20));
        }
        auto snapshot_at = [&](int time) {
            Snapshot s;
            std::uint64_t xmax = 1;
            while (xmax <= n && start_at[xmax] <= time)
                ++xmax;
            s.xmax = xmax;
            s.xmin = xmax;
            for (std::uint64_t x = 1; x < xmax; ++x) {
                if (finish_at[x] > time) {
                    s.xip.push_back(x);
                    s.xmin = std::min(s.xmin, x);
                }
            }
            return s;
        };
        std::multiset<std::uint64_t> seen;
        Snapshot prev = snapshot_at(-1);
        for (int time = 0; time < 800; time += 1 + static_cast<int>(rng() % 30)) {
            Snapshot cur = snapshot_at(time);
            for (auto x : selected(prev, cur, n + 1))
                seen.insert(x);
            prev = cur;
        }
        Snapshot last = snapshot_at(100000);
        for (auto x : selected(prev, last, n + 1))
            seen.insert(x);
        ASSERT_EQ(seen.size(), n) << "round " << round;
        for (std::uint64_t x = 1; x <= n; ++x)
            ASSERT_EQ(seen.count(x), 1u) << "xid " << x << " round " << round;
    }
}

TEST(NothingNewTest, SkipsOnlyWhenTheSequenceStoodStillAndNoRunningTransactionEnded) {
    auto s1 = snap("10:20:10,15");
    EXPECT_TRUE(nothing_new(s1, 7, snap("10:25:10,15,21"), 7));
    EXPECT_FALSE(nothing_new(s1, 7, snap("10:25:10,15"), 8));  // an event was written
    EXPECT_FALSE(nothing_new(s1, 7, snap("10:25:10"), 7));     // 15 finished
    EXPECT_FALSE(nothing_new(s1, -1, snap("10:25:10,15"), 7)); // unknown start
}

} // namespace
} // namespace walcast::capture::trigger
