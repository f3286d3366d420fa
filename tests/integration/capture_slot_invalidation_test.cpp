// A SLOT_NAME slot that Postgres invalidated (max_slot_wal_keep_size exceeded while walcast was
// away), against a real Postgres: walcast reports Postgres's own reason, what is lost and the
// fix (in the log and as its health, which /healthz serves) and keeps retrying; with
// SLOT_RECREATE it drops the slot, creates it again and streams.
#include "capture_test_sink.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

// A 1MB WAL allowance for slots, then `slot` left behind by three WAL segments: the next
// checkpoint invalidates it (wal_status "lost").
void invalidate_slot(const pg::Connection& conn, const std::string& table,
                     const std::string& slot) {
    sql(conn, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    sql(conn, "SELECT pg_reload_conf()");
    sql(conn, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    for (int i = 0; i < 3; ++i) {
        sql(conn, "INSERT INTO " + table + " SELECT g, repeat('x', 1000) FROM generate_series(" +
                      std::to_string(i * 3000 + 1) + ", " + std::to_string(i * 3000 + 3000) +
                      ") g");
        sql(conn, "SELECT pg_switch_wal()");
    }
    sql(conn, "CHECKPOINT");
    ASSERT_TRUE(wait_until([&] {
        return sql_value(conn, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" +
                                   slot + "'") == "lost";
    })) << "the slot was not invalidated";
}

void reset_keep_size(const pg::Connection& conn) {
    sql(conn, "ALTER SYSTEM RESET max_slot_wal_keep_size");
    sql(conn, "SELECT pg_reload_conf()");
}

capture::LogicalSourceOptions options_for(const std::string& publication, const std::string& slot,
                                          bool recreate) {
    capture::LogicalSourceOptions o;
    o.publication = publication;
    o.slot_name = slot;
    o.slot_recreate = recreate;
    o.initial_backoff = std::chrono::milliseconds(50);
    o.max_backoff = std::chrono::milliseconds(200);
    return o;
}

TEST(CaptureSlotInvalidationTest, InvalidatedSlotIsReportedWithPostgresReasonAndTheFix) {
    auto conn = connect_test_db();
    sql(conn,
        "CREATE TABLE inv (id int PRIMARY KEY, pad text); CREATE PUBLICATION p_inv FOR TABLE inv");
    invalidate_slot(conn, "inv", "inv_slot");
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(),
                                  options_for("p_inv", "inv_slot", false), sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return source.logical_stats().slot_invalidations >= 2; }))
        << source.down_reason();
    const auto health = source.health();
    EXPECT_FALSE(health.up);
    // Postgres's reason (PG 15's wording), what it means, and each fix.
    EXPECT_NE(health.reason.find("replication slot \"inv_slot\" was invalidated by Postgres: "
                                 "This slot has been invalidated because it exceeded the maximum "
                                 "reserved size."),
              std::string::npos)
        << health.reason;
    EXPECT_NE(health.reason.find("SLOT_RECREATE=true"), std::string::npos) << health.reason;
    EXPECT_NE(health.reason.find("SELECT pg_drop_replication_slot('inv_slot')"), std::string::npos)
        << health.reason;
    EXPECT_NE(health.reason.find("raise max_slot_wal_keep_size (now 1MB"), std::string::npos)
        << health.reason;
    EXPECT_FALSE(sink.up());
    // One open gap, told once however often the retry finds the slot lost.
    {
        const auto gaps = sink.gaps();
        ASSERT_EQ(gaps.size(), 1u);
        EXPECT_TRUE(gaps[0].open());
        EXPECT_EQ(gaps[0].reason, health.reason);
    }
    // Retrying, not stopped: once the operator drops the slot, walcast creates it and streams.
    EXPECT_FALSE(source.finished());
    reset_keep_size(conn);
    sql(conn, "SELECT pg_drop_replication_slot('inv_slot')");
    ASSERT_TRUE(wait_until([&] { return sink.up(); }, std::chrono::seconds(30)))
        << source.down_reason();
    sql(conn, "INSERT INTO inv VALUES (0, 'after')");
    ASSERT_TRUE(wait_for_lines(sink, 1));
    EXPECT_EQ(sink.lines().back(), "INSERT public.inv {\"id\":0,\"pad\":\"after\"}");
    // The gap closed when streaming resumed on the new slot, before the change after it.
    const auto gaps = sink.gaps();
    ASSERT_EQ(gaps.size(), 2u);
    EXPECT_FALSE(gaps[1].open());
    EXPECT_EQ(gaps[1].from_unix_ms, gaps[0].from_unix_ms);
    EXPECT_GE(gaps[1].to_unix_ms, gaps[1].from_unix_ms);
    EXPECT_TRUE(sink.violations().empty()) << ::testing::PrintToString(sink.violations());
    source.stop();
}

TEST(CaptureSlotInvalidationTest, SlotRecreateDropsTheInvalidatedSlotAndStreamsAgain) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE inv2 (id int PRIMARY KEY, pad text); CREATE PUBLICATION p_inv2 FOR "
              "TABLE inv2");
    invalidate_slot(conn, "inv2", "inv2_slot");
    reset_keep_size(conn);
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(),
                                  options_for("p_inv2", "inv2_slot", true), sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }, std::chrono::seconds(30)))
        << source.down_reason();
    EXPECT_EQ(source.logical_stats().slot_recreations, 1u);
    EXPECT_EQ(sql_value(conn, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = "
                              "'inv2_slot'"),
              "reserved");
    sql(conn, "INSERT INTO inv2 VALUES (0, 'after')");
    ASSERT_TRUE(wait_for_lines(sink, 1));
    // Only what was committed after the new slot: the invalidated slot's rows are gone.
    EXPECT_EQ(sink.lines(),
              std::vector<std::string>{"INSERT public.inv2 {\"id\":0,\"pad\":\"after\"}"});
    // One closed gap telling subscribers the slot was recreated.
    const auto gaps = sink.gaps();
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_FALSE(gaps[0].open());
    EXPECT_NE(gaps[0].reason.find("SLOT_RECREATE=true"), std::string::npos) << gaps[0].reason;
    source.stop();
}

} // namespace
} // namespace walcast::testing
