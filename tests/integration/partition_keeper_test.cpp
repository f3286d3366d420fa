// broadcast::PartitionKeeper against a real Postgres with the realtime schema of `walcast db
// init`: each pass creates yesterday … today + 3 and drops the partitions named
// messages_YYYY_MM_DD dated before the UTC date of now − retention (spec §7.4.4), keeps an app's
// own partitions whatever their range, and drops nothing with retention 0 or without the table.
#include "broadcast/partition_keeper.hpp"
#include "pg/db_setup.hpp"
#include "support/test_postgres.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace walcast::testing {

namespace {

using namespace std::chrono_literals;

class PartitionKeeperTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto conn = connect_test_db();
        sql(conn, "CREATE DATABASE partkeep");
        sql(conn, "CREATE DATABASE partkeep_none");
        auto db = pg::Connection::connect(test_cluster().connect_params("partkeep"));
        ASSERT_TRUE(db);
        auto st = pg::run_statements(*db, pg::db_init_statements("supabase_realtime", false));
        ASSERT_TRUE(st) << st.error().message;
    }

    static pg::Connection db(const char* name = "partkeep") {
        auto c = pg::Connection::connect(test_cluster().connect_params(name));
        EXPECT_TRUE(c);
        return std::move(c).value();
    }

    /// realtime.messages_<UTC date of today - days_ago>, with one row in it.
    static std::string dated_partition(int days_ago) {
        auto c = db();
        const std::string name =
            sql_value(c, "SELECT 'messages_' || to_char((now() AT TIME ZONE 'UTC')::date - " +
                             std::to_string(days_ago) + ", 'YYYY_MM_DD')");
        sql(c, "CREATE TABLE IF NOT EXISTS realtime." + name +
                   " PARTITION OF realtime.messages FOR VALUES FROM ((now() AT TIME ZONE "
                   "'UTC')::date - " +
                   std::to_string(days_ago) + ") TO ((now() AT TIME ZONE 'UTC')::date - " +
                   std::to_string(days_ago - 1) + ")");
        sql(c, "INSERT INTO realtime.messages (topic, extension, payload, event, inserted_at) "
               "VALUES ('t', 'broadcast', '{}', 'e', (now() AT TIME ZONE 'UTC')::date - " +
                   std::to_string(days_ago) + " + time '12:00')");
        return name;
    }

    static std::vector<std::string> partitions() {
        auto c = db();
        auto r = c.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'realtime.messages'::regclass ORDER BY 1");
        EXPECT_TRUE(r);
        std::vector<std::string> out;
        for (int i = 0; r && i < r->size(); ++i)
            out.push_back(r->string(i, 0));
        return out;
    }

    static bool has(const std::vector<std::string>& v, const std::string& name) {
        return std::find(v.begin(), v.end(), name) != v.end();
    }
};

} // namespace

TEST_F(PartitionKeeperTest, DropsDatedPartitionsBeforeTheRetentionDateAndKeepsTheRest) {
    const auto d4 = dated_partition(4), d3 = dated_partition(3), d2 = dated_partition(2);
    {
        auto c = db();
        sql(c, "CREATE TABLE IF NOT EXISTS realtime.messages_2020_01_01 PARTITION OF "
               "realtime.messages FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');"
               "CREATE TABLE IF NOT EXISTS realtime.messages_archive PARTITION OF "
               "realtime.messages FOR VALUES FROM ('2019-01-01') TO ('2019-02-01')");
    }
    broadcast::PartitionKeeper keeper(test_cluster().connect_params("partkeep"), 1h, 72h);
    auto dropped = keeper.run_once();
    ASSERT_TRUE(dropped) << dropped.error().message;
    // 72 h ago is today − 3 (UTC): what is dated before it goes, in name order.
    EXPECT_TRUE(has(*dropped, "messages_2020_01_01"));
    EXPECT_TRUE(has(*dropped, d4));
    EXPECT_FALSE(has(*dropped, d3));
    EXPECT_TRUE(std::is_sorted(dropped->begin(), dropped->end()));
    const auto left = partitions();
    EXPECT_FALSE(has(left, d4));
    EXPECT_TRUE(has(left, d3));
    EXPECT_TRUE(has(left, d2));
    EXPECT_TRUE(has(left, "messages_archive")) << "an app's own partition is never dropped";
    for (int ahead = -1; ahead <= 3; ++ahead) {
        auto c = db();
        EXPECT_TRUE(has(left, sql_value(c, "SELECT 'messages_' || to_char((now() AT TIME ZONE "
                                           "'UTC')::date + " +
                                               std::to_string(ahead) + ", 'YYYY_MM_DD')")))
            << "day " << ahead << " created";
    }
    auto c = db();
    EXPECT_EQ(sql_value(c, "SELECT count(*) FROM realtime." + d3), "1") << "kept with its rows";

    // A second pass finds nothing more to drop; a shorter retention drops the next days.
    auto again = keeper.run_once();
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(again->empty());
    broadcast::PartitionKeeper day(test_cluster().connect_params("partkeep"), 1h, 24h);
    auto shorter = day.run_once();
    ASSERT_TRUE(shorter) << shorter.error().message;
    EXPECT_EQ(*shorter, (std::vector<std::string>{d3, d2}));
}

TEST_F(PartitionKeeperTest, RetentionZeroKeepsEveryPartition) {
    const auto d9 = dated_partition(9);
    broadcast::PartitionKeeper keeper(test_cluster().connect_params("partkeep"), 1h, 0h);
    auto dropped = keeper.run_once();
    ASSERT_TRUE(dropped) << dropped.error().message;
    EXPECT_TRUE(dropped->empty());
    EXPECT_TRUE(has(partitions(), d9));
}

TEST_F(PartitionKeeperTest, ADatabaseWithoutRealtimeMessagesIsLeftAlone) {
    broadcast::PartitionKeeper keeper(test_cluster().connect_params("partkeep_none"), 1h, 72h);
    auto dropped = keeper.run_once();
    ASSERT_TRUE(dropped) << dropped.error().message;
    EXPECT_TRUE(dropped->empty());
    auto c = db("partkeep_none");
    EXPECT_EQ(sql_value(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'realtime'"), "0");
}

} // namespace walcast::testing
