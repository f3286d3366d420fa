// The real `walcast tail` binary against a real Postgres: JSON lines on stdout with the keys of
// spec §4.1, filters, stop options, clean exit on SIGTERM, and exit status 1 with a message
// naming the fix for each configuration error (wal_level, publication, privilege, slot in use).
#include "capture_test_sink.hpp"
#include "walcast_child.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace walcast::testing {
namespace {

using namespace std::chrono_literals;

std::string url() {
    return test_cluster().url();
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

TEST(CaptureTailTest, PrintsEachChangeAsOneJsonLineAndExitsOnSigterm) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tl_a (id int PRIMARY KEY, name text, n numeric);"
              "CREATE TABLE tl_b (id int PRIMARY KEY);"
              "CREATE PUBLICATION tail_pub FOR TABLE tl_a, tl_b");
    Child tail({"tail", "--database-url", url(), "--publication", "tail_pub", "--schema", "public",
                "--table", "tl_a"});
    ASSERT_TRUE(tail.stderr_contains("streaming publication tail_pub")) << tail.err();

    sql(conn, "INSERT INTO tl_a VALUES (1, 'one', 1.50)");
    sql(conn, "UPDATE tl_a SET name = 'uno' WHERE id = 1");
    sql(conn, "INSERT INTO tl_b VALUES (1)"); // filtered out by --table
    sql(conn, "DELETE FROM tl_a WHERE id = 1");
    sql(conn, "TRUNCATE tl_a, tl_b");

    auto ins_line = tail.line();
    ASSERT_TRUE(ins_line.has_value()) << tail.err();
    // Raw text: numeric keeps its scale, as to_jsonb does.
    EXPECT_NE(ins_line->find(R"("record":{"id":1,"name":"one","n":1.50}})"), std::string::npos)
        << *ins_line;
    auto ins = parse_line(ins_line);
    EXPECT_EQ(keys(ins), (std::vector<std::string>{"type", "schema", "table", "commit_timestamp",
                                                   "commit_lsn", "columns", "record"}));
    EXPECT_EQ(ins["type"], "INSERT");
    EXPECT_EQ(ins["schema"], "public");
    EXPECT_EQ(ins["table"], "tl_a");
    EXPECT_TRUE(std::regex_match(std::string(ins["commit_timestamp"].as_string()),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << ins["commit_timestamp"];
    EXPECT_TRUE(pg::Lsn::parse(std::string(ins["commit_lsn"].as_string())).has_value());
    EXPECT_EQ(boost::json::serialize(ins["columns"]),
              R"([{"name":"id","type":"int4","type_oid":23,"primary_key":true},)"
              R"({"name":"name","type":"text","type_oid":25,"primary_key":false},)"
              R"({"name":"n","type":"numeric","type_oid":1700,"primary_key":false}])");

    auto upd = parse_line(tail.line());
    EXPECT_EQ(keys(upd),
              (std::vector<std::string>{"type", "schema", "table", "commit_timestamp", "commit_lsn",
                                        "columns", "record", "old_record"}));
    EXPECT_EQ(upd["type"], "UPDATE");
    EXPECT_EQ(upd["record"].at("name"), "uno");
    EXPECT_EQ(boost::json::serialize(upd["old_record"]), R"({"id":1})");

    auto del = parse_line(tail.line());
    EXPECT_EQ(keys(del), (std::vector<std::string>{"type", "schema", "table", "commit_timestamp",
                                                   "commit_lsn", "columns", "old_record"}));
    EXPECT_EQ(del["type"], "DELETE");
    EXPECT_EQ(boost::json::serialize(del["old_record"]), R"({"id":1})");

    // TRUNCATE of two tables: one line per table, and only tl_a passes --table.
    auto tr = parse_line(tail.line());
    EXPECT_EQ(tr["type"], "TRUNCATE");
    EXPECT_EQ(tr["table"], "tl_a");
    EXPECT_FALSE(tr.contains("record"));
    EXPECT_FALSE(tr.contains("old_record"));

    tail.signal(SIGTERM);
    EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
    EXPECT_EQ(tail.out(), ""); // nothing else was printed (tl_b never appeared)
}

TEST(CaptureTailTest, ColumnsFollowAlterTable) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tl_alter (id int PRIMARY KEY, a text);"
              "CREATE PUBLICATION alter_pub FOR TABLE tl_alter");
    Child tail({"tail", "--database-url", url(), "--publication", "alter_pub"});
    ASSERT_TRUE(tail.stderr_contains("streaming publication alter_pub")) << tail.err();
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

TEST(CaptureTailTest, StopsAtUntilLsnAndAfterMaxChanges) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tl_until (id int PRIMARY KEY);"
              "CREATE PUBLICATION until_pub FOR TABLE tl_until");
    // Slots made before the changes, so the tails read changes that are already in the WAL.
    sql(conn, "SELECT pg_create_logical_replication_slot('tail_until', 'pgoutput')");
    sql(conn, "SELECT pg_create_logical_replication_slot('tail_max', 'pgoutput')");
    sql(conn, "INSERT INTO tl_until VALUES (1); INSERT INTO tl_until VALUES (2)");
    sql(conn, "INSERT INTO tl_until VALUES (3)");
    const std::string end = sql_value(conn, "SELECT pg_current_wal_lsn()::text");
    sql(conn, "INSERT INTO tl_until VALUES (4)"); // after the end position

    {
        Child tail({"tail", "--database-url", url(), "--publication", "until_pub", "--slot-name",
                    "tail_until", "--until-lsn", end});
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
        std::vector<std::string> ids;
        for (auto l = tail.line(100ms); l; l = tail.line(100ms))
            ids.push_back(boost::json::serialize(parse_line(l)["record"]));
        EXPECT_EQ(ids, (std::vector<std::string>{R"({"id":1})", R"({"id":2})", R"({"id":3})"}));
    }
    {
        Child tail({"tail", "--database-url", url(), "--publication", "until_pub", "--slot-name",
                    "tail_max", "--max-changes", "2"});
        EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
        int lines = 0;
        while (tail.line(100ms))
            ++lines;
        EXPECT_EQ(lines, 2);
    }
}

TEST(CaptureTailTest, ConfigurationErrorsExitWithStatusOneNamingTheFix) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tl_cfg (id int PRIMARY KEY);"
              "CREATE PUBLICATION cfg_pub FOR TABLE tl_cfg;"
              "CREATE ROLE norepl LOGIN");
    {
        Child tail({"tail", "--database-url", url(), "--publication", "no_such_pub"});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(
            tail.err().find("publication \"no_such_pub\" does not exist in this database; "
                            "create it with CREATE PUBLICATION \"no_such_pub\" FOR ALL TABLES"),
            std::string::npos)
            << tail.err();
    }
    {
        auto port = std::to_string(test_cluster().port());
        Child tail({"tail", "--db-host", "127.0.0.1", "--db-port", port, "--db-user", "norepl",
                    "--publication", "cfg_pub"});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("role \"norepl\" may not use replication; run ALTER ROLE "
                                  "\"norepl\" WITH REPLICATION"),
                  std::string::npos)
            << tail.err();
    }
    {
        // Another consumer holds the slot.
        CollectingSink sink;
        capture::LogicalSourceOptions o;
        o.publication = "cfg_pub";
        o.slot_name = "busy_slot";
        capture::LogicalSource holder(test_cluster().connect_params(), o, sink);
        holder.start();
        ASSERT_TRUE(wait_until([&] { return sink.up(); }));
        auto pid = sql_value(conn, "SELECT active_pid FROM pg_replication_slots WHERE "
                                   "slot_name = 'busy_slot'");
        Child tail({"tail", "--database-url", url(), "--publication", "cfg_pub", "--slot-name",
                    "busy_slot"});
        EXPECT_EQ(tail.wait_exit(), 1);
        EXPECT_NE(tail.err().find("replication slot \"busy_slot\" is in use by PID " + pid +
                                  "; stop that process"),
                  std::string::npos)
            << tail.err();
        EXPECT_NE(tail.err().find("or choose another SLOT_NAME"), std::string::npos);
        holder.stop();
    }
    {
        // No database configured at all: a usage error.
        Child tail({"tail"});
        EXPECT_EQ(tail.wait_exit(), 2);
        EXPECT_NE(tail.err().find("set DATABASE_URL"), std::string::npos) << tail.err();
    }
}

TEST(CaptureTailTest, ExportedSlotNameIsLeftToServeAndTailReadsItsOwnTemporarySlot) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tl_own (id int PRIMARY KEY);"
              "CREATE PUBLICATION own_pub FOR TABLE tl_own");
    // serve's slot, with a backlog committed while serve is down.
    sql(conn, "SELECT pg_create_logical_replication_slot('serve_slot', 'pgoutput')");
    sql(conn, "INSERT INTO tl_own VALUES (1)");
    const std::string confirmed_before = sql_value(
        conn, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = "
              "'serve_slot'");

    Child tail({"tail", "--database-url", url(), "--publication", "own_pub", "--max-changes", "1"},
               {"SLOT_NAME=serve_slot"});
    ASSERT_TRUE(tail.stderr_contains("from temporary slot")) << tail.err();
    EXPECT_NE(tail.err().find("SLOT_NAME=serve_slot is left to walcast serve"), std::string::npos)
        << tail.err();
    sql(conn, "INSERT INTO tl_own VALUES (2)");
    EXPECT_EQ(tail.wait_exit(), 0) << tail.err();
    EXPECT_EQ(boost::json::serialize(parse_line(tail.line(1s))["record"]), R"({"id":2})")
        << "its own slot starts now: the backlog is not printed";

    // serve's slot was not read: confirmed where it was, both rows still in it.
    EXPECT_EQ(sql_value(conn, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE "
                              "slot_name = 'serve_slot'"),
              confirmed_before);
    EXPECT_EQ(sql_value(conn, "SELECT active FROM pg_replication_slots WHERE slot_name = "
                              "'serve_slot'"),
              "f");
    EXPECT_EQ(sql_value(conn, "SELECT count(*) FROM pg_logical_slot_peek_binary_changes("
                              "'serve_slot', NULL, NULL, 'proto_version', '1', "
                              "'publication_names', 'own_pub') WHERE substr(data, 1, 1) = "
                              "'I'::bytea"),
              "2");
    sql(conn, "SELECT pg_drop_replication_slot('serve_slot')");
}

TEST(CaptureTailTest, WalLevelReplicaExitsWithTheFix) {
    auto replica = pg::EmbeddedCluster::start_temporary({"wal_level=replica"});
    ASSERT_TRUE(replica.ok()) << replica.error().message;
    Child tail({"tail", "--database-url", (*replica)->url()});
    EXPECT_EQ(tail.wait_exit(), 1);
    EXPECT_NE(tail.err().find("wal_level is replica; logical replication needs wal_level = "
                              "logical: run ALTER SYSTEM SET wal_level = logical and restart "
                              "Postgres"),
              std::string::npos)
        << tail.err();
}

} // namespace
} // namespace walcast::testing
