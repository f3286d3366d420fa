// TriggerPosition and TriggerSource's printed positions ("batch/low bits"): ordered by batch
// then by transaction, parsed back exactly, anything else refused.
#include "capture/trigger/trigger_source.hpp"

#include <gtest/gtest.h>

namespace walcast::capture {
namespace {

class NullSink : public ChangeSink {
public:
    void on_change(const ChangePtr&) override {}
    void on_commit(const TransactionInfo&, Position) override {}
};

TEST(TriggerPositionTest, CommitBeforeEndBeforeTheNextTransactionAndBatch) {
    EXPECT_LT(TriggerPosition::commit(1, 0), TriggerPosition::end(1, 0));
    EXPECT_LT(TriggerPosition::end(1, 0), TriggerPosition::commit(1, 1));
    EXPECT_LT(TriggerPosition::end(1, 1'000'000), TriggerPosition::commit(2, 0));
    EXPECT_EQ(TriggerPosition::batch_of(TriggerPosition::end(7, 3)), 7u);
    EXPECT_EQ(TriggerPosition::done_of(TriggerPosition::end(7, 3)), 4u);
    EXPECT_EQ(TriggerPosition::done_of(TriggerPosition::commit(7, 3)), 3u);
}

TEST(TriggerPositionTest, PrintsAndParsesBack) {
    NullSink sink;
    TriggerSource source(pg::ConnectParams{}, TriggerSourceOptions{}, sink);
    for (Position p : {TriggerPosition::commit(1, 0), TriggerPosition::end(12, 3),
                       TriggerPosition::end(123456789, 100000)}) {
        auto text = source.format_position(p);
        auto back = source.parse_position(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(*back, p) << text;
    }
    EXPECT_EQ(source.format_position(TriggerPosition::end(12, 3)), "12/8");
    for (const char* bad : {"", "12", "12/", "/8", "a/8", "12/8/1", "0/1A2B3C8", "12/-1",
                            "12/268435456", "99999999999999999999/1"})
        EXPECT_FALSE(source.parse_position(bad)) << bad;
    EXPECT_EQ(source.kind(), "trigger");
}

} // namespace
} // namespace walcast::capture
