// The throwaway cluster every integration test stands on: starts with logical WAL, accepts
// SQL, survives restart and crash-restart with its data.
#include "support/test_postgres.hpp"

namespace walcast::testing {

TEST(EmbeddedClusterTest, StartsWithLogicalWalLevel) {
    auto conn = connect_test_db();
    EXPECT_EQ(sql_value(conn, "SHOW wal_level"), "logical");
    EXPECT_EQ(sql_value(conn, "SHOW TimeZone"), "UTC"); // walcast's connection options
}

TEST(EmbeddedClusterTest, KeepsDataAcrossRestartAndCrash) {
    {
        auto conn = connect_test_db();
        sql(conn, "CREATE TABLE kept(id int primary key); INSERT INTO kept VALUES (1), (2)");
    }
    ASSERT_TRUE(test_cluster().restart());
    {
        auto conn = connect_test_db();
        EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM kept"), "2");
        sql(conn, "INSERT INTO kept VALUES (3)");
    }
    ASSERT_TRUE(test_cluster().crash_restart());
    auto conn = connect_test_db();
    EXPECT_EQ(sql_value(conn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM kept"), "1,2,3");
}

} // namespace walcast::testing
