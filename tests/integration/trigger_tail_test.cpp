// The real `walcast tail --capture trigger` against a real Postgres: the same JSON lines as in
// logical mode (capture_tail_test.cpp), columns following ALTER TABLE, --max-changes and
// --until-lsn with trigger positions, configuration errors naming their fix, CAPTURE=auto
// choosing trigger capture on a wal_level=replica cluster, and a durable consumer surviving
// SIGKILL: nothing lost, nothing acknowledged delivered again.
#include "support/child_process.hpp"
#include "trigger_test_support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <thread>

namespace walcast::testing {
namespace {

using namespace std::chrono_literals;

std::string url_of(const std::string& db) {
    return test_cluster().url(db);
}

boost::json::object parse_line(const std::optional<std::string>& line) {
    EXPECT_TRUE(line.has_value());
    if (!line) return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(*line, ec);
    EXPECT_FALSE(ec) << *line;
    if (ec || !v.is_object()) return {};
    return v.as_object();
}

std::vector<std::string> keys(const boost::json::object& o) {
    std::vector<std::string> k;
    for (const auto& kv : o)
        k.emplace_back(kv.key());
    return k;
}

// A database with trigger capture installed for publication pub over the given tables.
std::string trigger_db(const std::string& name, const std::string& ddl, const std::string& pub) {
    auto params = create_database(name);
    auto conn = connect_to(params);
    sql(conn, ddl + "; CREATE PUBLICATION " + pub + " FOR ALL TABLES");
    install_trigger_capture(conn, pub);
    return url_of(name);
}

TEST(TriggerTailTest, PrintsTheSameJsonLinesAsLogicalModeAndExitsOnSigterm) {
    const auto url = trigger_db("tt_lines",
                                "CREATE TABLE tl_a (id int PRIMARY KEY, name text, n numeric);"
                                "CREATE TABLE tl_b (id int PRIMARY KEY)",
                                "tail_pub");
    auto conn = connect_to(test_cluster().connect_params("tt_lines"));
    Child tail({"tail", "--capture", "trigger", "--database-url", url, "--publication", "tail_pub",
                "--schema", "public", "--table", "tl_a"});
    ASSERT_TRUE(tail.stderr_contains("trigger capture: reading publication tail_pub"))
        << tail.err();

    sql(conn, "INSERT INTO tl_a VALUES (1, 'one', 1.50)");
    sql(conn, "UPDATE tl_a SET name = 'uno' WHERE id = 1");
    sql(conn, "INSERT INTO tl_b VALUES (1)"); // filtered out by --table
    sql(conn, "DELETE FROM tl_a WHERE id = 1");
    sql(conn, "TRUNCATE tl_a, tl_b");

    auto ins_line = tail.line();
    ASSERT_TRUE(ins_line.has_value()) << tail.err();
    EXPECT_NE(ins_line->find(R"("record":{"id":1,"name":"one","n":1.50}})"), std::string::npos)
        << *ins_line;
    auto ins = parse_line(ins_line);
    EXPECT_EQ(keys(ins), (std::vector<std::string>{"type", "schema", "table", "commit_timestamp",
                                                   "commit_lsn", "columns", "record"}));
    EXPECT_EQ(ins["type"], "INSERT");
    EXPECT_TRUE(std::regex_match(std::string(ins["commit_timestamp"].as_string()),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << ins["commit_timestamp"];
    // The trigger source's position: batch.ordinal.
    EXPECT_TRUE(
        std::regex_match(std::string(ins["commit_lsn"].as_string()), std::regex(R"(\d+\.\d+)")))
        << ins["commit_lsn"];
    EXPECT_EQ(boost::json::serialize(ins["columns"]),
              R"([{"name":"id","type":"int4","type_oid":23,"primary_key":true},)"
              R"({"name":"name","type":"text","type_oid":25,"primary_key":false},)"
              R"({"name":"n","type":"numeric","type_oid":1700,"primary_key":false}])");
    auto upd = parse_line(tail.line());
    EXPECT_EQ(upd["type"], "UPDATE");
    EXPECT_EQ(upd["record"].at("name"), "uno");
    EXPECT_EQ(boost::json::serialize(upd["old_record"]), R"({"id":1})");
    auto del = parse_line(tail.line());
    EXPECT_EQ(del["type"], "DELETE");
    EXPECT_EQ(boost::json::serialize(del["old_record"]), R"({"id":1})");
    auto tr = parse_line(tail.line());
    EXPECT_EQ(tr["type"], "TRUNCATE");
    EXPECT_EQ(tr["table"], "tl_a");
    EXPECT_FALSE(tr.contains("record"));

    tail.signal(SIGTERM);
    EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
    EXPECT_EQ(tail.out(), "");
}

TEST(TriggerTailTest, ColumnsFollowAlterTable) {
    const auto url =
        trigger_db("tt_alter", "CREATE TABLE tl_alter (id int PRIMARY KEY, a text)", "alter_pub");
    auto conn = connect_to(test_cluster().connect_params("tt_alter"));
    Child tail(
        {"tail", "--capture", "trigger", "--database-url", url, "--publication", "alter_pub"});
    ASSERT_TRUE(tail.stderr_contains("reading publication alter_pub")) << tail.err();
    sql(conn, "INSERT INTO tl_alter VALUES (1, 'x')");
    sql(conn, "ALTER TABLE tl_alter ADD COLUMN b bool");
    sql(conn, "INSERT INTO tl_alter VALUES (2, 'y', true)");
    sql(conn, "ALTER TABLE tl_alter DROP COLUMN a");
    sql(conn, "INSERT INTO tl_alter VALUES (3, false)");
    std::vector<std::string> columns, records;
    for (int i = 0; i < 3; ++i) {
        auto line = parse_line(tail.line());
        std::string names;
        for (const auto& c : line["columns"].as_array())
            names += std::string(c.at("name").as_string()) + " ";
        columns.push_back(names);
        records.push_back(boost::json::serialize(line["record"]));
    }
    EXPECT_EQ(columns, (std::vector<std::string>{"id a ", "id a b ", "id b "}));
    EXPECT_EQ(records,
              (std::vector<std::string>{R"({"id":1,"a":"x"})", R"({"id":2,"a":"y","b":true})",
                                        R"({"id":3,"b":false})"}));
    tail.signal(SIGINT);
    EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
}

// A durable consumer (SLOT_NAME) created before the changes reads what is already in the event
// tables: --max-changes stops after N lines; --until-lsn takes a trigger position.
TEST(TriggerTailTest, StopsAfterMaxChangesAndAtAnUntilPosition) {
    const auto url =
        trigger_db("tt_until", "CREATE TABLE tl_until (id int PRIMARY KEY)", "until_pub");
    auto conn = connect_to(test_cluster().connect_params("tt_until"));
    sql(conn, "SELECT walcast.register_consumer('tail_max', true);"
              "SELECT walcast.register_consumer('tail_pos', true);"
              "SELECT pg_advisory_unlock_all()");
    const std::string start =
        sql_value(conn, "SELECT last_snapshot FROM walcast.consumer WHERE name = 'tail_pos'");
    sql(conn, "INSERT INTO tl_until VALUES (1); INSERT INTO tl_until VALUES (2)");
    sql(conn, "INSERT INTO tl_until VALUES (3)");
    sql(conn, "INSERT INTO tl_until VALUES (4)");
    {
        Child tail({"tail", "--capture", "trigger", "--database-url", url, "--publication",
                    "until_pub", "--slot-name", "tail_max", "--max-changes", "2"});
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
        int lines = 0;
        while (tail.line(100ms))
            ++lines;
        EXPECT_EQ(lines, 2);
    }
    // The position of the transaction inserting 3, as the first run printed it.
    std::string position_of_3;
    {
        Child tail({"tail", "--capture", "trigger", "--database-url", url, "--publication",
                    "until_pub", "--slot-name", "tail_pos", "--max-changes", "4"});
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
        for (auto l = tail.line(100ms); l; l = tail.line(100ms)) {
            auto o = parse_line(l);
            if (boost::json::serialize(o["record"]) == R"({"id":3})")
                position_of_3 = std::string(o["commit_lsn"].as_string());
        }
    }
    ASSERT_FALSE(position_of_3.empty());
    // Back to where the consumer started: the same batch forms again (all four transactions
    // committed before it), so positions repeat.
    sql(conn, "UPDATE walcast.consumer SET last_snapshot = '" + start +
                  "', batch_snapshot = NULL, batch_id = 0 WHERE name = 'tail_pos'");
    {
        // Exits once every transaction before 3's has been printed (1 and 2 committed together).
        Child tail({"tail", "--capture", "trigger", "--database-url", url, "--publication",
                    "until_pub", "--slot-name", "tail_pos", "--until-lsn", position_of_3});
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
        std::vector<std::string> ids;
        for (auto l = tail.line(100ms); l; l = tail.line(100ms))
            ids.push_back(boost::json::serialize(parse_line(l)["record"]));
        EXPECT_EQ(ids, (std::vector<std::string>{R"({"id":1})", R"({"id":2})"}));
    }
}

TEST(TriggerTailTest, ConfigurationErrorsExitWithStatusOneNamingTheFix) {
    auto params = create_database("tt_cfg");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE tl_cfg (id int PRIMARY KEY)");
    {
        Child tail({"tail", "--capture", "trigger", "--database-url", url_of("tt_cfg")});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("trigger capture is not installed in"), std::string::npos)
            << tail.err();
        EXPECT_NE(tail.err().find("run `walcast db init --capture trigger`"), std::string::npos)
            << tail.err();
    }
    install_trigger_capture(conn);
    {
        Child tail({"tail", "--capture", "trigger", "--database-url", url_of("tt_cfg"),
                    "--publication", "other_pub"});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("trigger capture is installed for publication "
                                  "supabase_realtime, not other_pub: set "
                                  "PUBLICATION=supabase_realtime"),
                  std::string::npos)
            << tail.err();
    }
    {
        // Another walcast reads as this durable consumer.
        TriggerCapture holder(params, trigger_options("busy_consumer"));
        ASSERT_TRUE(holder.start());
        Child tail({"tail", "--capture", "trigger", "--database-url", url_of("tt_cfg"),
                    "--slot-name", "busy_consumer"});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("walcast consumer \"busy_consumer\" is in use by PID"),
                  std::string::npos)
            << tail.err();
    }
}

// CAPTURE=auto on a cluster without logical replication: trigger capture when installed, else
// an error naming both fixes.
TEST(TriggerTailTest, AutoChoosesTriggerCaptureWhereWalLevelIsReplica) {
    auto replica = pg::EmbeddedCluster::start_temporary({"wal_level=replica"});
    ASSERT_TRUE(replica.ok()) << replica.error().message;
    {
        Child tail({"tail", "--database-url", (*replica)->url()});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("CAPTURE=auto: logical replication is not available (wal_level "
                                  "is replica) and trigger capture is not installed: run "
                                  "`walcast db init --capture trigger`"),
                  std::string::npos)
            << tail.err();
    }
    // walcast db init with CAPTURE=auto installs no capture triggers by itself: it fails on
    // wal_level and names trigger capture as the alternative; --capture trigger installs it.
    {
        Child init({"db", "init", "--database-url", (*replica)->url()});
        EXPECT_EQ(init.wait_exit(), 1) << init.out() << init.err();
        EXPECT_NE(init.out().find("FAIL  wal_level is logical"), std::string::npos) << init.out();
        EXPECT_NE(init.out().find("capture changes with triggers instead: walcast db init "
                                  "--capture trigger"),
                  std::string::npos)
            << init.out();
    }
    auto conn = pg::Connection::connect((*replica)->connect_params());
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ(sql_value(*conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walcast'"), "0");
    {
        Child init({"db", "init", "--capture", "trigger", "--database-url", (*replica)->url()});
        EXPECT_EQ(init.wait_exit(), 0) << init.out() << init.err();
        EXPECT_NE(init.out().find("ok    trigger capture is installed"), std::string::npos)
            << init.out();
    }
    // Re-run with CAPTURE=auto where trigger capture is installed: it upgrades and repairs it.
    {
        Child init({"db", "init", "--database-url", (*replica)->url()});
        EXPECT_EQ(init.wait_exit(), 0) << init.out() << init.err();
        EXPECT_NE(init.out().find("trigger capture is installed: upgrading and repairing it"),
                  std::string::npos)
            << init.out();
    }
    // The publication is created empty (as Supabase does): the table is added to it, and the
    // DDL event trigger (a superuser installed it) puts the capture triggers on it.
    sql(*conn, "CREATE TABLE auto_t (id int PRIMARY KEY); "
               "ALTER PUBLICATION supabase_realtime ADD TABLE auto_t");
    Child tail({"tail", "--database-url", (*replica)->url()});
    ASSERT_TRUE(tail.stderr_contains("capture: trigger (CAPTURE=auto: wal_level is replica; "
                                     "trigger capture is installed)"))
        << tail.err();
    ASSERT_TRUE(tail.stderr_contains("reading publication")) << tail.err();
    sql(*conn, "INSERT INTO auto_t VALUES (7)");
    auto line = parse_line(tail.line());
    EXPECT_EQ(boost::json::serialize(line["record"]), R"({"id":7})");
    tail.signal(SIGTERM);
    EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
}

// SIGKILL of a tail reading as a durable consumer while a writer commits one row per
// transaction; a new tail on the same consumer then prints the rest. Counted by id: every row
// is printed (0 lost); what the first tail printed up to the position written to the database
// (what it had confirmed) is not printed again (0 duplicated); what it printed after that — at
// most persist_interval's worth, never acknowledged — is printed again, once; no run prints a
// row twice.
TEST(TriggerTailTest, KilledDurableTailLosesNothingAndRepeatsNothingAcknowledged) {
    const auto url = trigger_db("tt_kill", "CREATE TABLE k (id int PRIMARY KEY)", "kill_pub");
    const auto params = test_cluster().connect_params("tt_kill");
    auto conn = connect_to(params);
    const int total = 3000;
    std::atomic<int> written{0};
    std::atomic<bool> start_writing{false};
    std::thread writer([&] {
        auto w = connect_to(params);
        while (!start_writing.load())
            std::this_thread::sleep_for(1ms);
        for (int i = 1; i <= total; ++i) {
            sql(w, "INSERT INTO k VALUES (" + std::to_string(i) + ")");
            written.store(i);
        }
    });
    auto args =
        std::vector<std::string>{"tail",          "--capture", "trigger",     "--database-url", url,
                                 "--publication", "kill_pub",  "--slot-name", "killme"};
    std::map<int, std::string> first; // id -> position
    {
        Child tail(args);
        ASSERT_TRUE(tail.stderr_contains("reading publication kill_pub")) << tail.err();
        start_writing.store(true); // the consumer exists: from here on every row is its
        // At least 400 rows, and at least one position written since they started.
        auto saved = [&] {
            return sql_value(conn, "SELECT batch_id > 0 FROM walcast.consumer "
                                   "WHERE name = 'killme'") == "t";
        };
        while (first.size() < 400 || !saved()) {
            auto l = tail.line(20s);
            ASSERT_TRUE(l.has_value()) << tail.err();
            auto o = parse_line(l);
            const int id = static_cast<int>(o["record"].at("id").as_int64());
            ASSERT_TRUE(first.emplace(id, std::string(o["commit_lsn"].as_string())).second)
                << "id " << id << " twice in the first run";
        }
        tail.signal(SIGKILL);
        tail.wait_exit();
        // Whole lines it wrote before it died.
        for (auto l = tail.line(100ms); l; l = tail.line(100ms)) {
            if (l->empty() || l->back() != '}') break;
            auto o = parse_line(l);
            const int id = static_cast<int>(o["record"].at("id").as_int64());
            ASSERT_TRUE(first.emplace(id, std::string(o["commit_lsn"].as_string())).second);
        }
    }
    ASSERT_LT(written.load(), total) << "the writer finished before the kill; use more rows";
    // The killed tail's backends exit once Postgres notices; until then they hold the consumer.
    ASSERT_TRUE(wait_until([&] {
        return sql_value(conn, "SELECT count(*) FROM pg_stat_activity "
                               "WHERE application_name = 'walcast_capture'") == "0";
    }));
    // The position the database holds for the consumer.
    auto r = conn.exec("SELECT batch_id, batch_snapshot IS NOT NULL, batch_done_ordinal "
                       "FROM walcast.consumer WHERE name = 'killme'");
    ASSERT_TRUE(r.ok() && PQntuples(r->get()) == 1);
    const std::uint64_t batch = std::stoull(PQgetvalue(r->get(), 0, 0));
    const bool open = std::string(PQgetvalue(r->get(), 0, 1)) == "t";
    const std::uint64_t ordinal =
        open ? std::stoull(PQgetvalue(r->get(), 0, 2)) : (std::uint64_t{1} << 24) - 1;
    const std::uint64_t persisted = (batch << 24) | ordinal;
    auto position = [](const std::string& text) {
        auto p = capture::trigger::TriggerSource::parse_position_text(text);
        EXPECT_TRUE(p.has_value()) << text;
        return p ? p->value : 0;
    };

    std::map<int, std::string> second;
    {
        Child tail(args);
        while (!second.count(total)) {
            auto l = tail.line(30s);
            ASSERT_TRUE(l.has_value()) << "second run stopped at " << second.size() << "\n"
                                       << tail.err();
            auto o = parse_line(l);
            const int id = static_cast<int>(o["record"].at("id").as_int64());
            ASSERT_TRUE(second.emplace(id, std::string(o["commit_lsn"].as_string())).second)
                << "id " << id << " twice in the second run";
        }
        tail.signal(SIGTERM);
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
    }
    writer.join();

    int acknowledged = 0, repeated = 0;
    for (const auto& [id, pos] : first) {
        if (position(pos) <= persisted) {
            ++acknowledged;
            EXPECT_FALSE(second.count(id))
                << "acknowledged id " << id << " at " << pos << " delivered again";
        } else {
            ++repeated;
            ASSERT_TRUE(second.count(id)) << "unacknowledged id " << id << " lost";
        }
    }
    for (int id = 1; id <= total; ++id)
        EXPECT_TRUE(first.count(id) || second.count(id)) << "id " << id << " lost";
    EXPECT_GT(acknowledged, 0);
    std::printf("kill test: %d rows acknowledged before SIGKILL, %d printed but unacknowledged "
                "(delivered again), %zu in the second run\n",
                acknowledged, repeated, second.size());
}

} // namespace
} // namespace walcast::testing
