// RowPolicy assembly (the combination and order Postgres applies to SELECT policies) and row
// binding (record literals, values a change does not carry). The semantics against Postgres
// itself are proven by tests/integration/rls_policy_vs_postgres_test.cpp.
#include "core/authorization/row_policy.hpp"

#include <gtest/gtest.h>

namespace walcast::core {
namespace {

std::string description(bool active, const std::string& policies, bool whole_row = false) {
    return std::string(R"({"active":)") + (active ? "true" : "false") +
           R"(,"name":"app.docs","type":"app.docs","alias":"docs",)"
           R"("columns":[{"name":"id","num":1,"domain":false},{"name":"owner","num":2,"domain":false},)"
           R"({"name":"body","num":3,"domain":true},{"name":"walcast_ordinal","num":5,"domain":false}],)"
           R"("policies":)" +
           policies + R"(,"fingerprint":"f1","roles_fingerprint":"r1","whole":)" +
           (whole_row ? "true" : "false") + "}";
}

std::string policy(const std::string& name, bool permissive, const std::string& using_sql,
                   const std::string& columns, bool whole_row = false) {
    return R"({"name":")" + name + R"(","permissive":)" + (permissive ? "true" : "false") +
           R"(,"using":")" + using_sql + R"(","whole_row":)" + (whole_row ? "true" : "false") +
           R"(,"columns":)" + columns + "}";
}

TEST(RowPolicyTest, RestrictiveClausesComeFirstInNameOrderThenPermissiveOnesOrInReverse) {
    auto p = parse_row_policy(
        description(true, "[" + policy("b_perm", true, "(owner = auth.uid())", "[2]") + "," +
                              policy("a_perm", true, "true", "[]") + "," +
                              policy("z_restr", false, "(id > 0)", "[1]") + "," +
                              policy("c_restr", false, "(id < 9)", "[1]") + "]"),
        "authenticated", 42);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ((*p)->mode, RowSecurity::Policies);
    EXPECT_EQ((*p)->predicate,
              "CASE WHEN ((id < 9)) IS NOT TRUE THEN false WHEN ((id > 0)) IS NOT "
              "TRUE THEN false ELSE (((owner = auth.uid())) OR (true)) IS TRUE END");
    EXPECT_TRUE((*p)->columns[0].needed);
    EXPECT_TRUE((*p)->columns[1].needed);
    EXPECT_FALSE((*p)->columns[2].needed);
    // A column named like the ordinal: the ordinal takes another name.
    EXPECT_NE((*p)->statement.find("WITH ORDINALITY AS docs(\"id\", \"owner\", \"body\", "
                                   "\"walcast_ordinal\", walcast_ordinal_)"),
              std::string::npos)
        << (*p)->statement;
}

TEST(RowPolicyTest, WithoutPermissivePolicyNoRowIsVisible) {
    auto p = parse_row_policy(description(true, "[" + policy("only", false, "true", "[]") + "]"),
                              "anon", 42);
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)->mode, RowSecurity::DenyAll);
    auto none = parse_row_policy(description(true, "null"), "anon", 42);
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)->mode, RowSecurity::DenyAll);
    auto off = parse_row_policy(description(false, "null"), "anon", 42);
    ASSERT_TRUE(off);
    EXPECT_EQ((*off)->mode, RowSecurity::Off);
    EXPECT_FALSE(parse_row_policy(std::nullopt, "anon", 42));
}

TEST(RowPolicyTest, AWholeRowPolicyNeedsEveryColumnAndRowsOfTheTablesType) {
    auto p = parse_row_policy(
        description(true, "[" + policy("w", true, "app.ok(docs.*)", "[]", true) + "]"), "anon", 42);
    ASSERT_TRUE(p);
    for (const auto& c : (*p)->columns)
        EXPECT_TRUE(c.needed) << c.name;
    EXPECT_NE((*p)->statement.find("unnest($1[walcast_i.i:walcast_i.i]) AS docs"),
              std::string::npos)
        << (*p)->statement;
}

TEST(RowPolicyTest, RecordLiteralsQuoteEveryValueAndLeaveNullEmpty) {
    std::string out;
    std::vector<std::optional<std::string_view>> v = {"1", std::nullopt, "", "a\"b\\c,(d)"};
    append_record_literal(out, v);
    EXPECT_EQ(out, R"x(("1",,"","a\"b\\c,(d)"))x");
}

capture::Relation relation() {
    capture::Relation r;
    r.oid = 42;
    r.schema = "app";
    r.table = "docs";
    for (const char* n : {"id", "owner", "body"}) {
        capture::Column c;
        c.name = n;
        r.columns.push_back(c);
    }
    return r;
}

TEST(RowPolicyTest, BindsWhatPoliciesReadAndFailsVersionsMissingIt) {
    auto p = parse_row_policy(
        description(true, "[" + policy("own", true, "(owner = auth.uid())", "[2]") + "]"), "a", 42);
    ASSERT_TRUE(p);
    const auto rel = relation();
    pg::Tuple full, toast_owner, toast_body, old;
    for (auto* t : {&full, &old}) {
        t->push_value("1");
        t->push_value(t == &full ? "u1" : "u0");
        t->push_value("text \"q\"");
    }
    toast_owner.push_value("2");
    toast_owner.push_unchanged_toast();
    toast_owner.push_null();
    toast_body.push_value("3");
    toast_body.push_value("u3");
    toast_body.push_unchanged_toast();
    std::vector<RowVersion> versions = {{&rel, &full, nullptr},
                                        {&rel, &toast_owner, nullptr},
                                        {&rel, &toast_owner, &old},
                                        {&rel, &toast_body, nullptr}};
    std::vector<RowVerdict> verdicts;
    std::vector<std::string> missing;
    auto bound = bind_policy_rows(**p, versions, verdicts, missing);
    // id is not read (NULL), owner is, body is a domain (always bound); the fourth column of the
    // row type is not in the relation and not read. The second version lacks owner.
    EXPECT_EQ(bound.array, R"x({"(,\"u1\",\"text \\\"q\\\"\",)","(,\"u0\",,)"})x");
    EXPECT_EQ(bound.rows, (std::vector<std::size_t>{0, 2}));
    EXPECT_EQ(missing[1], "owner");
    // body (a domain) is missing from the fourth: it cannot be bound either.
    EXPECT_EQ(missing[3], "body");
    EXPECT_EQ(verdicts[1], RowVerdict::Failed);
}

} // namespace
} // namespace walcast::core
