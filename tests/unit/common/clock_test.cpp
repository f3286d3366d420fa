#include "common/clock.hpp"

#include <gtest/gtest.h>

namespace walcast {

TEST(CommitTimestampTest, RendersUtcWithThreeTruncatedFractionDigits) {
    // 2026-11-21T09:21:44.403999Z as µs since 2000-01-01.
    const std::int64_t unix_s = 1795252904; // date -u -d 2026-11-21T09:21:44Z +%s
    const std::int64_t pg_us = (unix_s * 1'000'000 + 403'999) - pg_epoch_offset_us;
    EXPECT_EQ(format_commit_timestamp(pg_us), "2026-11-21T09:21:44.403Z");
}

TEST(CommitTimestampTest, RendersPgEpochAndTimesBeforeIt) {
    EXPECT_EQ(format_commit_timestamp(0), "2000-01-01T00:00:00.000Z");
    EXPECT_EQ(format_commit_timestamp(-1), "1999-12-31T23:59:59.999Z");
}

} // namespace walcast
