// The GraphQL → SQL compiler (src/graphql/sql): one statement per root field, its shape
// (json_build_object / json_agg, correlated sub-selects, only the selected columns plus keys),
// and every argument value a bind parameter — never SQL text. The statements' results against
// real Postgres are checked by tests/graphql/queries.test.mjs.
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/sql/compiler.hpp"
#include "graphql/validation.hpp"
#include "seed_catalog.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace walcast::graphql;
using namespace walcast::graphql::catalog;
using namespace walcast::graphql::catalog::seed_catalog;
using Params = std::vector<std::optional<std::string>>;

namespace {

const GeneratedSchema& seed_schema() {
    static const auto g = generate(seed());
    return *g;
}

sql::CompiledOperation compile(std::string_view text, std::string_view variables = "{}") {
    const auto& g = seed_schema();
    auto doc = parse(text);
    EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
    if (!doc.ok()) return {};
    auto errors = validate(*g.schema, *doc);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().message);
    auto op =
        prepare_operation(*g.schema, *doc, std::nullopt, boost::json::parse(variables).as_object());
    EXPECT_TRUE(op.ok()) << (op.ok() ? "" : op.error().front().message);
    if (!op.ok()) return {};
    auto compiled = sql::compile_operation(g, *op);
    EXPECT_TRUE(compiled.ok()) << (compiled.ok() ? "" : compiled.error().front().message);
    return compiled.ok() ? std::move(compiled).value() : sql::CompiledOperation{};
}

} // namespace

TEST(GraphqlSqlCompilerTest, ListFieldWithFilterOrderAndLimit) {
    auto op = compile(R"({ orders(filter: { status: { eq: "pending" } },
                                  orderBy: { createdAt: DESC }, limit: 10) { id total } })");
    ASSERT_EQ(op.fields.size(), 1u);
    const auto& f = op.fields[0];
    EXPECT_EQ(f.response_key, "orders");
    EXPECT_TRUE(f.non_null);
    EXPECT_EQ(f.sql,
              "SELECT (SELECT coalesce(json_agg(json_build_object('id', (t0.\"id\")::text, "
              "'total', (t0.\"total\")::text) ORDER BY t0.\"created_at\" DESC, t0.\"id\" ASC), "
              "'[]'::json) FROM (SELECT s0.\"id\", s0.\"total\", s0.\"created_at\" FROM "
              "\"public\".\"orders\" AS s0 WHERE s0.\"status\" = $1 ORDER BY s0.\"created_at\" "
              "DESC, s0.\"id\" ASC LIMIT $2) AS t0) AS data");
    EXPECT_EQ(f.params, (Params{"pending", "10"}));
}

TEST(GraphqlSqlCompilerTest, VariablesAreParametersNeverSqlText) {
    const std::string hostile = R"(x'); DROP TABLE orders; --)";
    auto op = compile(R"(query($s: String!, $n: Int) {
                           orders(filter: { status: { eq: $s } }, limit: $n, offset: 2) { id } })",
                      R"({"s": "x'); DROP TABLE orders; --", "n": 3})");
    ASSERT_EQ(op.fields.size(), 1u);
    EXPECT_EQ(op.fields[0].sql.find("DROP"), std::string::npos) << op.fields[0].sql;
    EXPECT_NE(op.fields[0].sql.find("s0.\"status\" = $1"), std::string::npos);
    EXPECT_NE(op.fields[0].sql.find("LIMIT $2 OFFSET $3"), std::string::npos);
    EXPECT_EQ(op.fields[0].params, (Params{hostile, "3", "2"}));
}

TEST(GraphqlSqlCompilerTest, NestedRelationsAreCorrelatedSubSelectsCarryingKeys) {
    auto op = compile(R"({ orders { total customer { name orders(limit: 1) { status } } } })");
    ASSERT_EQ(op.fields.size(), 1u);
    const std::string& s = op.fields[0].sql;
    // The root level carries its primary key and the to-one's join column, not the others.
    EXPECT_NE(s.find("FROM (SELECT s0.\"total\", s0.\"customer_id\", s0.\"id\" FROM "
                     "\"public\".\"orders\" AS s0 ORDER BY s0.\"id\" ASC) AS t0"),
              std::string::npos)
        << s;
    // to-one: one row matched on the key, null without one.
    EXPECT_NE(s.find("'customer', (SELECT json_build_object('name', (t1.\"name\")::text, "
                     "'orders', (SELECT coalesce(json_agg("),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("FROM \"public\".\"customers\" AS s1 WHERE s1.\"id\" = t0.\"customer_id\""),
              std::string::npos)
        << s;
    // to-many back to orders: correlated on the customer's key, its own limit.
    EXPECT_NE(s.find("FROM \"public\".\"orders\" AS s2 WHERE s2.\"customer_id\" = t1.\"id\" "
                     "ORDER BY s2.\"id\" ASC LIMIT $1) AS t2"),
              std::string::npos)
        << s;
    EXPECT_EQ(s.find("\"email\""), std::string::npos) << "only the selected columns: " << s;
    EXPECT_EQ(op.fields[0].params, (Params{"1"}));
}

TEST(GraphqlSqlCompilerTest, ByPrimaryKeyAliasesFragmentsAndTypename) {
    auto op = compile(R"(query($id: BigInt!) {
                           a: orderByPk(id: $id) { ...F __typename }
                           b: orderItemByPk(orderId: 1, itemId: 2) { q: quantity }
                           __typename
                         }
                         fragment F on Orders { total n: id })",
                      R"({"id": "9007199254740993"})");
    ASSERT_EQ(op.fields.size(), 2u) << "__typename at the root is introspection's";
    EXPECT_EQ(op.fields[0].response_key, "a");
    EXPECT_FALSE(op.fields[0].non_null);
    EXPECT_EQ(op.fields[0].sql,
              "SELECT (SELECT json_build_object('total', (t0.\"total\")::text, 'n', "
              "(t0.\"id\")::text, '__typename', 'Orders'::text) FROM (SELECT s0.\"total\", "
              "s0.\"id\" FROM \"public\".\"orders\" AS s0 WHERE s0.\"id\" = $1 ORDER BY s0.\"id\" "
              "ASC) AS t0) AS data");
    EXPECT_EQ(op.fields[0].params, (Params{"9007199254740993"}));
    EXPECT_NE(op.fields[1].sql.find("WHERE s0.\"order_id\" = $1 AND s0.\"item_id\" = $2"),
              std::string::npos)
        << op.fields[1].sql;
    EXPECT_NE(op.fields[1].sql.find("json_build_object('q', t0.\"quantity\")"), std::string::npos)
        << op.fields[1].sql;
    EXPECT_EQ(op.fields[1].params, (Params{"1", "2"}));
}

TEST(GraphqlSqlCompilerTest, FilterOperatorsAndLogic) {
    auto op = compile(R"({ orders(filter: {
                             or: [{ status: { in: ["a", "b\"c"] } }, { total: { gte: "1.5" } }],
                             not: { customerId: { isNull: false } },
                             status: { like: "p%", ilike: "P%", neq: "x" },
                             id: { gt: 1, lt: 9, lte: 8 },
                             priority: { eq: in_progress }
                           }) { id } })");
    ASSERT_EQ(op.fields.size(), 1u);
    const std::string& s = op.fields[0].sql;
    // Coerced input objects follow the input type's field order (columns, then and/or/not).
    EXPECT_NE(s.find("WHERE (s0.\"id\" > $1 AND s0.\"id\" < $2 AND s0.\"id\" <= $3 AND "
                     "s0.\"status\" <> $4 AND s0.\"status\"::text LIKE $5 AND "
                     "s0.\"status\"::text ILIKE $6 AND s0.\"priority\" = $7 AND "
                     "(s0.\"status\" = ANY($8) OR s0.\"total\" >= $9) AND "
                     "NOT ((s0.\"customer_id\" IS NULL) = $10)) ORDER BY"),
              std::string::npos)
        << s;
    // The enum value is bound back to its label (`in progress` is renamed in_progress); `in`
    // is one array parameter.
    EXPECT_EQ(op.fields[0].params, (Params{"1", "9", "8", "x", "p%", "P%", "in progress",
                                           R"({"a","b\"c"})", "1.5", "false"}));
    auto empty = compile(R"({ orders(filter: { and: [], or: [], status: { eq: null } }) { id } })");
    ASSERT_EQ(empty.fields.size(), 1u);
    EXPECT_NE(empty.fields[0].sql.find("WHERE (TRUE AND FALSE) ORDER BY"), std::string::npos)
        << empty.fields[0].sql;
    EXPECT_TRUE(empty.fields[0].params.empty());
}

TEST(GraphqlSqlCompilerTest, EnumsCompositeArraysAndManyFields) {
    auto op = compile(R"({ orders { priority tags } salesDashboard { topProducts { name } } })");
    ASSERT_EQ(op.fields.size(), 2u);
    // Renamed labels map back to the enum's value names; arrays element by element, in order.
    EXPECT_NE(op.fields[0].sql.find("CASE t0.\"priority\"::text WHEN 'high' THEN 'high'"),
              std::string::npos)
        << op.fields[0].sql;
    EXPECT_NE(op.fields[0].sql.find("WHEN 'in progress' THEN 'in_progress'"), std::string::npos)
        << op.fields[0].sql;
    EXPECT_NE(
        op.fields[1].sql.find("json_agg(CASE WHEN num_nulls((t0.\"top_products\")[i1]) = 1 THEN "
                              "NULL ELSE json_build_object('name', "
                              "(((t0.\"top_products\")[i1]).\"name\")::text) END ORDER BY "
                              "i1) FROM generate_subscripts(t0.\"top_products\", 1) AS i1"),
        std::string::npos)
        << op.fields[1].sql;
    // A view without a key has no ordering of its own.
    EXPECT_NE(op.fields[1].sql.find("FROM \"public\".\"sales_dashboard\" AS s0) AS t0"),
              std::string::npos)
        << op.fields[1].sql;

    // More than json_build_object's 50 pairs: concatenated text, keys in order.
    std::string many = "{ users { ";
    for (int i = 0; i < 60; ++i)
        many += "a" + std::to_string(i) + ": name ";
    auto wide = compile(many + "} }");
    ASSERT_EQ(wide.fields.size(), 1u);
    EXPECT_NE(wide.fields[0].sql.find("('{' || '\"a0\":' || coalesce(to_json((t0.\"name\")::text)"
                                      "::text, 'null') || ',\"a1\":' ||"),
              std::string::npos)
        << wide.fields[0].sql.substr(0, 400);
    EXPECT_NE(wide.fields[0].sql.find("'null') || '}')::json"), std::string::npos);
}

TEST(GraphqlSqlCompilerTest, RootEqualitiesBecomeRefreshConditions) {
    using Conditions = std::vector<sql::RefreshCondition>;
    // Top-level and `and` equalities on integer/text columns; not those under or/not, not
    // other operators, not an enum or numeric column.
    auto op = compile(R"({ orders(filter: {
                             customerId: { eq: "7" }, status: { eq: "pending", neq: "x" },
                             total: { eq: "1.5" }, priority: { eq: high },
                             and: [{ id: { eq: 3 } }, { or: [{ id: { eq: 4 } }] }],
                             not: { id: { eq: 5 } }, or: [{ status: { eq: "y" } }]
                           }) { id customer { name } } })");
    ASSERT_EQ(op.fields.size(), 1u);
    const auto& f = op.fields[0];
    std::vector<std::string> filters;
    for (const auto& c : f.refresh) {
        EXPECT_EQ(c.table, "public.orders");
        filters.push_back(c.filter);
    }
    // Each condition names the parameter that holds its value.
    ASSERT_EQ(filters.size(), 3u) << f.sql;
    for (const auto& x : filters) {
        const auto n = std::stoul(x.substr(x.find('$') + 1));
        ASSERT_LE(n, f.params.size());
        const std::string column = x.substr(0, x.find('='));
        const std::string value = *f.params[n - 1];
        EXPECT_TRUE((column == "customer_id" && value == "7") ||
                    (column == "status" && value == "pending") || (column == "id" && value == "3"))
            << x << " = " << value;
    }
    // A by-primary-key field: its key.
    auto pk = compile(R"({ orderItemByPk(orderId: 1, itemId: 2) { quantity } })");
    ASSERT_EQ(pk.fields.size(), 1u);
    EXPECT_EQ(pk.fields[0].refresh, (Conditions{{"public.order_items", "order_id=eq.$1"},
                                                {"public.order_items", "item_id=eq.$2"}}));
    // The root's table read again deeper: its nested rows obey no root condition.
    auto again = compile(R"({ orders(filter: { customerId: { eq: "7" } }) {
                               id customer { orders { id } } } })");
    ASSERT_EQ(again.fields.size(), 1u);
    EXPECT_TRUE(again.fields[0].refresh.empty());
    // A view: none.
    auto view = compile(R"({ salesDashboard { orderCount } })");
    ASSERT_EQ(view.fields.size(), 1u);
    EXPECT_TRUE(view.fields[0].refresh.empty());
}
