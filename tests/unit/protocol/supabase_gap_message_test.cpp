// The gap notice subscribers receive (supabase::gap_message): both times in UTC ISO 8601, the
// reason, and what to do; an open gap says changes are being lost now.
#include "protocol/supabase/messages.hpp"

#include <gtest/gtest.h>

namespace walcast::protocol::supabase {
namespace {

TEST(GapMessageTest, AClosedGapNamesBothTimesTheReasonAndToRefetch) {
    capture::Gap g;
    g.from_unix_ms = 1'764'633'600'123; // 2025-12-02T00:00:00.123Z
    g.to_unix_ms = 1'764'633'605'007;
    g.reason = "the replication stream was down";
    EXPECT_EQ(gap_message(g),
              "changes committed between 2025-12-02T00:00:00.123Z and 2025-12-02T00:00:05.007Z "
              "may be missing: the replication stream was down. Refetch what this channel shows");
}

TEST(GapMessageTest, AnOpenGapSaysChangesAreBeingLostNow) {
    capture::Gap g;
    g.from_unix_ms = 1'764'633'600'000;
    g.reason = "replication slot \"s\" was invalidated by Postgres";
    EXPECT_TRUE(g.open());
    EXPECT_EQ(gap_message(g),
              "changes committed since 2025-12-02T00:00:00.000Z are not being delivered and will "
              "be missing: replication slot \"s\" was invalidated by Postgres. Refetch what this "
              "channel shows once the stream is back");
}

TEST(GapMessageTest, AGapWhoseStartIsUnknownSaysBefore) {
    capture::Gap g;
    g.to_unix_ms = 1'764'633'605'000;
    g.reason = "r";
    EXPECT_EQ(gap_message(g), "changes committed before 2025-12-02T00:00:05.000Z may be "
                              "missing: r. Refetch what this channel shows");
}

} // namespace
} // namespace walcast::protocol::supabase
