// Keyed diffs between live-query results (livequery::diff_results): applying a diff by the
// documented client rule reproduces the new result, for random pairs of results; duplicate keys
// fall back to whole results; the payload JSON of results and diffs.
#include "livequery/engine.hpp"
#include "livequery/named_queries.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

namespace walcast::livequery {
namespace {

Row row(int id, std::optional<std::string> v) {
    return {std::to_string(id), std::move(v)};
}

/// The client rule of docs/livequery.md (Diff's comment).
std::vector<Row> apply(std::vector<Row> rows, const Diff& d, const std::vector<std::size_t>& key) {
    auto k = [&](const Row& r) {
        Row out;
        for (auto i : key)
            out.push_back(r[i]);
        return out;
    };
    std::vector<Row> out;
    for (auto& r : rows) {
        if (std::find(d.deleted.begin(), d.deleted.end(), k(r)) != d.deleted.end()) continue;
        auto u = std::find_if(d.updated.begin(), d.updated.end(),
                              [&](const Row& x) { return k(x) == k(r); });
        out.push_back(u == d.updated.end() ? r : *u);
    }
    out.insert(out.end(), d.inserted.begin(), d.inserted.end());
    if (d.order) {
        std::vector<Row> ordered;
        for (const auto& key_values : *d.order)
            for (const auto& r : out)
                if (k(r) == key_values) ordered.push_back(r);
        out = std::move(ordered);
    }
    return out;
}

TEST(LiveQueryDiff, InsertUpdateDeleteKeyedByTheKeyColumns) {
    std::vector<Row> before{row(1, "a"), row(2, "b"), row(3, "c")};
    std::vector<Row> after{row(1, "a"), row(3, "C"), row(4, std::nullopt)};
    auto d = diff_results(before, after, {0});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->deleted, (std::vector<Row>{{"2"}}));
    EXPECT_EQ(d->updated, (std::vector<Row>{row(3, "C")}));
    EXPECT_EQ(d->inserted, (std::vector<Row>{row(4, std::nullopt)}));
    EXPECT_FALSE(d->order) << "the rule's order is the new order";
    EXPECT_EQ(apply(before, *d, {0}), after);
}

TEST(LiveQueryDiff, OrderIsSentOnlyWhenTheRuleWouldGetItWrong) {
    std::vector<Row> before{row(1, "a"), row(2, "b")};
    std::vector<Row> after{row(2, "b"), row(1, "a")};
    auto d = diff_results(before, after, {0});
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->inserted.empty() && d->updated.empty() && d->deleted.empty());
    ASSERT_TRUE(d->order);
    EXPECT_EQ(apply(before, *d, {0}), after);
}

TEST(LiveQueryDiff, DuplicateKeysOrNoKeyMeanWholeResults) {
    EXPECT_FALSE(diff_results({row(1, "a"), row(1, "b")}, {row(1, "a")}, {0}));
    EXPECT_FALSE(diff_results({row(1, "a")}, {row(2, "a"), row(2, "b")}, {0}));
    EXPECT_FALSE(diff_results({row(1, "a")}, {row(2, "a")}, {}));
}

TEST(LiveQueryDiff, RandomResultsApplyToTheNewResult) {
    std::mt19937 rng(13);
    for (int round = 0; round < 2000; ++round) {
        auto random_result = [&] {
            std::vector<int> ids(10);
            std::iota(ids.begin(), ids.end(), 0);
            std::shuffle(ids.begin(), ids.end(), rng);
            ids.resize(rng() % 8);
            std::vector<Row> rows;
            for (int id : ids)
                rows.push_back(rng() % 5 == 0 ? row(id, std::nullopt)
                                              : row(id, std::string(1, char('a' + rng() % 3))));
            return rows;
        };
        auto before = random_result();
        auto after = random_result();
        auto d = diff_results(before, after, {0});
        ASSERT_TRUE(d);
        ASSERT_EQ(apply(before, *d, {0}), after) << "round " << round;
    }
}

TEST(LiveQueryDiff, PayloadJsonOfAResultAndADiff) {
    auto cols = std::make_shared<std::vector<Column>>();
    cols->push_back({"id", {23, "int4", pg::TypeKind::Int}});
    cols->push_back({"v", {25, "text", pg::TypeKind::Text}});
    auto rs = std::make_shared<ResultSet>();
    rs->columns = cols;
    rs->rows = {row(1, "a\"b"), row(2, std::nullopt)};
    Update u;
    u.position_text = "0/16B3F28";
    u.time_ms = 1700000000123;
    u.result = rs;
    u.key = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"id"});
    std::string out;
    append_update_json(out, u);
    EXPECT_EQ(out, R"({"position":"0/16B3F28","at":1700000000123,"key":["id"],)"
                   R"("columns":[{"name":"id","type":"int4"},{"name":"v","type":"text"}],)"
                   R"("rows":[{"id":1,"v":"a\"b"},{"id":2,"v":null}]})");
    auto d = std::make_shared<Diff>();
    d->inserted = {row(3, "c")};
    d->deleted = {{"1"}};
    u.diff = d;
    out.clear();
    append_update_json(out, u);
    EXPECT_EQ(out, R"({"position":"0/16B3F28","at":1700000000123,"key":["id"],)"
                   R"("inserted":[{"id":3,"v":"c"}],"updated":[],"deleted":[{"id":1}]})");
}

TEST(NamedQueries, DirectivesBeforeTheSql) {
    auto q = NamedQueries::parse("-- pending orders\n-- key: id, line\n-- throttle_ms: 0\n"
                                 "SELECT 1 -- key: ignored\n");
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ(q->key, (std::vector<std::string>{"id", "line"}));
    EXPECT_EQ(q->throttle_ms, 0u);
    EXPECT_FALSE(NamedQueries::parse("-- throttle_ms: soon\nSELECT 1"));
    EXPECT_FALSE(NamedQueries::parse("-- key: a,,b\nSELECT 1"));
}

TEST(NamedQueries, RefreshDirectivesKeepTheirOrder) {
    auto q = NamedQueries::parse("-- refresh: items order_id=eq.:result/id\n"
                                 "-- refresh:   public.orders\tstatus=eq.pending, id=eq.$1\n"
                                 "SELECT 1");
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ(q->refresh, (std::vector<RefreshRule>{
                              {"items", "order_id=eq.:result/id"},
                              {"public.orders", "status=eq.pending, id=eq.$1"},
                          }));
    auto no_condition = NamedQueries::parse("-- refresh: items\nSELECT 1");
    ASSERT_FALSE(no_condition);
    EXPECT_NE(
        no_condition.error().message.find("line 1: -- refresh: takes a table and a condition"),
        std::string::npos)
        << no_condition.error().message;
    EXPECT_FALSE(NamedQueries::parse("-- refresh:\nSELECT 1"));
}

} // namespace
} // namespace walcast::livequery
