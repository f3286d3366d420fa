// The one execution path: exec/exec_script/exec_multi fail with the server's PgError fields,
// exec_multi runs several statements in one round trip and reports where it stopped, and the
// field readers turn NULLs, bad text and out-of-range reads into nullopt.
#include "support/test_postgres.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

TEST(ConnectionTest, ExecFailsWithTheServersSqlstateMessageDetailAndHint) {
    auto conn = connect_test_db();
    auto r = conn.exec("DO $$ BEGIN RAISE EXCEPTION 'broken' USING DETAIL = 'the detail', "
                       "HINT = 'the hint', ERRCODE = '22023'; END $$");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sqlstate, "22023");
    EXPECT_EQ(r.error().message, "broken");
    EXPECT_EQ(r.error().detail, "the detail");
    EXPECT_EQ(r.error().hint, "the hint");
    EXPECT_FALSE(r.error().transient);
    EXPECT_FALSE(r.error().connection_lost);
    EXPECT_EQ(r.error().to_error().message, "broken (SQLSTATE 22023)");

    auto missing = conn.exec("SELECT * FROM no_such_table_here");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().sqlstate, "42P01");
}

TEST(ConnectionTest, ExecMultiReturnsEveryStatementInOrderAndStopsAtTheFirstError) {
    auto conn = connect_test_db();
    auto ok = conn.exec_multi("BEGIN; SELECT 1; SELECT 'a', NULL UNION ALL SELECT 'b', 'x'; "
                              "COMMIT");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok.results.size(), 4u);
    EXPECT_FALSE(ok.results[0].returns_tuples());
    EXPECT_TRUE(ok.results[1].returns_tuples());
    EXPECT_EQ(ok.results[1].integer<int>(0, 0), 1);
    EXPECT_EQ(ok.results[2].size(), 2);
    EXPECT_EQ(ok.results[2].string(1, 0), "b");
    EXPECT_FALSE(ok.results[2].text(0, 1)); // NULL

    auto failed = conn.exec_multi("BEGIN; SELECT 7; SELECT 1/0; SELECT 8; COMMIT");
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error->sqlstate, "22012");
    ASSERT_EQ(failed.results.size(), 2u); // BEGIN and SELECT 7 ran; nothing after the error
    EXPECT_EQ(failed.results[1].integer<int>(0, 0), 7);
    ASSERT_TRUE(conn.exec_script("ROLLBACK"));
    EXPECT_TRUE(conn.exec("SELECT 1")); // the connection is usable again
}

TEST(ConnectionTest, FieldReadersRefuseNullsBadTextAndOutOfRangeWithoutThrowing) {
    auto conn = connect_test_db();
    auto r = conn.exec("SELECT '42', 'abc', NULL::text, '99999999999', 't'::bool, 'yes', ' 5'");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->integer<int>(0, 0), 42);
    EXPECT_FALSE(r->integer<int>(0, 1));
    EXPECT_FALSE(r->integer<int>(0, 2));
    EXPECT_FALSE(r->integer<int>(0, 3)); // out of int's range
    EXPECT_EQ(r->integer<std::int64_t>(0, 3), 99999999999);
    EXPECT_EQ(r->boolean(0, 4), true);
    EXPECT_FALSE(r->boolean(0, 5));
    EXPECT_FALSE(r->integer<int>(0, 6)); // the whole field must be the number
    EXPECT_FALSE(r->text(1, 0));         // no second row
    EXPECT_FALSE(r->text(0, 99));        // no such column
    EXPECT_EQ(r->string(0, 99), "");
}

} // namespace
} // namespace walcast::testing
