// trigger::Snapshot: the pg_snapshot text form (PostgreSQL docs 9.27) and visibility as
// pg_visible_in_snapshot decides it.
#include "capture/trigger/snapshot.hpp"

#include <gtest/gtest.h>

namespace walcast::capture::trigger {
namespace {

TEST(TriggerSnapshotTest, ParsesWhatPostgresPrints) {
    auto s = Snapshot::parse("781:790:783,785");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->xmin, 781u);
    EXPECT_EQ(s->xmax, 790u);
    EXPECT_EQ(s->xip, (std::vector<std::uint64_t>{783, 785}));
    EXPECT_EQ(s->to_string(), "781:790:783,785");
    auto empty = Snapshot::parse("781:781:");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->xip.empty());
    EXPECT_EQ(empty->to_string(), "781:781:");
}

TEST(TriggerSnapshotTest, RefusesAnythingElse) {
    for (const char* bad : {"", "1", "1:2", "2:1:", "1:5:0", "1:5:5", "1:5:3,2", "1:5:3,3",
                            "1:5:3,", "a:b:", "1:5:3;4", "1:5: 3", "-1:5:", "1:5:3,,4",
                            "99999999999999999999:1:", "'; DROP x;--"})
        EXPECT_FALSE(Snapshot::parse(bad)) << bad;
}

TEST(TriggerSnapshotTest, VisibleIsFinishedBeforeTheSnapshot) {
    auto s = *Snapshot::parse("10:20:12,15");
    EXPECT_TRUE(s.visible(9));
    EXPECT_TRUE(s.visible(10));
    EXPECT_FALSE(s.visible(12));
    EXPECT_TRUE(s.visible(13));
    EXPECT_FALSE(s.visible(15));
    EXPECT_TRUE(s.visible(19));
    EXPECT_FALSE(s.visible(20));
    EXPECT_FALSE(s.visible(25));
}

} // namespace
} // namespace walcast::capture::trigger
