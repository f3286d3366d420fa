#include "presence/tracker.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <set>

namespace walcast::presence {

TEST(PresenceTrackerTest, FirstTrackJoinsWithAUniqueSixteenCharacterRef) {
    Tracker t;
    EXPECT_EQ(t.track("r", 1, "u1", R"({"s":"online"})"), Tracker::Tracked::Joined);
    auto p = t.take_pending();
    ASSERT_EQ(p.size(), 1u);
    ASSERT_EQ(p[0].second.joins.at("u1").size(), 1u);
    const Meta& m = p[0].second.joins.at("u1")[0];
    EXPECT_EQ(m.phx_ref.size(), 16u);
    EXPECT_TRUE(p[0].second.leaves.empty());
    auto state = boost::json::parse(t.state_json("r"));
    EXPECT_EQ(state.at("u1").at("metas").at(0).at("s").as_string(), "online");
    EXPECT_EQ(state.at("u1").at("metas").at(0).at("phx_ref").as_string(), m.phx_ref);
}

TEST(PresenceTrackerTest, SamePayloadIsUnchanged_DifferentPayloadIsAnUpdateWithPhxRefPrev) {
    Tracker t;
    t.track("r", 1, "u1", R"({"s":"online"})");
    auto first = t.take_pending()[0].second.joins.at("u1")[0];
    EXPECT_EQ(t.track("r", 1, "u1", R"({"s":"online"})"), Tracker::Tracked::Unchanged);
    EXPECT_TRUE(t.take_pending().empty());
    EXPECT_EQ(t.track("r", 1, "u1", R"({"s":"away"})"), Tracker::Tracked::Updated);
    auto d = t.take_pending().at(0).second;
    ASSERT_EQ(d.joins.at("u1").size(), 1u);
    EXPECT_EQ(d.joins.at("u1")[0].phx_ref_prev, first.phx_ref);
    ASSERT_EQ(d.leaves.at("u1").size(), 1u);
    EXPECT_EQ(d.leaves.at("u1")[0].phx_ref, first.phx_ref);
    auto j = boost::json::parse(diff_json(d));
    EXPECT_EQ(j.at("joins").at("u1").at("metas").at(0).at("s").as_string(), "away");
    EXPECT_EQ(j.at("leaves").at("u1").at("metas").at(0).at("s").as_string(), "online");
}

TEST(PresenceTrackerTest, SeveralMembersShareAKeyAndLeaveOnlyTheirOwnMeta) {
    Tracker t;
    t.track("r", 1, "u1", R"({"tab":1})");
    t.track("r", 2, "u1", R"({"tab":2})");
    t.take_pending();
    EXPECT_EQ(t.keys("r"), 1u);
    EXPECT_TRUE(t.untrack("r", 1));
    EXPECT_FALSE(t.untrack("r", 1));
    auto d = t.take_pending().at(0).second;
    EXPECT_TRUE(d.joins.empty());
    ASSERT_EQ(d.leaves.at("u1").size(), 1u);
    auto state = boost::json::parse(t.state_json("r"));
    ASSERT_EQ(state.at("u1").at("metas").as_array().size(), 1u);
    EXPECT_EQ(state.at("u1").at("metas").at(0).at("tab").as_int64(), 2);
}

TEST(PresenceTrackerTest, CoalescesAWindowIntoOneDiffPerTopic_JoinThenLeaveCancels) {
    Tracker t;
    std::set<std::string> refs;
    for (std::uint64_t i = 0; i < 1000; ++i)
        t.track("r", i, "k" + std::to_string(i), "{}");
    t.track("other", 1, "x", "{}");
    t.untrack("other", 1);
    auto p = t.take_pending();
    ASSERT_EQ(p.size(), 1u); // "other" cancelled out
    EXPECT_EQ(p[0].first, "r");
    EXPECT_EQ(p[0].second.joins.size(), 1000u);
    for (const auto& [k, metas] : p[0].second.joins)
        refs.insert(metas.at(0).phx_ref);
    EXPECT_EQ(refs.size(), 1000u);
    EXPECT_EQ(t.keys("r"), 1000u);
    EXPECT_EQ(t.state_json("other"), "{}");
}

TEST(PresenceTrackerTest, UntrackThenTrackTheSamePayloadJoinsAgain) {
    Tracker t;
    t.track("r", 1, "u1", R"({"a":1})");
    t.take_pending();
    t.untrack("r", 1);
    t.take_pending();
    EXPECT_EQ(t.track("r", 1, "u1", R"({"a":1})"), Tracker::Tracked::Joined);
    EXPECT_EQ(t.take_pending().at(0).second.joins.size(), 1u);
}

} // namespace walcast::presence
