// Failure handling of LogicalSource against a real Postgres: restarts and crashes of the server
// mid-stream with SLOT_NAME (every change exactly once, in commit order), a new source resuming
// a permanent slot, and a temporary slot recreated after a restart.
#include "capture_test_sink.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

// "BEGIN; INSERT INTO t VALUES (from); COMMIT; …" — one transaction per row.
std::string inserts(const std::string& table, int from, int to) {
    std::string s;
    for (int i = from; i <= to; ++i)
        s += "BEGIN; INSERT INTO " + table + " VALUES (" + std::to_string(i) + "); COMMIT;";
    return s;
}

std::vector<std::string> expected_inserts(const std::string& table, int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i <= to; ++i)
        v.push_back("INSERT public." + table + " {\"id\":" + std::to_string(i) + "}");
    return v;
}

capture::LogicalSourceOptions options_for(const std::string& publication, const std::string& slot) {
    capture::LogicalSourceOptions o;
    o.publication = publication;
    o.slot_name = slot;
    o.config_errors_fatal = true;
    return o;
}

bool wait_streaming_again(const capture::LogicalSource& source, std::uint64_t reconnects) {
    return wait_until([&] { return source.stream_up() && source.stats().reconnects >= reconnects; },
                      std::chrono::seconds(30));
}

// The walsender of a closed connection exits asynchronously; its slot stays active until then.
bool wait_slot_inactive(const pg::Connection& conn, const std::string& slot) {
    return wait_until([&] {
        return sql_value(conn, "SELECT active FROM pg_replication_slots WHERE slot_name = '" +
                                   slot + "'") == "f";
    });
}

void drop_slot_when_inactive(const pg::Connection& conn, const std::string& slot) {
    EXPECT_TRUE(wait_slot_inactive(conn, slot));
    sql(conn, "SELECT pg_drop_replication_slot('" + slot + "')");
}

TEST(CaptureRestartTest, PostgresRestartAndCrashMidStreamDeliverEveryChangeExactlyOnce) {
    {
        auto conn = connect_test_db();
        sql(conn, "CREATE TABLE rs (id int PRIMARY KEY); CREATE PUBLICATION p_rs FOR TABLE rs");
    }
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(), options_for("p_rs", "rs_slot"),
                                  sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }));

    {
        auto conn = connect_test_db();
        sql(conn, inserts("rs", 1, 10));
        ASSERT_TRUE(wait_for_lines(sink, 10));
        sql(conn, inserts("rs", 11, 20)); // maybe not yet received when the server stops
    }
    ASSERT_TRUE(test_cluster().restart());
    ASSERT_TRUE(wait_streaming_again(source, 1)) << source.down_reason();
    {
        auto conn = connect_test_db();
        sql(conn, inserts("rs", 21, 30));
        ASSERT_TRUE(wait_for_lines(sink, 30));
    }
    // An immediate shutdown loses the slot's unsaved progress: Postgres sends transactions
    // again that walcast already handed on; they must not be handed on twice.
    ASSERT_TRUE(test_cluster().crash_restart());
    ASSERT_TRUE(wait_streaming_again(source, 2)) << source.down_reason();
    {
        auto conn = connect_test_db();
        sql(conn, inserts("rs", 31, 40));
    }
    ASSERT_TRUE(wait_for_lines(sink, 40));
    // Re-sent transactions precede newer ones, so once row 40 is here any duplicate would be.
    EXPECT_EQ(sink.lines(), expected_inserts("rs", 1, 40));
    EXPECT_TRUE(sink.violations().empty()) << ::testing::PrintToString(sink.violations());
    EXPECT_EQ(source.transactions(), 40u);

    // The sink heard about both outages.
    int downs = 0;
    for (const auto& s : sink.states())
        downs += s.rfind("down: ", 0) == 0;
    EXPECT_GE(downs, 2);
    // A named slot keeps everything: no gap was reported.
    EXPECT_TRUE(sink.gaps().empty());

    source.stop();
    auto conn = connect_test_db();
    drop_slot_when_inactive(conn, "rs_slot");
}

TEST(CaptureRestartTest, NewSourceResumesPermanentSlotWithoutLossOrRepeat) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE resume (id int PRIMARY KEY);"
              "CREATE PUBLICATION p_resume FOR TABLE resume");
    {
        CollectingSink first;
        capture::LogicalSource source(test_cluster().connect_params(),
                                      options_for("p_resume", "resume_slot"), first);
        first.attach(&source);
        source.start();
        ASSERT_TRUE(wait_until([&] { return first.up(); }));
        sql(conn, inserts("resume", 1, 5));
        ASSERT_TRUE(wait_for_lines(first, 5));
        EXPECT_EQ(first.lines(), expected_inserts("resume", 1, 5));
    } // stopped: walcast is down while more changes commit
    sql(conn, inserts("resume", 6, 10));
    ASSERT_TRUE(wait_slot_inactive(conn, "resume_slot"));

    CollectingSink second;
    capture::LogicalSource source(test_cluster().connect_params(),
                                  options_for("p_resume", "resume_slot"), second);
    second.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return second.up() || source.finished(); }) && second.up())
        << (source.fatal_error() ? source.fatal_error()->message : source.down_reason());
    sql(conn, inserts("resume", 11, 11));
    ASSERT_TRUE(wait_for_lines(second, 6));
    EXPECT_EQ(second.lines(), expected_inserts("resume", 6, 11));
    source.stop();
    drop_slot_when_inactive(conn, "resume_slot");
}

TEST(CaptureRestartTest, TemporarySlotIsRecreatedAfterARestartAndTheGapIsReported) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE tmp_rs (id int PRIMARY KEY);"
              "CREATE PUBLICATION p_tmp_rs FOR TABLE tmp_rs");
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(), options_for("p_tmp_rs", ""),
                                  sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }));
    const std::string first_slot = source.slot_name();
    sql(conn, inserts("tmp_rs", 1, 1));
    ASSERT_TRUE(wait_for_lines(sink, 1));
    ASSERT_TRUE(test_cluster().restart());
    ASSERT_TRUE(wait_streaming_again(source, 1)) << source.down_reason();
    EXPECT_NE(source.slot_name(), first_slot);
    // One closed gap: from the last commit handed on (row 1) to where the new slot starts.
    const auto gaps = sink.gaps();
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_FALSE(gaps[0].open());
    EXPECT_EQ(capture::to_lsn(gaps[0].from), sink.commits().at(0));
    EXPECT_GT(capture::to_lsn(gaps[0].to), sink.commits().at(0));
    EXPECT_GT(gaps[0].from_unix_ms, 0);
    EXPECT_LE(gaps[0].from_unix_ms, gaps[0].to_unix_ms);
    EXPECT_NE(gaps[0].reason.find("without SLOT_NAME"), std::string::npos) << gaps[0].reason;
    auto again = connect_test_db();
    sql(again, inserts("tmp_rs", 2, 2));
    ASSERT_TRUE(wait_for_lines(sink, 2));
    EXPECT_EQ(sink.lines(), expected_inserts("tmp_rs", 1, 2));
    EXPECT_EQ(sql_value(again, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                   first_slot + "'"),
              "0");
}

} // namespace
} // namespace walcast::testing
