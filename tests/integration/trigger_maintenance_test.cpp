// Trigger capture over time against a real Postgres: a dropped capture trigger is reported
// (health, stats) with its fix and repaired by reconcile; tables joining and leaving the
// publication are followed without a restart (with and without the DDL event trigger);
// corrupt event rows are skipped with an error while everything else flows; application roles
// write with no privilege on schema walcast; rotation empties consumed event tables and keeps
// unread ones; max_retention drops what an absent consumer did not read and tells it; the
// publication's operations are honoured; Postgres restarts and crashes lose and repeat
// nothing.
#include "trigger_test_support.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

using namespace std::chrono_literals;

std::string row(const std::string& table, int id) {
    return "INSERT public." + table + " {\"id\":" + std::to_string(id) + "}";
}

std::vector<std::string> rows(const std::string& table, int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i <= to; ++i)
        v.push_back(row(table, i));
    return v;
}

TEST(TriggerMaintenanceTest, DroppedCaptureTriggerIsReportedWithItsFixAndRepairReinstallsIt) {
    auto params = create_database("m_drop");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE d (id int PRIMARY KEY); CREATE TABLE ok (id int PRIMARY KEY)");
    install_trigger_capture(conn);
    auto o = trigger_options();
    o.maintenance_interval = 100ms;
    TriggerCapture trigger(params, o);
    ASSERT_TRUE(trigger.start());
    EXPECT_TRUE(trigger.source.health().up);

    sql(conn, "DROP TRIGGER walcast_insert ON d");
    ASSERT_TRUE(wait_until([&] { return !trigger.source.health().up; }));
    const auto h = trigger.source.health();
    EXPECT_NE(h.reason.find("capture trigger(s) walcast_insert on public.d were dropped or "
                            "disabled, so its changes are not captured: run `walcast db init "
                            "--capture trigger`"),
              std::string::npos)
        << h.reason;
    EXPECT_EQ(trigger.source.trigger_stats().tables_missing_triggers, 1u);
    // The other table is still captured meanwhile.
    sql(conn, "INSERT INTO ok VALUES (1)");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 1));
    // Disabling counts as dropping.
    sql(conn, "ALTER TABLE ok DISABLE TRIGGER walcast_update");
    ASSERT_TRUE(
        wait_until([&] { return trigger.source.trigger_stats().tables_missing_triggers == 2; }));

    // The fix the message names.
    sql(conn, "SELECT * FROM walcast.reconcile(true)");
    ASSERT_TRUE(wait_until([&] { return trigger.source.health().up; }));
    EXPECT_EQ(trigger.source.trigger_stats().tables_missing_triggers, 0u);
    sql(conn, "INSERT INTO d VALUES (2); UPDATE ok SET id = 3");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 3));
    EXPECT_EQ(trigger.sink.lines()[1], row("d", 2));
}

// A publication listing tables (not FOR ALL TABLES): ALTER PUBLICATION ADD/DROP TABLE.
void publication_follow(const pg::ConnectParams& admin, const pg::ConnectParams& owner_params,
                        bool event_trigger) {
    auto owner = connect_to(owner_params);
    sql(owner, "CREATE TABLE p1 (id int PRIMARY KEY); CREATE TABLE p2 (id int PRIMARY KEY);"
               "CREATE PUBLICATION follow_pub FOR TABLE p1");
    install_trigger_capture(owner, "follow_pub");
    auto o = trigger_options("", "follow_pub");
    o.maintenance_interval = 100ms;
    TriggerCapture trigger(admin, o);
    ASSERT_TRUE(trigger.start());
    sql(owner, "INSERT INTO p1 VALUES (1); INSERT INTO p2 VALUES (1)");
    sql(owner, "ALTER PUBLICATION follow_pub ADD TABLE p2");
    if (event_trigger) {
        // Installed inside the ALTER PUBLICATION's transaction: the next row is captured.
        EXPECT_EQ(sql_value(owner, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'p2'::regclass "
                                   "AND tgname LIKE 'walcast_%'"),
                  "4");
    } else {
        ASSERT_TRUE(wait_until([&] {
            return sql_value(owner, "SELECT count(*) FROM walcast.capture_table WHERE relid = "
                                    "'p2'::regclass") == "1";
        }));
    }
    sql(owner, "INSERT INTO p2 VALUES (2)");
    sql(owner, "ALTER PUBLICATION follow_pub DROP TABLE p1");
    if (!event_trigger) {
        ASSERT_TRUE(wait_until([&] {
            return sql_value(owner, "SELECT count(*) FROM walcast.capture_table WHERE relid = "
                                    "'p1'::regclass") == "0";
        }));
    }
    sql(owner, "INSERT INTO p1 VALUES (3); INSERT INTO p2 VALUES (3)");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 3));
    sql(owner, "INSERT INTO p2 VALUES (4)"); // a barrier: p1's row 3 would have come before it
    ASSERT_TRUE(wait_for_lines(trigger.sink, 4));
    EXPECT_EQ(trigger.sink.lines(),
              (std::vector<std::string>{row("p1", 1), row("p2", 2), row("p2", 3), row("p2", 4)}));
    EXPECT_EQ(sql_value(owner, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'p1'::regclass "
                               "AND tgname LIKE 'walcast_%'"),
              "0"); // a table that left the publication carries no capture triggers
}

TEST(TriggerMaintenanceTest, PublicationChangesAreFollowedWithTheDdlEventTrigger) {
    auto params = create_database("m_pub_evt");
    publication_follow(params, params, true);
}

TEST(TriggerMaintenanceTest, PublicationChangesAreFollowedWithoutTheDdlEventTrigger) {
    auto admin = connect_test_db();
    sql(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pub_owner') "
               "THEN CREATE ROLE pub_owner LOGIN CREATEROLE; END IF; END $$");
    sql(admin, "CREATE DATABASE m_pub_poll OWNER pub_owner");
    auto params = test_cluster().connect_params("m_pub_poll");
    sql(connect_to(params), pg::db_init_statements("x", false).front()); // cluster-wide roles
    auto owner = params;
    owner.user = "pub_owner";
    publication_follow(params, owner, false);
}

// Junk in the event table (a bad record, an unknown layout, an unknown operation, a row with
// the wrong number of columns, an INSERT without its row): each is skipped and logged; the
// changes around them, also in the same transaction, are delivered.
TEST(TriggerMaintenanceTest, CorruptEventRowsAreSkippedAndEverythingElseFlows) {
    auto params = create_database("m_corrupt");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE c (id int PRIMARY KEY, v text)");
    install_trigger_capture(conn);
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(trigger.start());
    const std::string layout =
        sql_value(conn, "SELECT layout_id FROM walcast.capture_table WHERE relid = 'c'::regclass");
    const std::string table =
        sql_value(conn, "SELECT 'walcast.event_' || cur_table FROM walcast.queue");
    auto junk = [&](const std::string& layout_id, const std::string& op, const std::string& rows) {
        return "INSERT INTO " + table +
               " (ev_id, ev_rel, ev_layout, ev_op, ev_new) VALUES "
               "(nextval('walcast.event_seq'), 'c'::regclass, " +
               layout_id + ", '" + op + "', " + rows + ");";
    };
    sql(conn, "BEGIN; INSERT INTO c VALUES (1, 'before');" +
                  junk(layout, "I", "ARRAY['(2,\"unterminated']") +
                  junk("999999", "I", "ARRAY['(3,x)']") + junk(layout, "X", "ARRAY['(4,x)']") +
                  junk(layout, "I", "ARRAY['(5,x,extra)']") + junk(layout, "I", "NULL") +
                  "INSERT INTO c VALUES (6, 'after'); COMMIT");
    sql(conn, "INSERT INTO c VALUES (7, 'next')");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 3));
    EXPECT_EQ(trigger.sink.lines(),
              (std::vector<std::string>{"INSERT public.c {\"id\":1,\"v\":\"before\"}",
                                        "INSERT public.c {\"id\":6,\"v\":\"after\"}",
                                        "INSERT public.c {\"id\":7,\"v\":\"next\"}"}));
    EXPECT_EQ(trigger.source.trigger_stats().corrupt_events, 5u);
    EXPECT_TRUE(trigger.source.health().up);
}

TEST(TriggerMaintenanceTest, ApplicationRolesWriteWithoutAnyPrivilegeOnTheWalcastSchema) {
    auto params = create_database("m_priv");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE app_t (id int PRIMARY KEY);"
              "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_writer') "
              "THEN CREATE ROLE app_writer LOGIN; END IF; END $$;"
              "GRANT INSERT, UPDATE, DELETE, SELECT, TRUNCATE ON app_t TO app_writer");
    install_trigger_capture(conn);
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(trigger.start());
    auto writer_params = params;
    writer_params.user = "app_writer";
    auto writer = connect_to(writer_params);
    sql(writer, "INSERT INTO app_t VALUES (1); UPDATE app_t SET id = 2; DELETE FROM app_t;"
                "TRUNCATE app_t");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 4));
    // …and can neither read nor forge events, nor run walcast's functions.
    for (const char* q : {"SELECT count(*) FROM walcast.event_0",
                          "INSERT INTO walcast.event_0 (ev_id, ev_rel, ev_layout, ev_op) "
                          "VALUES (1, 1, 1, 'I')",
                          "SELECT * FROM walcast.reconcile()", "SELECT * FROM walcast.maintain()",
                          "SELECT nextval('walcast.event_seq')"}) {
        auto r = writer.exec(q);
        ASSERT_FALSE(r.ok()) << q;
        EXPECT_NE(r.error().message.find("permission denied"), std::string::npos)
            << q << ": " << r.error().message;
    }
}

// Rotation: with rotation_period 0 every maintain() rotates when it can. A durable consumer
// that has not read an event table keeps it from being truncated — until max_retention says
// it has been away too long: then its unread events are dropped, counted on it and reported
// when it comes back; what is still in the other tables reaches it.
TEST(TriggerMaintenanceTest,
     RotationTruncatesReadTablesAndRetentionDropsWhatAnAbsentConsumerMissed) {
    auto params = create_database("m_rotate");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE r (id int PRIMARY KEY)");
    install_trigger_capture(conn);
    {
        TriggerCapture away(params, trigger_options("away")); // registers, then leaves
        ASSERT_TRUE(away.start());
    }
    auto o = trigger_options();
    o.maintenance_interval = std::chrono::hours(1); // rotations driven by this test only
    TriggerCapture live(params, o);
    ASSERT_TRUE(live.start());
    sql(conn, "UPDATE walcast.queue SET rotation_period = '0'");
    auto maintain = [&] {
        auto r = conn.exec("SELECT action FROM walcast.maintain()");
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        std::string actions;
        for (int i = 0; r.ok() && i < PQntuples(r->get()); ++i)
            actions += std::string(PQgetvalue(r->get(), i, 0)) + " ";
        return actions;
    };
    auto events_in = [&](int t) {
        return sql_value(conn, "SELECT count(*) FROM walcast.event_" + std::to_string(t));
    };
    auto cur = [&] { return std::stoi(sql_value(conn, "SELECT cur_table FROM walcast.queue")); };

    const int first = cur();
    sql(conn, "INSERT INTO r VALUES (1), (2)"); // into event table `first`
    ASSERT_TRUE(wait_for_lines(live.sink, 2));
    // `live` has read it and saved its position; `away` has not.
    ASSERT_TRUE(wait_until(
        [&] { return live.source.trigger_stats().persisted >= live.sink.ends().back(); }));
    EXPECT_EQ(maintain(), "rotated ");     // to first+1: empty anyway
    sql(conn, "INSERT INTO r VALUES (3)"); // into first+1
    ASSERT_TRUE(wait_for_lines(live.sink, 3));
    ASSERT_TRUE(wait_until(
        [&] { return live.source.trigger_stats().persisted >= live.sink.ends().back(); }));
    EXPECT_EQ(maintain(), "rotated "); // to first+2
    EXPECT_EQ(events_in(first), "1");  // the chunk of rows 1 and 2, unread by `away`
    // The next rotation would truncate `first`: `away` has not read it.
    EXPECT_EQ(maintain(), "rotation-waiting ");
    EXPECT_EQ(cur(), (first + 2) % 3);
    EXPECT_EQ(events_in(first), "1");

    // Away for longer than max_retention: dropped.
    sql(conn, "UPDATE walcast.queue SET max_retention = '0'");
    EXPECT_EQ(maintain(), "dropped rotated ");
    EXPECT_EQ(events_in(first), "0");
    EXPECT_EQ(sql_value(conn, "SELECT lost_events FROM walcast.consumer WHERE name = 'away'"), "1");
    EXPECT_EQ(sql_value(conn, "SELECT dropped_events FROM walcast.queue"), "1");

    // `away` returns: told of the loss, and gets row 3 (still in first+1).
    sql(conn, "UPDATE walcast.queue SET max_retention = '24 hours', rotation_period = '1 hour'");
    TriggerCapture back(params, trigger_options("away"));
    ASSERT_TRUE(back.start());
    ASSERT_TRUE(wait_for_lines(back.sink, 1));
    EXPECT_EQ(back.sink.lines(), rows("r", 3, 3));
    EXPECT_EQ(back.source.trigger_stats().dropped_events, 1u);
    // Subscribers are told, as for an invalidated slot: one closed gap, naming
    // the setting that keeps events longer.
    const auto gaps = back.sink.gaps();
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_FALSE(gaps[0].open());
    EXPECT_GT(gaps[0].from_unix_ms, 0);
    EXPECT_LT(gaps[0].from_unix_ms, gaps[0].to_unix_ms);
    EXPECT_NE(gaps[0].reason.find("1 captured events were dropped unread"), std::string::npos)
        << gaps[0].reason;
    EXPECT_NE(gaps[0].reason.find("UPDATE walcast.queue SET max_retention"), std::string::npos);
    EXPECT_TRUE(live.sink.gaps().empty());
    EXPECT_TRUE(back.sink.violations().empty());
    EXPECT_EQ(sql_value(conn, "SELECT lost_events FROM walcast.consumer WHERE name = 'away'"), "0");
}

// Storage stays bounded when everything is read: with a size-triggered rotation the event
// tables never hold more than a few rotations' worth.
TEST(TriggerMaintenanceTest, EventTablesStayBoundedWhileConsumersKeepUp) {
    auto params = create_database("m_bounded");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE b (id int PRIMARY KEY, v text)");
    install_trigger_capture(conn);
    sql(conn, "UPDATE walcast.queue SET rotation_bytes = 1048576");
    auto o = trigger_options();
    o.maintenance_interval = 50ms;
    TriggerCapture trigger(params, o, /*keep=*/false);
    ASSERT_TRUE(trigger.start());
    std::size_t max_bytes = 0;
    for (int round = 0; round < 20; ++round) {
        sql(conn, "INSERT INTO b SELECT g, repeat('x', 200) FROM generate_series(" +
                      std::to_string(round * 2000 + 1) + ", " +
                      std::to_string(round * 2000 + 2000) + ") g");
        ASSERT_TRUE(wait_until([&] { return trigger.sink.change_count() >= (round + 1) * 2000u; }));
        max_bytes = std::max<std::size_t>(
            max_bytes,
            std::stoull(sql_value(conn, "SELECT sum(pg_total_relation_size(('walcast.event_' || "
                                        "t)::regclass)) FROM generate_series(0, 2) t")));
    }
    // 40,000 rows × ~220 bytes ≈ 9 MB written; with 1 MiB rotations at most three tables'
    // worth (plus a rotation's lag) is kept.
    EXPECT_LT(max_bytes, 6u * 1048576) << max_bytes;
    EXPECT_EQ(trigger.sink.change_count(), 40000u);
}

// The publication's operations decide what is delivered (as pgoutput's publish option).
TEST(TriggerMaintenanceTest, PublicationOperationsAreHonoured) {
    auto params = create_database("m_ops");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE ops (id int PRIMARY KEY);"
              "CREATE PUBLICATION ins_only FOR TABLE ops WITH (publish = 'insert')");
    install_trigger_capture(conn, "ins_only");
    TriggerCapture trigger(params, trigger_options("", "ins_only"));
    ASSERT_TRUE(trigger.start());
    sql(conn, "INSERT INTO ops VALUES (1); UPDATE ops SET id = 2; DELETE FROM ops; TRUNCATE ops;"
              "INSERT INTO ops VALUES (3)");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 2));
    EXPECT_EQ(trigger.sink.lines(), (std::vector<std::string>{row("ops", 1), row("ops", 3)}));
}

// A Postgres restart and a crash mid-stream: the source reconnects and hands on every
// transaction exactly once, in order (as the logical source's capture_restart_test).
TEST(TriggerMaintenanceTest, PostgresRestartAndCrashMidStreamDeliverEveryChangeExactlyOnce) {
    auto params = create_database("m_restart");
    {
        auto conn = connect_to(params);
        sql(conn, "CREATE TABLE rs (id int PRIMARY KEY)");
        install_trigger_capture(conn);
    }
    TriggerCapture trigger(params, trigger_options("restart_me"));
    ASSERT_TRUE(trigger.start());
    auto inserts = [&](int from, int to) {
        auto c = connect_to(params);
        for (int i = from; i <= to; ++i)
            sql(c, "INSERT INTO rs VALUES (" + std::to_string(i) + ")");
    };
    inserts(1, 10);
    ASSERT_TRUE(wait_for_lines(trigger.sink, 10));
    inserts(11, 20);
    ASSERT_TRUE(test_cluster().restart());
    ASSERT_TRUE(wait_until(
        [&] {
            return trigger.source.trigger_stats().reconnects >= 1 && trigger.source.stream_up();
        },
        30s));
    inserts(21, 30);
    ASSERT_TRUE(wait_for_lines(trigger.sink, 30));
    ASSERT_TRUE(test_cluster().crash_restart());
    ASSERT_TRUE(wait_until(
        [&] {
            return trigger.source.trigger_stats().reconnects >= 2 && trigger.source.stream_up();
        },
        30s));
    inserts(31, 40);
    ASSERT_TRUE(wait_for_lines(trigger.sink, 40));
    EXPECT_EQ(trigger.sink.lines(), rows("rs", 1, 40));
    EXPECT_TRUE(trigger.sink.violations().empty())
        << ::testing::PrintToString(trigger.sink.violations());
}

} // namespace
} // namespace walcast::testing
