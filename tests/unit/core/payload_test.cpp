// ChangePayloads renders each (variant, format) of a change once and shares the bytes: two
// protocols' formats each serialize once, whatever number of channels receive them.
#include "core/subscription/payload.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace walcast::core {
namespace {

// Renders "<name>:<kind>:<mask>", counting its calls.
struct CountingFormat : PayloadFormat {
    explicit CountingFormat(std::string n) : name(std::move(n)) {}
    std::string render(const capture::Change& c, const PayloadVariant& v,
                       bool too_big) const override {
        ++calls;
        std::string mask;
        for (bool b : v.columns)
            mask += b ? '1' : '0';
        return name + ":" + capture::to_string(c.kind) + ":" + mask + (too_big ? ":big" : "");
    }
    std::string name;
    mutable std::atomic<int> calls{0};
};

TEST(ChangePayloadsTest, EachVariantAndFormatIsRenderedOnceAndShared) {
    auto change = std::make_shared<capture::Change>();
    change->kind = capture::ChangeKind::Update;
    ChangePayloads p(change, 1 << 20);
    CountingFormat phoenix("phx"), graphql("gql");
    PayloadVariant all, some;
    some.columns = {true, false};

    auto a1 = p.get(all, phoenix);
    auto a2 = p.get(all, phoenix);
    auto b1 = p.get(all, graphql);
    auto c1 = p.get(some, phoenix);
    EXPECT_EQ(a1.get(), a2.get()); // shared bytes
    EXPECT_EQ(*a1, "phx:UPDATE:");
    EXPECT_EQ(*b1, "gql:UPDATE:");
    EXPECT_EQ(*c1, "phx:UPDATE:10");
    EXPECT_EQ(p.get(some, graphql).get(), p.get(some, graphql).get());
    EXPECT_EQ(phoenix.calls, 2);
    EXPECT_EQ(graphql.calls, 2);
}

TEST(ChangePayloadsTest, RowsAboveTheRecordLimitAreRenderedReduced) {
    auto change = std::make_shared<capture::Change>();
    change->kind = capture::ChangeKind::Insert;
    pg::Tuple t;
    t.push_value(std::string(100, 'x'));
    change->new_tuple = std::move(t);
    CountingFormat f("f");
    EXPECT_EQ(*ChangePayloads(change, 99).get({}, f), "f:INSERT::big");
    EXPECT_EQ(*ChangePayloads(change, 100).get({}, f), "f:INSERT:");
    EXPECT_EQ(*ChangePayloads(change, 0).get({}, f), "f:INSERT:"); // 0 = no limit
}

} // namespace
} // namespace walcast::core
