// The subscriber's side of a live query (livequery::ResultView, what `walcast watch` prints):
// the wire payloads of random result pairs (diff_results + append_update_json) applied to the
// view reproduce the new result — keys of several columns, reordering, NULLs; malformed
// payloads are refused; the psql-style table.
#include "livequery/engine.hpp"
#include "livequery/result_view.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace walcast::livequery {
namespace {

std::shared_ptr<const std::vector<Column>> columns() {
    auto c = std::make_shared<std::vector<Column>>();
    c->push_back({"a", {23, "int4", pg::TypeKind::Int}});
    c->push_back({"b", {25, "text", pg::TypeKind::Text}});
    c->push_back({"v", {25, "text", pg::TypeKind::Text}});
    return c;
}

/// One push as the wire carries it: (event, payload object).
std::pair<std::string, boost::json::object> wire(const std::vector<Row>& rows,
                                                 const std::shared_ptr<const Diff>& diff,
                                                 const std::vector<std::string>& key) {
    auto rs = std::make_shared<ResultSet>();
    rs->columns = columns();
    rs->rows = rows;
    Update u;
    u.position_text = "0/1";
    u.result = rs;
    u.diff = diff;
    u.key = std::make_shared<const std::vector<std::string>>(key);
    std::string json;
    append_update_json(json, u);
    return {diff ? "diff" : "result", boost::json::parse(json).as_object()};
}

/// The view's rows back as Rows (values as the payload printed them).
std::vector<Row> rows_of(const ResultView& view) {
    std::vector<Row> out;
    for (const auto& r : view.rows()) {
        Row row;
        for (const char* c : {"a", "b", "v"}) {
            const auto& v = r.at(c);
            if (v.is_null())
                row.emplace_back(std::nullopt);
            else if (v.is_string())
                row.emplace_back(std::string(v.get_string()));
            else
                row.emplace_back(std::to_string(v.as_int64()));
        }
        out.push_back(std::move(row));
    }
    return out;
}

TEST(ResultView, RandomDiffsOnTheWireReproduceEachNewResult) {
    std::mt19937 rng(29);
    const std::vector<std::string> key{"a", "b"};
    for (int sequence = 0; sequence < 200; ++sequence) {
        auto random_result = [&] {
            std::vector<std::pair<int, std::string>> keys;
            for (int a = 0; a < 4; ++a)
                for (const char* b : {"x", "y"})
                    keys.emplace_back(a, b);
            std::shuffle(keys.begin(), keys.end(), rng);
            keys.resize(rng() % 9);
            std::vector<Row> rows;
            for (const auto& [a, b] : keys)
                rows.push_back({std::to_string(a), b,
                                rng() % 4 == 0 ? std::nullopt
                                               : std::optional<std::string>(
                                                     std::string(1, char('p' + rng() % 3)))});
            return rows;
        };
        ResultView view;
        auto current = random_result();
        auto [event, payload] = wire(current, nullptr, key);
        ASSERT_TRUE(view.apply(event, payload));
        for (int step = 0; step < 10; ++step) {
            auto next = random_result();
            auto d = diff_results(current, next, {0, 1});
            ASSERT_TRUE(d);
            auto [e, p] = wire(next, std::make_shared<Diff>(*d), key);
            auto st = view.apply(e, p);
            ASSERT_TRUE(st) << st.error().message;
            ASSERT_EQ(rows_of(view), next) << "sequence " << sequence << " step " << step;
            current = std::move(next);
        }
    }
}

TEST(ResultView, RefusesADiffItCannotApply) {
    ResultView view;
    auto diff = std::make_shared<Diff>();
    diff->deleted = {{"1", "x"}};
    auto [e, p] = wire({}, diff, {"a", "b"});
    EXPECT_FALSE(view.apply(e, p)); // before any result
    auto [re, rp] = wire({{"2", "x", "v"}}, nullptr, {"a", "b"});
    ASSERT_TRUE(view.apply(re, rp));
    auto st = view.apply(e, p); // key (1, x) is not in the result
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("does not hold"), std::string::npos);
    EXPECT_FALSE(view.apply("rows", rp));
    EXPECT_EQ(rows_of(view).size(), 1u); // unchanged
}

TEST(ResultView, PrintsTheTableAsPsqlDoes) {
    ResultView view;
    auto [e, p] = wire({{"1", "Ünï", std::nullopt}, {"22", "b", "true"}}, nullptr, {"a"});
    ASSERT_TRUE(view.apply(e, p));
    EXPECT_EQ(view.render_table(), " a  |  b  |  v\n"
                                   "----+-----+------\n"
                                   "  1 | Ünï |\n"
                                   " 22 | b   | true\n"
                                   "(2 rows)\n");
}

} // namespace
} // namespace walcast::livequery
