#include "core/routing/commit_tracker.hpp"

#include <gtest/gtest.h>

namespace walcast::core {

TEST(CommitTrackerTest, ConfirmsOnlyPastTransactionsWhoseWorkIsAllDone) {
    CommitTracker tracker;
    auto t1 = tracker.open();
    tracker.add_pending(t1, 2);
    EXPECT_FALSE(tracker.close(t1, capture::Position{100}).valid());
    auto t2 = tracker.open();
    EXPECT_FALSE(tracker.close(t2, capture::Position{200}).valid()); // t2 done, but t1 is not

    EXPECT_FALSE(tracker.finish(t1).valid());
    EXPECT_EQ(tracker.confirmed(), capture::Position{0});
    EXPECT_EQ(tracker.finish(t1), capture::Position{200}); // both confirmable at once, in order
    EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(CommitTrackerTest, LaterTransactionFinishingFirstDoesNotSkipAnEarlierOne) {
    CommitTracker tracker;
    auto t1 = tracker.open();
    tracker.add_pending(t1);
    tracker.close(t1, capture::Position{10});
    auto t2 = tracker.open();
    tracker.add_pending(t2);
    tracker.close(t2, capture::Position{20});
    EXPECT_FALSE(tracker.finish(t2).valid());
    EXPECT_EQ(tracker.confirmed(), capture::Position{0});
    EXPECT_EQ(tracker.finish(t1), capture::Position{20});
}

TEST(CommitTrackerTest, TransactionWithoutWorkConfirmsAtClose) {
    CommitTracker tracker;
    auto t = tracker.open();
    EXPECT_EQ(tracker.close(t, capture::Position{42}), capture::Position{42});
}

} // namespace walcast::core
