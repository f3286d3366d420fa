// ALTER TABLE on a captured table — add, drop, rename, type change, replica identity, and DDL
// inside a transaction between changes — gives the same payloads in trigger mode as in logical
// mode for changes on either side: with the DDL event trigger (installed by a superuser),
// without it (a non-superuser owner: layouts found per statement), and while a durable
// consumer is away during the ALTERs.
#include "trigger_test_support.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> table_lines(const RecordingSink& sink, const std::string& table) {
    std::vector<std::string> out;
    for (const auto& c : sink.changes()) {
        if (c->relation->table != table) continue;
        std::string line = describe(*c) + " cols=";
        for (const auto& col : c->relation->columns)
            line += col.name + ":" + col.type.name + (col.is_identity_key ? "+key" : "") + ",";
        out.push_back(line);
    }
    return out;
}

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines)
        s += "  " + l + "\n";
    return s;
}

constexpr const char* alter_workload = R"SQL(
INSERT INTO s VALUES (1, 1, 'x');
ALTER TABLE s ADD COLUMN c int DEFAULT 7;
INSERT INTO s (id, a, b) VALUES (2, 2, 'y');
ALTER TABLE s DROP COLUMN b;
INSERT INTO s (id, a) VALUES (3, 3);
ALTER TABLE s RENAME COLUMN a TO a2;
INSERT INTO s (id, a2) VALUES (4, 4);
ALTER TABLE s ALTER COLUMN a2 TYPE text;
INSERT INTO s (id, a2) VALUES (5, 'five');
UPDATE s SET a2 = a2 || '!' WHERE id = 1;
BEGIN;
INSERT INTO s (id, a2) VALUES (6, 'six');
ALTER TABLE s ADD COLUMN d bool;
INSERT INTO s (id, a2, d) VALUES (7, 'seven', true);
COMMIT;
ALTER TABLE s REPLICA IDENTITY FULL;
UPDATE s SET c = 8 WHERE id = 2;
DELETE FROM s WHERE id = 3;
INSERT INTO s (id) VALUES (8);
)SQL";
constexpr std::size_t alter_changes = 11;

// Runs the workload with both sources up; the trigger source may be stopped while the ALTERs
// happen (away) and started again afterwards.
void run_alter_differential(const pg::ConnectParams& admin_params,
                            const pg::ConnectParams& owner_params, bool away) {
    auto owner = connect_to(owner_params);
    LogicalCapture logical(admin_params, "supabase_realtime");
    ASSERT_TRUE(logical.start());
    std::vector<std::string> trigger_lines;
    {
        auto o = trigger_options(away ? "away" : "");
        auto trigger = std::make_unique<TriggerCapture>(admin_params, o);
        ASSERT_TRUE(trigger->start());
        if (away) trigger.reset(); // stopped: the position is kept in the database
        sql(owner, alter_workload);
        if (away) {
            trigger = std::make_unique<TriggerCapture>(admin_params, o);
            ASSERT_TRUE(trigger->start());
        }
        ASSERT_TRUE(wait_until(
            [&] { return table_lines(trigger->sink, "s").size() >= alter_changes; }, 30s))
            << join(table_lines(trigger->sink, "s"));
        trigger_lines = table_lines(trigger->sink, "s");
        EXPECT_EQ(trigger->source.trigger_stats().corrupt_events, 0u);
    }
    ASSERT_TRUE(
        wait_until([&] { return table_lines(logical.sink, "s").size() >= alter_changes; }, 30s));
    const auto logical_lines = table_lines(logical.sink, "s");
    EXPECT_EQ(trigger_lines, logical_lines) << "trigger:\n"
                                            << join(trigger_lines) << "logical:\n"
                                            << join(logical_lines);
    // The pre-ALTER row keeps its old shape, the last one has the final columns.
    ASSERT_EQ(trigger_lines.size(), alter_changes);
    EXPECT_EQ(
        trigger_lines.front().rfind("INSERT public.s {\"id\":1,\"a\":1,\"b\":\"x\"} cols=", 0), 0u)
        << trigger_lines.front();
    EXPECT_NE(trigger_lines.back().find("{\"id\":8,\"a2\":null,\"c\":7,\"d\":null}"),
              std::string::npos)
        << trigger_lines.back();
}

TEST(TriggerSchemaTest, AlterTableMatchesLogicalModeWithTheDdlEventTrigger) {
    auto params = create_database("s_evt");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE s (id int PRIMARY KEY, a int, b text)");
    install_trigger_capture(conn);
    ASSERT_EQ(
        sql_value(conn, "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'walcast_ddl'"),
        "1");
    run_alter_differential(params, params, false);
}

TEST(TriggerSchemaTest, AlterTableWhileTheConsumerIsAwayIsReadWithTheLayoutOfItsTime) {
    auto params = create_database("s_away");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE s (id int PRIMARY KEY, a int, b text)");
    install_trigger_capture(conn);
    run_alter_differential(params, params, true);
}

// Installed by a table owner who is not a superuser (CREATEROLE, like a managed host's admin
// role): no event trigger, so each statement checks its table's catalog stamp. Also away, so
// the layouts written by the writers themselves are what the consumer reads later.
pg::ConnectParams owner_database(const std::string& name, pg::ConnectParams& admin_params) {
    auto admin = connect_test_db();
    sql(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') "
               "THEN CREATE ROLE app_owner LOGIN CREATEROLE; END IF; END $$");
    sql(admin, "CREATE DATABASE " + name + " OWNER app_owner");
    admin_params = test_cluster().connect_params(name);
    auto owner_params = admin_params;
    owner_params.user = "app_owner";
    // Roles are cluster-wide: the superuser creates them (db init skips existing ones).
    auto admin_db = connect_to(admin_params);
    sql(admin_db, pg::db_init_statements("unused_pub", false).front());
    return owner_params;
}

TEST(TriggerSchemaTest, AlterTableMatchesLogicalModeWithoutTheDdlEventTrigger) {
    pg::ConnectParams admin_params;
    auto owner_params = owner_database("s_owner", admin_params);
    auto owner = connect_to(owner_params);
    sql(owner, "CREATE TABLE s (id int PRIMARY KEY, a int, b text)");
    install_trigger_capture(owner);
    sql(owner, "ALTER PUBLICATION supabase_realtime ADD TABLE s");
    EXPECT_EQ(
        sql_value(owner, "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'walcast_ddl'"),
        "0");
    EXPECT_EQ(sql_value(owner, "SELECT layout_checks FROM walcast.queue"), "t");
    run_alter_differential(admin_params, owner_params, false);
}

TEST(TriggerSchemaTest, AlterTableWithoutTheEventTriggerWhileTheConsumerIsAway) {
    pg::ConnectParams admin_params;
    auto owner_params = owner_database("s_owner_away", admin_params);
    auto owner = connect_to(owner_params);
    sql(owner, "CREATE TABLE s (id int PRIMARY KEY, a int, b text)");
    install_trigger_capture(owner);
    sql(owner, "ALTER PUBLICATION supabase_realtime ADD TABLE s");
    run_alter_differential(admin_params, owner_params, true);
}

} // namespace
} // namespace walcast::testing
