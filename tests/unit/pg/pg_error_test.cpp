// The SQLSTATE table lives in pg/ with the one Postgres error value; what is transient and how
// a PgError reads in walcast's messages.
#include "pg/connection.hpp"
#include "pg/pg_error.hpp"
#include "pg/sqlstate.hpp"

#include <gtest/gtest.h>

namespace walcast::pg {
namespace {

TEST(SqlstateTest, ConditionNamesAsErrcodesTxtSpellsThem) {
    EXPECT_EQ(sqlstate_condition_name("P0001"), "raise_exception");
    EXPECT_EQ(sqlstate_condition_name("22P02"), "invalid_text_representation");
    EXPECT_EQ(sqlstate_condition_name("42704"), "undefined_object");
    EXPECT_EQ(sqlstate_condition_name("2201B"), "invalid_regular_expression");
    EXPECT_EQ(sqlstate_condition_name("42883"), "undefined_function");
    EXPECT_EQ(sqlstate_condition_name("ZZZZZ"), "");
}

TEST(SqlstateTest, ConnectionShutdownTimeoutAndSerializationErrorsAreTransient) {
    for (auto code : {"08006", "08001", "57P01", "57P02", "57P03", "57014", "40001", "40P01", ""})
        EXPECT_TRUE(is_transient_sqlstate(code)) << code;
    for (auto code : {"P0001", "22P02", "42501", "42704", "55006", "XX000"})
        EXPECT_FALSE(is_transient_sqlstate(code)) << code;
}

TEST(PgErrorTest, DescribesWithTheSqlstateAndMapsToAWalcastError) {
    PgError e{"42P01", "relation \"nope\" does not exist", "", "", false};
    EXPECT_EQ(e.describe(), "relation \"nope\" does not exist (SQLSTATE 42P01)");
    EXPECT_EQ(e.to_error().code, Errc::InvalidInput);
    EXPECT_TRUE(e.is("42P01"));
    PgError lost;
    lost.message = "server closed the connection unexpectedly";
    lost.connection_lost = true;
    EXPECT_EQ(lost.describe(), "server closed the connection unexpectedly");
    EXPECT_EQ(lost.to_error().code, Errc::Unavailable);
}

TEST(RowsTest, ReadersOfAnEmptyResultNeverThrowNorReadOutOfRange) {
    Rows none;
    EXPECT_EQ(none.size(), 0);
    EXPECT_FALSE(none.text(0, 0));
    EXPECT_EQ(none.string(3, 7), "");
    EXPECT_FALSE(none.boolean(0, 0));
    EXPECT_FALSE(none.integer<std::uint32_t>(0, 0));
    EXPECT_FALSE(none.returns_tuples());
}

} // namespace
} // namespace walcast::pg
