// TriggerSource against a real Postgres: the same change lines as the logical source for the
// same workload (types, replica identities, generated columns, writer session settings unlike
// walcast's), commit order with a transaction held open across many others (none skipped,
// nobody stalled), a durable consumer resuming after a stop, and `walcast tail` killed with
// SIGKILL during a write stream resuming without loss.
#include "capture/trigger/trigger_source.hpp"
#include "capture/trigger/trigger_sql.hpp"
#include "capture_test_sink.hpp"
#include "pg/db_setup.hpp"
#include "walcast_child.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace walcast::testing {
namespace {

void install(const pg::Connection& conn, const std::string& publication) {
    auto st = pg::run_statements(conn, capture::trigger::install_statements(publication));
    ASSERT_TRUE(st) << st.error().message;
}

capture::TriggerSourceOptions trigger_options(const std::string& publication,
                                              const std::string& consumer = {}) {
    capture::TriggerSourceOptions o;
    o.publication = publication;
    o.consumer_name = consumer;
    o.config_errors_fatal = true;
    o.reconcile_interval = std::chrono::milliseconds(200);
    return o;
}

std::string ins(const std::string& table, int from, int to) {
    std::string s;
    for (int i = from; i <= to; ++i)
        s += "INSERT INTO " + table + " VALUES (" + std::to_string(i) + ");";
    return s;
}

std::vector<std::string> expected_ins(const std::string& table, int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i <= to; ++i)
        v.push_back("INSERT public." + table + " {\"id\":" + std::to_string(i) + "}");
    return v;
}

TEST(TriggerCaptureTest, DeliversWhatTheLogicalSourceDeliversForTheSameWorkload) {
    auto conn = connect_test_db();
    sql(conn, R"SQL(
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE TABLE d_types (id int PRIMARY KEY, b bool, ip inet, ts timestamptz, t timestamp,
          d date, iv interval, f4 real, f8 float8, n numeric, by bytea, arr int[], tarr text[],
          j jsonb, js json, u uuid, m mood, p positive, txt text,
          g int GENERATED ALWAYS AS (id * 2) STORED);
        CREATE TABLE d_full (id int PRIMARY KEY, v text);
        ALTER TABLE d_full REPLICA IDENTITY FULL;
        CREATE TABLE d_idx (a int NOT NULL, b int NOT NULL, v text);
        CREATE UNIQUE INDEX d_idx_ab ON d_idx (a, b);
        ALTER TABLE d_idx REPLICA IDENTITY USING INDEX d_idx_ab;
        CREATE PUBLICATION p_diff FOR TABLE d_types, d_full, d_idx;
    )SQL");
    install(conn, "p_diff");

    CollectingSink logical_sink, trigger_sink;
    capture::LogicalSourceOptions lo;
    lo.publication = "p_diff";
    lo.config_errors_fatal = true;
    capture::LogicalSource logical(test_cluster().connect_params(), lo, logical_sink);
    capture::TriggerSource trigger(test_cluster().connect_params(), trigger_options("p_diff"),
                                   trigger_sink);
    logical_sink.attach(&logical);
    trigger_sink.attach(&trigger);
    logical.start();
    trigger.start();
    ASSERT_TRUE(wait_until([&] { return logical_sink.up() && trigger_sink.up(); }))
        << trigger.health().reason << " / " << logical.health().reason;

    // The writer's session renders values unlike walcast's: the trigger must not use them.
    sql(conn, R"SQL(
        SET DateStyle = 'German, DMY'; SET TimeZone = 'Asia/Tokyo'; SET IntervalStyle = 'sql_standard';
        SET extra_float_digits = 0; SET bytea_output = 'escape';
        INSERT INTO d_types VALUES (1, true, '10.0.0.1', '2024-02-29 23:59:59.123456+00',
          '2024-01-01 12:00', '2024-03-01', '1 day 02:03:04', 1.1, 0.1, 12.500, '\x00ff27',
          '{1,NULL,3}', '{"a b","c\"d",NULL}', '{"k": [1, 2]}', '{"k":  1}',
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', 7, E'quote '' and \\ back');
        INSERT INTO d_types (id) VALUES (2);
        BEGIN;
        UPDATE d_types SET txt = 'changed', f8 = 1e300 WHERE id = 1;
        UPDATE d_types SET id = 3 WHERE id = 2;
        COMMIT;
        DELETE FROM d_types WHERE id = 3;
        INSERT INTO d_full VALUES (1, 'one'), (2, 'two');
        UPDATE d_full SET v = 'uno' WHERE id = 1;
        DELETE FROM d_full WHERE id = 2;
        INSERT INTO d_idx VALUES (1, 1, 'x');
        UPDATE d_idx SET v = 'y';
        UPDATE d_idx SET b = 2;
        DELETE FROM d_idx;
        TRUNCATE d_full;
        INSERT INTO d_types (id) VALUES (99);
    )SQL");
    const std::size_t n = 15;
    ASSERT_TRUE(wait_for_lines(logical_sink, n));
    ASSERT_TRUE(wait_for_lines(trigger_sink, n));
    EXPECT_EQ(trigger_sink.lines(), logical_sink.lines());
    EXPECT_TRUE(trigger_sink.violations().empty()) << trigger_sink.violations().front();
    // Transactions as the writer made them (a multi-statement query is one implicit
    // transaction, BEGIN … COMMIT another): grouped as the logical source groups them.
    auto changes = trigger_sink.changes();
    auto logical_changes = logical_sink.changes();
    ASSERT_EQ(changes.size(), logical_changes.size());
    for (std::size_t i = 1; i < changes.size(); ++i)
        EXPECT_EQ(changes[i]->txn.commit_position == changes[i - 1]->txn.commit_position,
                  logical_changes[i]->txn.commit_position ==
                      logical_changes[i - 1]->txn.commit_position)
            << "change " << i;
    EXPECT_EQ(changes.front()->txn.xid & 0xffffffffu, logical_changes.front()->txn.xid)
        << "xid8's low 32 bits are pgoutput's xid";
    EXPECT_TRUE(changes[0]->txn.xid_has_epoch);
    trigger.stop();
    logical.stop();
}

TEST(TriggerCaptureTest, LongOpenTransactionsNeitherStallOthersNorGetSkipped) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE lt (id int PRIMARY KEY); CREATE PUBLICATION p_lt FOR TABLE lt");
    install(conn, "p_lt");
    CollectingSink sink;
    capture::TriggerSource source(test_cluster().connect_params(), trigger_options("p_lt"), sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); })) << source.health().reason;

    // Held open with the lowest xid across 200 commits of others.
    auto held = connect_test_db();
    sql(held, "BEGIN; INSERT INTO lt VALUES (0)");
    auto other = connect_test_db();
    for (int i = 1; i <= 200; ++i)
        sql(other, "INSERT INTO lt VALUES (" + std::to_string(i) + ")");
    ASSERT_TRUE(wait_for_lines(sink, 200)); // nobody waits for the open transaction
    EXPECT_EQ(sink.lines(), expected_ins("lt", 1, 200));
    // A second long one, opened later, commits first.
    auto held2 = connect_test_db();
    sql(held2, "BEGIN; INSERT INTO lt VALUES (1000)");
    sql(other, "INSERT INTO lt VALUES (201)");
    sql(held, "INSERT INTO lt VALUES (-1)");
    sql(held2, "COMMIT");
    sql(held, "COMMIT");
    sql(other, "INSERT INTO lt VALUES (202)");
    ASSERT_TRUE(wait_for_lines(sink, 205));
    // Each once; transactions that do not overlap in commit order; a transaction's rows
    // together in their order. (1000 and 201 overlap: 201 committed first, but 1000's last row
    // was written first, and without track_commit_timestamp either order may come.)
    auto lines = sink.lines();
    auto at = [&](int id) {
        auto it = std::find(lines.begin(), lines.end(),
                            "INSERT public.lt {\"id\":" + std::to_string(id) + "}");
        return it == lines.end() ? -1 : static_cast<int>(it - lines.begin());
    };
    EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 200),
              expected_ins("lt", 1, 200));
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), 205u);
    EXPECT_GE(at(201), 200);
    EXPECT_GE(at(1000), 200);
    EXPECT_GT(at(0), at(201));
    EXPECT_GT(at(0), at(1000));
    EXPECT_EQ(at(-1), at(0) + 1);
    EXPECT_EQ(at(202), 204);
    EXPECT_EQ(sink.begins(), 204u); // 0 and -1 are one transaction
    EXPECT_TRUE(sink.violations().empty()) << sink.violations().front();
    source.stop();
}

TEST(TriggerCaptureTest, DurableConsumerResumesAfterStopWithoutLossOrRepeat) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE dc (id int PRIMARY KEY); CREATE PUBLICATION p_dc FOR TABLE dc");
    install(conn, "p_dc");
    {
        CollectingSink sink;
        capture::TriggerSource source(test_cluster().connect_params(),
                                      trigger_options("p_dc", "dc_consumer"), sink);
        sink.attach(&source);
        source.start();
        ASSERT_TRUE(wait_until([&] { return sink.up(); })) << source.health().reason;
        sql(conn, ins("dc", 1, 50));
        ASSERT_TRUE(wait_for_lines(sink, 50));
        EXPECT_EQ(sink.lines(), expected_ins("dc", 1, 50));
        source.stop();
    }
    sql(conn, ins("dc", 51, 100)); // committed while no walcast reads
    CollectingSink sink;
    capture::TriggerSource source(test_cluster().connect_params(),
                                  trigger_options("p_dc", "dc_consumer"), sink);
    sink.attach(&source);
    source.start();
    sql(conn, ins("dc", 101, 110));
    ASSERT_TRUE(wait_for_lines(sink, 60));
    EXPECT_EQ(sink.lines(), expected_ins("dc", 51, 110));
    EXPECT_TRUE(sink.violations().empty()) << sink.violations().front();
    // One reader per durable consumer.
    CollectingSink second_sink;
    capture::TriggerSource second(test_cluster().connect_params(),
                                  trigger_options("p_dc", "dc_consumer"), second_sink);
    second.start();
    ASSERT_TRUE(wait_until([&] { return second.health().finished; }));
    EXPECT_NE(second.health().reason.find("in use by another walcast"), std::string::npos)
        << second.health().reason;
    source.stop();
}

TEST(TriggerCaptureTest, RotationTruncatesWhatEveryConsumerReadAndKeepsWhatOneDidNot) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE rt (id int PRIMARY KEY); CREATE PUBLICATION p_rt FOR TABLE rt");
    install(conn, "p_rt");
    // The durable consumers of the tests before stay away for good: without them here.
    sql(conn, "DELETE FROM walcast.consumer");
    auto options = trigger_options("p_rt", "rt_consumer");
    options.rotation_bytes = 0; // switch whenever the current table holds events
    options.maintain_interval = std::chrono::milliseconds(20);
    CollectingSink sink;
    capture::TriggerSource source(test_cluster().connect_params(), options, sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); })) << source.health().reason;
    const auto truncations = [&] {
        return std::stoi(sql_value(conn, "SELECT count(*) FROM walcast.event_table WHERE "
                                         "switched_at IS NULL AND part <> (SELECT cur FROM "
                                         "walcast.queue)"));
    };
    int id = 0;
    for (int round = 0; round < 4; ++round) {
        sql(conn, ins("rt", id + 1, id + 50));
        id += 50;
        ASSERT_TRUE(wait_for_lines(sink, static_cast<std::size_t>(id)));
        // Each round is read, confirmed and its table switched away from and emptied.
        ASSERT_TRUE(wait_until([&] {
            return std::stoi(sql_value(conn, "SELECT count(*) FROM walcast.event")) == 0;
        })) << sql_value(conn, "SELECT count(*) FROM walcast.event");
    }
    EXPECT_EQ(sink.lines(), expected_ins("rt", 1, id));
    EXPECT_GE(truncations(), 1);

    // A durable consumer that stays away keeps what it has not read: nothing is truncated.
    sql(conn, "INSERT INTO walcast.consumer (name, snap_from) VALUES ('rt_absent', "
              "pg_current_snapshot())");
    sql(conn, ins("rt", id + 1, id + 100));
    ASSERT_TRUE(wait_for_lines(sink, static_cast<std::size_t>(id + 100)));
    // Several maintenance rounds later the events are all still there.
    ASSERT_TRUE(wait_until([&] {
        return std::stoi(sql_value(conn, "SELECT count(*) FROM walcast.event_table WHERE "
                                         "switched_snap IS NOT NULL")) >= 1;
    }));
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM walcast.event"), "100");
    sql(conn, "DELETE FROM walcast.consumer WHERE name = 'rt_absent'");
    ASSERT_TRUE(wait_until([&] {
        return std::stoi(sql_value(conn, "SELECT count(*) FROM walcast.event")) == 0;
    })) << sql_value(conn, "SELECT count(*) FROM walcast.event");
    source.stop();
}

TEST(TriggerCaptureTest, NotInstalledIsAConfigurationErrorNamingTheFix) {
    auto conn = connect_test_db();
    sql(conn, "DROP SCHEMA IF EXISTS walcast CASCADE");
    CollectingSink sink;
    capture::TriggerSource source(test_cluster().connect_params(), trigger_options("p_none"), sink);
    source.start();
    ASSERT_TRUE(wait_until([&] { return source.health().finished; }));
    EXPECT_TRUE(source.health().fatal);
    EXPECT_NE(source.health().reason.find("walcast db init --capture trigger"), std::string::npos)
        << source.health().reason;
}

TEST(TriggerCaptureTest, DbInitInstallsIdempotentlyAndUninstallRemovesEverything) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE cli_t (id int PRIMARY KEY)");
    const std::vector<std::string> db{"--database-url", test_cluster().url(), "--publication",
                                      "p_cli"};
    auto with = [&](std::vector<std::string> head) {
        head.insert(head.end(), db.begin(), db.end());
        return head;
    };
    {
        Child print(with({"db", "init", "--capture", "trigger", "--print"}));
        EXPECT_EQ(print.wait_exit(), 0) << print.err();
        EXPECT_NE(print.out().find("CREATE OR REPLACE FUNCTION walcast.capture()"),
                  std::string::npos);
    }
    for (int run = 0; run < 2; ++run) { // idempotent
        Child init(with({"db", "init", "--capture", "trigger"}));
        EXPECT_EQ(init.wait_exit(), 0) << init.out() << init.err();
        EXPECT_NE(init.out().find("ok    trigger capture is installed"), std::string::npos)
            << init.out();
        EXPECT_EQ(init.out().find("wal_level"), std::string::npos) << init.out();
    }
    // Added to the publication: the DDL event trigger (db init ran as a superuser) puts the
    // capture triggers on at once.
    sql(conn, "GRANT SELECT ON cli_t TO anon; ALTER PUBLICATION p_cli ADD TABLE cli_t");
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cli_t'::regclass "
                              "AND tgname LIKE 'walcast_capture_%'"),
              "4");
    sql(conn, "DROP TRIGGER walcast_capture_insert ON cli_t; DROP TRIGGER walcast_capture_update "
              "ON cli_t; DROP TRIGGER walcast_capture_delete ON cli_t; DROP TRIGGER "
              "walcast_capture_truncate ON cli_t");
    {
        Child check(with({"db", "check", "--capture", "trigger"}));
        EXPECT_EQ(check.wait_exit(), 1) << check.out();
        EXPECT_NE(check.out().find("no capture trigger on public.cli_t"), std::string::npos)
            << check.out();
    }
    {
        Child init(with({"db", "init", "--capture", "trigger"}));
        EXPECT_EQ(init.wait_exit(), 0) << init.out() << init.err();
    }
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cli_t'::regclass "
                              "AND tgname LIKE 'walcast_capture_%'"),
              "4");
    {
        Child bare(with({"db", "uninstall"}));
        EXPECT_EQ(bare.wait_exit(), 2);
        EXPECT_NE(bare.err().find("--capture trigger"), std::string::npos) << bare.err();
    }
    {
        Child uninstall(with({"db", "uninstall", "--capture", "trigger"}));
        EXPECT_EQ(uninstall.wait_exit(), 0) << uninstall.err();
    }
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walcast'"), "0");
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cli_t'::regclass"),
              "0");
}

// The id of a tail line's record, and its commit position.
std::pair<int, std::string> id_and_position(const std::string& line) {
    auto v = boost::json::parse(line).as_object();
    return {static_cast<int>(v.at("record").as_object().at("id").as_int64()),
            std::string(v.at("commit_lsn").as_string())};
}

TEST(TriggerCaptureTest, KilledTailLosesNothingAndRepeatsNothingAcknowledged) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE kt (id int PRIMARY KEY); CREATE PUBLICATION p_kt FOR TABLE kt");
    install(conn, "p_kt");
    const std::vector<std::string> args{"tail",          "--database-url", test_cluster().url(),
                                        "--publication", "p_kt",           "--slot",
                                        "kt_consumer"};
    const std::vector<std::string> env{"CAPTURE=trigger"};
    const int total = 3000;
    std::map<int, int> seen; // id → times printed
    std::vector<std::pair<int, std::string>> first_run;
    {
        Child tail(args, env);
        ASSERT_TRUE(tail.stderr_contains("trigger capture: reading publication p_kt"))
            << tail.err();
        // The write stream: one transaction per row, from another connection, while tail runs.
        std::thread writer([&] {
            auto w = connect_test_db();
            for (int i = 1; i <= total; ++i)
                sql(w, "INSERT INTO kt VALUES (" + std::to_string(i) + ")");
        });
        while (first_run.size() < 500) {
            auto l = tail.line();
            ASSERT_TRUE(l) << tail.err();
            first_run.push_back(id_and_position(*l));
        }
        tail.signal(SIGKILL);
        tail.wait_exit();
        // Lines already in the pipe were printed before the kill.
        for (;;) {
            auto l = tail.line(std::chrono::milliseconds(100));
            if (!l) break;
            first_run.push_back(id_and_position(*l));
        }
        writer.join();
    }
    // What walcast.consumer says was acknowledged when tail died.
    const std::string acknowledged = sql_value(
        conn, "SELECT batch || '/' || done FROM walcast.consumer WHERE name = 'kt_consumer'");
    const auto slash = acknowledged.find('/');
    const std::uint64_t ack_batch = std::stoull(acknowledged.substr(0, slash));
    const std::uint64_t ack_done = std::stoull(acknowledged.substr(slash + 1));
    auto acked = [&](const std::string& position) { // "b/2k+1": the k-th of batch b
        const auto s = position.find('/');
        const std::uint64_t b = std::stoull(position.substr(0, s));
        const std::uint64_t k = (std::stoull(position.substr(s + 1)) - 1) / 2;
        return b < ack_batch || (b == ack_batch && k < ack_done);
    };
    std::set<int> acknowledged_ids;
    for (const auto& [id, position] : first_run) {
        ++seen[id];
        if (acked(position)) acknowledged_ids.insert(id);
    }
    EXPECT_FALSE(acknowledged_ids.empty());
    {
        Child tail(args, env);
        int repeated_unacknowledged = 0;
        while (static_cast<int>(seen.size()) < total) {
            auto l = tail.line();
            ASSERT_TRUE(l) << "ids seen: " << seen.size() << "\n" << tail.err();
            auto [id, position] = id_and_position(*l);
            EXPECT_FALSE(acknowledged_ids.count(id)) << "acknowledged id " << id << " repeated";
            if (seen[id]++ > 0) ++repeated_unacknowledged;
        }
        EXPECT_LE(repeated_unacknowledged,
                  static_cast<int>(first_run.size() - acknowledged_ids.size()));
        std::printf("killed tail: %zu printed before the kill, %zu of them acknowledged, %d "
                    "printed again, 0 lost of %d\n",
                    first_run.size(), acknowledged_ids.size(), repeated_unacknowledged, total);
    }
    for (int i = 1; i <= total; ++i)
        EXPECT_GE(seen[i], 1) << "id " << i << " lost";
}

} // namespace
} // namespace walcast::testing
