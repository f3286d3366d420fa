// pg::Connection::prepare: the parameter and column types of a statement, where each column
// comes from, and what it reads — views resolved to their base tables, the row-level security
// policies' reads, whole-row references, functions — against a real Postgres.
#include "support/test_postgres.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace walcast::testing {
namespace {

const pg::StatementShape::Read* read_of(const pg::StatementShape& s, const std::string& table) {
    for (const auto& r : s.reads)
        if (r.name == table) return &r;
    return nullptr;
}

class StatementShapeTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto conn = connect_test_db();
        sql(conn, R"SQL(
            CREATE TABLE ss_orders (id int PRIMARY KEY, status text, customer text, note text);
            CREATE TABLE ss_items (id int PRIMARY KEY, order_id int, qty int, extra text);
            CREATE VIEW ss_pending AS SELECT o.id, o.customer FROM ss_orders o
                WHERE o.status = 'pending';
            CREATE TABLE ss_owners (owner text PRIMARY KEY, team text);
            CREATE TABLE ss_docs (id int PRIMARY KEY, owner text, body text);
            ALTER TABLE ss_docs ENABLE ROW LEVEL SECURITY;
            CREATE POLICY p ON ss_docs USING (owner IN (SELECT o.owner FROM ss_owners o
                WHERE o.team = current_user));
            CREATE FUNCTION ss_twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
        )SQL");
    }
};

TEST_F(StatementShapeTest, ParametersColumnsAndTheirSourceTables) {
    auto conn = connect_test_db();
    auto s = conn.prepare("ss1", "SELECT i.id, i.qty + 1 AS more, o.status FROM ss_items i "
                                 "JOIN ss_orders o ON o.id = i.order_id WHERE i.qty > $1 "
                                 "AND o.customer = $2");
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ(s->parameter_types, (std::vector<pg::Oid>{pg::oids::int4, pg::oids::text}));
    ASSERT_EQ(s->columns.size(), 3u);
    EXPECT_EQ(s->columns[0].name, "id");
    EXPECT_EQ(s->columns[0].type, pg::oids::int4);
    EXPECT_NE(s->columns[0].table, 0u);
    EXPECT_EQ(s->columns[0].table_column, 1);
    EXPECT_EQ(s->columns[1].name, "more");
    EXPECT_EQ(s->columns[1].table, 0u) << "an expression has no source column";
    EXPECT_EQ(s->columns[2].table_column, 2);
    ASSERT_EQ(s->reads.size(), 2u);
    EXPECT_EQ(read_of(*s, "ss_items")->columns,
              (std::vector<std::string>{"id", "order_id", "qty"}));
    EXPECT_EQ(read_of(*s, "ss_orders")->columns,
              (std::vector<std::string>{"id", "status", "customer"}));
    // Named: it stays prepared on the connection.
    EXPECT_TRUE(conn.exec("EXECUTE ss1(0, 'x')"));
}

TEST_F(StatementShapeTest, ViewsAreResolvedToTheColumnsTheyRead) {
    auto conn = connect_test_db();
    auto s = conn.prepare("", "SELECT i.id, p.customer FROM ss_items i JOIN ss_pending p ON "
                              "p.id = i.order_id");
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_EQ(s->reads.size(), 2u);
    EXPECT_FALSE(read_of(*s, "ss_pending"));
    // The view's WHERE reads status; note is read by nothing.
    EXPECT_EQ(read_of(*s, "ss_orders")->columns,
              (std::vector<std::string>{"id", "status", "customer"}));
    EXPECT_TRUE(read_of(*s, "ss_orders")->indirect) << "read through the view";
    EXPECT_FALSE(read_of(*s, "ss_items")->indirect) << "read by the statement itself";
}

TEST_F(StatementShapeTest, PoliciesAddWhatTheyReadWholeRowsAndFunctionsAreReported) {
    auto conn = connect_test_db();
    auto s = conn.prepare("", "SELECT id, ss_twice(id) FROM ss_docs");
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_TRUE(read_of(*s, "ss_docs"));
    EXPECT_EQ(read_of(*s, "ss_docs")->columns, (std::vector<std::string>{"id", "owner"}));
    ASSERT_TRUE(read_of(*s, "ss_owners")) << "the policy's subquery";
    EXPECT_EQ(read_of(*s, "ss_owners")->columns, (std::vector<std::string>{"owner", "team"}));
    EXPECT_EQ(s->functions, (std::vector<std::string>{"public.ss_twice"}));
    // Its own policy's condition on its own row is not an indirect read; the other table the
    // policy queries is.
    EXPECT_FALSE(read_of(*s, "ss_docs")->indirect);
    EXPECT_TRUE(read_of(*s, "ss_owners")->indirect);

    auto whole = conn.prepare("", "SELECT o FROM ss_orders o");
    ASSERT_TRUE(whole) << whole.error().describe();
    ASSERT_EQ(whole->reads.size(), 1u);
    EXPECT_TRUE(whole->reads[0].whole_row);
}

TEST_F(StatementShapeTest, ErrorsAndStatementsThatReturnNoRows) {
    auto conn = connect_test_db();
    auto bad = conn.prepare("", "SELECT * FROM ss_nope");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().sqlstate, "42P01");
    auto two = conn.prepare("", "SELECT 1; SELECT 2");
    ASSERT_FALSE(two);
    auto set = conn.prepare("", "SET search_path = public");
    ASSERT_TRUE(set) << set.error().describe();
    EXPECT_TRUE(set->columns.empty());
    // Inside a transaction the analysis rolls back only its savepoint.
    ASSERT_TRUE(conn.exec("BEGIN"));
    ASSERT_TRUE(conn.exec("CREATE TEMP TABLE ss_kept (x int)"));
    auto in_txn = conn.prepare("", "SELECT x FROM ss_kept -- a trailing comment");
    ASSERT_TRUE(in_txn) << in_txn.error().describe();
    EXPECT_TRUE(conn.exec("SELECT * FROM ss_kept")) << "the transaction is still usable";
    ASSERT_TRUE(conn.exec("ROLLBACK"));
}

} // namespace
} // namespace walcast::testing
