// LogicalSource against a real Postgres: what pgoutput sends for inserts, updates, deletes and
// truncates on several tables arrives as Changes, in commit order, with the right record and
// old_record for every replica identity, unchanged TOAST, ALTER TABLE and publication changes
// mid-stream, a 100,000-row transaction, and slot confirmation rules.
#include "capture_test_sink.hpp"

#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace walcast::testing {
namespace {

using capture::ChangeKind;
using capture::LogicalSource;
using capture::LogicalSourceOptions;

LogicalSourceOptions options_for(const std::string& publication, const std::string& slot = "") {
    LogicalSourceOptions o;
    o.publication = publication;
    o.slot_name = slot;
    o.config_errors_fatal = true;
    return o;
}

// A running source feeding a CollectingSink; stopped (temporary slot dropped) on destruction.
struct Capture {
    CollectingSink sink;
    LogicalSource source;
    explicit Capture(const LogicalSourceOptions& options, bool auto_confirm = true)
        : sink(auto_confirm), source(test_cluster().connect_params(), options, sink) {
        sink.attach(&source);
        source.start();
    }
    ::testing::AssertionResult up() {
        if (wait_until([&] { return sink.up() || source.finished(); }) && sink.up())
            return ::testing::AssertionSuccess();
        auto e = source.fatal_error();
        return ::testing::AssertionFailure()
               << "stream not up: " << (e ? e->message : source.down_reason());
    }
};

TEST(CaptureStreamTest, InsertUpdateDeleteTruncateOnSeveralTablesInCommitOrder) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE s_items (id int PRIMARY KEY, name text, qty int);"
              "CREATE TABLE s_orders (id bigint PRIMARY KEY, item int, note text);"
              "CREATE TABLE s_other (id int PRIMARY KEY);"
              "CREATE PUBLICATION p_s FOR TABLE s_items, s_orders");
    Capture cap(options_for("p_s"));
    ASSERT_TRUE(cap.up());

    sql(conn, "INSERT INTO s_items VALUES (1, 'apple', 3), (2, 'pear', NULL)");
    sql(conn, "INSERT INTO s_other VALUES (1)"); // not in the publication
    sql(conn, "BEGIN; INSERT INTO s_orders VALUES (10, 1, 'first');"
              "UPDATE s_items SET qty = 4 WHERE id = 1; COMMIT");
    sql(conn, "UPDATE s_items SET id = 3 WHERE id = 2");
    sql(conn, "DELETE FROM s_orders WHERE id = 10");
    sql(conn, "TRUNCATE s_items, s_orders");

    ASSERT_TRUE(wait_for_lines(cap.sink, 7));
    EXPECT_TRUE(wait_until([&] { return cap.sink.commits().size() == 5; }));
    std::vector<std::string> expected = {
        R"(INSERT public.s_items {"id":1,"name":"apple","qty":3})",
        R"(INSERT public.s_items {"id":2,"name":"pear","qty":null})",
        R"(INSERT public.s_orders {"id":10,"item":1,"note":"first"})",
        R"(UPDATE public.s_items {"id":1,"name":"apple","qty":4} old={"id":1})",
        R"(UPDATE public.s_items {"id":3,"name":"pear","qty":null} old={"id":2})",
        R"(DELETE public.s_orders old={"id":10})",
        R"(TRUNCATE public.s_items public.s_orders)",
    };
    EXPECT_EQ(cap.sink.lines(), expected);
    EXPECT_TRUE(cap.sink.violations().empty()) << ::testing::PrintToString(cap.sink.violations());
    EXPECT_EQ(cap.sink.begins(), 5u);

    auto changes = cap.sink.changes();
    // Changes of one transaction share its commit LSN and time; transactions ascend.
    EXPECT_EQ(changes[0]->txn.commit_position, changes[1]->txn.commit_position);
    EXPECT_EQ(changes[2]->txn.commit_position, changes[3]->txn.commit_position);
    EXPECT_LT(changes[1]->txn.commit_position, changes[2]->txn.commit_position);
    EXPECT_LT(changes[4]->txn.commit_position, changes[5]->txn.commit_position);
    EXPECT_NEAR(static_cast<double>(changes[0]->txn.commit_time_pg_us),
                static_cast<double>(now_pg_us()), 60e6);
    EXPECT_TRUE(changes[6]->truncated.size() == 2 && !changes[6]->truncate_cascade);

    // The relation is enriched from the catalog: type names, PK and identity key flags.
    const auto& rel = *changes[0]->relation;
    ASSERT_EQ(rel.columns.size(), 3u);
    EXPECT_EQ(rel.columns[0].type.name, "int4");
    EXPECT_EQ(rel.columns[0].type.kind, pg::TypeKind::Int);
    EXPECT_TRUE(rel.columns[0].is_primary_key);
    EXPECT_TRUE(rel.columns[0].is_identity_key);
    EXPECT_EQ(rel.columns[1].type.name, "text");
    EXPECT_FALSE(rel.columns[1].is_primary_key);
    EXPECT_EQ(changes[2]->relation->columns[0].type.name, "int8");

    EXPECT_TRUE(wait_until([&] { return cap.source.transactions() == 5; }));
    EXPECT_EQ(cap.source.changes(), 7u);
    EXPECT_TRUE(cap.source.stream_up());
    EXPECT_EQ(cap.source.down_reason(), "");
}

TEST(CaptureStreamTest, OldRecordFollowsReplicaIdentityDefaultFullIndexAndNothing) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE ri_default (id int PRIMARY KEY, v text);"
              "CREATE TABLE ri_full (id int PRIMARY KEY, v text);"
              "ALTER TABLE ri_full REPLICA IDENTITY FULL;"
              "CREATE TABLE ri_index (id int, code text NOT NULL, v text);"
              "CREATE UNIQUE INDEX ri_index_code ON ri_index (code);"
              "ALTER TABLE ri_index REPLICA IDENTITY USING INDEX ri_index_code;"
              "CREATE TABLE ri_nothing (id int PRIMARY KEY, v text);"
              "ALTER TABLE ri_nothing REPLICA IDENTITY NOTHING;"
              "CREATE PUBLICATION p_ri FOR TABLE ri_default, ri_full, ri_index, ri_nothing");
    Capture cap(options_for("p_ri"));
    ASSERT_TRUE(cap.up());

    sql(conn, "INSERT INTO ri_default VALUES (1, 'a'); INSERT INTO ri_full VALUES (1, 'a');"
              "INSERT INTO ri_index VALUES (1, 'c1', 'a'); INSERT INTO ri_nothing VALUES (1, 'a')");
    sql(conn, "UPDATE ri_default SET v = 'b'; UPDATE ri_full SET v = 'b'; "
              "UPDATE ri_index SET v = 'b'");
    // Postgres itself refuses UPDATE/DELETE on a published table without replica identity.
    auto refused = conn.exec("UPDATE ri_nothing SET v = 'b'");
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("does not have a replica identity"), std::string::npos);
    sql(conn, "DELETE FROM ri_default; DELETE FROM ri_full; DELETE FROM ri_index");

    ASSERT_TRUE(wait_for_lines(cap.sink, 10));
    std::vector<std::string> expected = {
        R"(INSERT public.ri_default {"id":1,"v":"a"})",
        R"(INSERT public.ri_full {"id":1,"v":"a"})",
        R"(INSERT public.ri_index {"id":1,"code":"c1","v":"a"})",
        R"(INSERT public.ri_nothing {"id":1,"v":"a"})",
        R"(UPDATE public.ri_default {"id":1,"v":"b"} old={"id":1})",
        R"(UPDATE public.ri_full {"id":1,"v":"b"} old={"id":1,"v":"a"})",
        R"(UPDATE public.ri_index {"id":1,"code":"c1","v":"b"} old={"code":"c1"})",
        R"(DELETE public.ri_default old={"id":1})",
        R"(DELETE public.ri_full old={"id":1,"v":"b"})",
        R"(DELETE public.ri_index old={"code":"c1"})",
    };
    EXPECT_EQ(cap.sink.lines(), expected);
    auto changes = cap.sink.changes();
    using capture::ReplicaIdentity;
    EXPECT_EQ(changes[4]->relation->replica_identity, ReplicaIdentity::Default);
    EXPECT_FALSE(changes[4]->old_tuple.has_value()); // key unchanged: no old tuple on the wire
    EXPECT_EQ(changes[5]->relation->replica_identity, ReplicaIdentity::Full);
    EXPECT_TRUE(changes[5]->old_is_full);
    EXPECT_EQ(changes[6]->relation->replica_identity, ReplicaIdentity::Index);
    EXPECT_TRUE(changes[6]->relation->columns[1].is_identity_key);
    EXPECT_FALSE(changes[6]->relation->has_primary_key());
    EXPECT_EQ(changes[3]->relation->replica_identity, ReplicaIdentity::Nothing);
    EXPECT_EQ(cap.sink.line_count(), 10u); // the refused UPDATE produced nothing
}

TEST(CaptureStreamTest, UnchangedToastIsAbsentWithoutFullAndFilledWithFull) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE toast_default (id int PRIMARY KEY, a text, body text);"
              "ALTER TABLE toast_default ALTER COLUMN body SET STORAGE EXTERNAL;"
              "CREATE TABLE toast_full (id int PRIMARY KEY, a text, body text);"
              "ALTER TABLE toast_full ALTER COLUMN body SET STORAGE EXTERNAL;"
              "ALTER TABLE toast_full REPLICA IDENTITY FULL;"
              "CREATE PUBLICATION p_toast FOR TABLE toast_default, toast_full");
    Capture cap(options_for("p_toast"));
    ASSERT_TRUE(cap.up());
    sql(conn, "INSERT INTO toast_default VALUES (1, 'x', repeat('b', 5000));"
              "INSERT INTO toast_full VALUES (1, 'x', repeat('b', 5000))");
    sql(conn, "UPDATE toast_default SET a = 'y'; UPDATE toast_full SET a = 'y'");
    ASSERT_TRUE(wait_for_lines(cap.sink, 4));
    const std::string body = std::string(5000, 'b');
    auto lines = cap.sink.lines();
    EXPECT_EQ(lines[2], R"(UPDATE public.toast_default {"id":1,"a":"y"} old={"id":1})");
    EXPECT_EQ(lines[3], R"(UPDATE public.toast_full {"id":1,"a":"y","body":")" + body +
                            R"("} old={"id":1,"a":"x","body":")" + body + R"("})");
    auto changes = cap.sink.changes();
    EXPECT_TRUE(changes[2]->new_tuple->is_unchanged_toast(2));
    EXPECT_TRUE(changes[3]->new_tuple->is_unchanged_toast(2));
}

TEST(CaptureStreamTest, AlterTableAddAndDropColumnMidStream) {
    auto conn = connect_test_db();
    sql(conn,
        "CREATE TABLE alt (id int PRIMARY KEY, a text); CREATE PUBLICATION p_alt FOR TABLE alt");
    Capture cap(options_for("p_alt"));
    ASSERT_TRUE(cap.up());
    sql(conn, "INSERT INTO alt VALUES (1, 'x')");
    sql(conn, "ALTER TABLE alt ADD COLUMN b int DEFAULT 7");
    sql(conn, "INSERT INTO alt VALUES (2, 'y', 8)");
    sql(conn, "UPDATE alt SET a = 'z' WHERE id = 1");
    sql(conn, "ALTER TABLE alt DROP COLUMN a");
    sql(conn, "INSERT INTO alt VALUES (3, 9)");
    ASSERT_TRUE(wait_for_lines(cap.sink, 4));
    std::vector<std::string> expected = {
        R"(INSERT public.alt {"id":1,"a":"x"})",
        R"(INSERT public.alt {"id":2,"a":"y","b":8})",
        R"(UPDATE public.alt {"id":1,"a":"z","b":7} old={"id":1})",
        R"(INSERT public.alt {"id":3,"b":9})",
    };
    EXPECT_EQ(cap.sink.lines(), expected);
    // Each change keeps the relation it was decoded with.
    auto changes = cap.sink.changes();
    EXPECT_EQ(changes[0]->relation->columns.size(), 2u);
    EXPECT_EQ(changes[1]->relation->columns.size(), 3u);
    EXPECT_EQ(changes[3]->relation->columns.size(), 2u);
    EXPECT_EQ(changes[3]->relation->columns[1].name, "b");
    EXPECT_GE(cap.sink.relations().size(), 3u);
}

TEST(CaptureStreamTest, TableAddedToThePublicationWhileRunningIsStreamed) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE pa_one (id int PRIMARY KEY); CREATE TABLE pa_two (id int PRIMARY KEY);"
              "CREATE PUBLICATION p_pa FOR TABLE pa_one");
    Capture cap(options_for("p_pa"));
    ASSERT_TRUE(cap.up());
    sql(conn, "INSERT INTO pa_one VALUES (1)");
    sql(conn, "INSERT INTO pa_two VALUES (1)"); // not published yet
    sql(conn, "ALTER PUBLICATION p_pa ADD TABLE pa_two");
    sql(conn, "INSERT INTO pa_two VALUES (2)");
    sql(conn, "INSERT INTO pa_one VALUES (2)");
    ASSERT_TRUE(wait_for_lines(cap.sink, 3));
    std::vector<std::string> expected = {
        R"(INSERT public.pa_one {"id":1})",
        R"(INSERT public.pa_two {"id":2})",
        R"(INSERT public.pa_one {"id":2})",
    };
    EXPECT_EQ(cap.sink.lines(), expected);
}

// Counts and checks order without keeping changes: the 100,000-row transaction must stream
// through, not accumulate in walcast.
class OrderCheckingSink : public CollectingSink {
public:
    OrderCheckingSink() : CollectingSink(true, false) {}
    void on_change(const capture::ChangePtr& change) override {
        CollectingSink::on_change(change);
        long id = std::stol(std::string(change->new_tuple->text(0)));
        if (id != next_id_) out_of_order_ = true;
        next_id_ = id + 1;
    }
    std::atomic<bool> out_of_order_{false};
    long next_id_ = 1;
};

TEST(CaptureStreamTest, StreamsAHundredThousandRowTransaction) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE big (id int PRIMARY KEY, payload text);"
              "CREATE PUBLICATION p_big FOR TABLE big");
    OrderCheckingSink sink;
    LogicalSource source(test_cluster().connect_params(), options_for("p_big"), sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }));
    sql(conn, "INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 100000) g");
    ASSERT_TRUE(wait_until([&] { return sink.commits().size() == 1; }, std::chrono::seconds(60)))
        << sink.change_count() << " changes so far";
    EXPECT_EQ(sink.change_count(), 100000u);
    EXPECT_EQ(sink.begins(), 1u);
    EXPECT_FALSE(sink.out_of_order_.load());
    EXPECT_EQ(sink.next_id_, 100001);
    // The source held no reference to any change it handed on (nothing buffered per row).
    EXPECT_FALSE(sink.shared_by_source());
    EXPECT_TRUE(sink.violations().empty());
}

std::string slot_confirmed_flush(const pg::Connection& conn, const std::string& slot) {
    return sql_value(conn, "SELECT coalesce(confirmed_flush_lsn::text, '') FROM "
                           "pg_replication_slots WHERE slot_name = '" +
                               slot + "'");
}

bool lsn_at_least(const std::string& text, pg::Lsn want) {
    auto l = pg::Lsn::parse(text);
    return l && *l >= want;
}

TEST(CaptureStreamTest, SlotAdvancesOnlyPastConfirmedChangesAndToWalEndWhenIdle) {
    auto conn = connect_test_db();
    sql(conn, "CREATE TABLE cf (id int PRIMARY KEY); CREATE TABLE cf_unpublished (id int);"
              "CREATE PUBLICATION p_cf FOR TABLE cf");
    auto options = options_for("p_cf", "cf_slot");
    options.status_interval = std::chrono::milliseconds(200);
    Capture cap(options, /*auto_confirm=*/false);
    ASSERT_TRUE(cap.up());
    sql(conn, "INSERT INTO cf VALUES (1)");
    ASSERT_TRUE(wait_until([&] { return cap.sink.commits().size() == 1; }));
    const pg::Lsn end = cap.sink.commits()[0];

    // Once the walsender has our status saying "received past the commit", the flush position
    // of that same status must still be before it: nothing was confirmed.
    const std::string walsender = "(SELECT active_pid FROM pg_replication_slots WHERE "
                                  "slot_name = 'cf_slot')";
    ASSERT_TRUE(wait_until([&] {
        return lsn_at_least(sql_value(conn, "SELECT coalesce(write_lsn::text, '') FROM "
                                            "pg_stat_replication WHERE pid = " +
                                                walsender),
                            end);
    }));
    EXPECT_FALSE(lsn_at_least(sql_value(conn, "SELECT coalesce(flush_lsn::text, '') FROM "
                                              "pg_stat_replication WHERE pid = " +
                                                  walsender),
                              end));
    EXPECT_FALSE(lsn_at_least(slot_confirmed_flush(conn, "cf_slot"), end));
    EXPECT_LT(cap.source.flushed_lsn(), end);

    cap.source.confirm(end);
    EXPECT_TRUE(
        wait_until([&] { return lsn_at_least(slot_confirmed_flush(conn, "cf_slot"), end); }));

    // Idle: WAL that carries nothing for the publication still moves the slot forward.
    auto before = pg::Lsn::parse(sql_value(conn, "SELECT pg_current_wal_insert_lsn()::text"));
    ASSERT_TRUE(before);
    sql(conn, "INSERT INTO cf_unpublished VALUES (1)");
    EXPECT_TRUE(wait_until([&] {
        return lsn_at_least(slot_confirmed_flush(conn, "cf_slot"), *before);
    })) << "slot at "
        << slot_confirmed_flush(conn, "cf_slot") << ", WAL was at " << before->to_string();
    EXPECT_EQ(cap.sink.commits().size(), 1u);
    EXPECT_TRUE(wait_until([&] { return cap.source.lag_ms() == 0; }));

    cap.source.stop();
    // The walsender exits asynchronously after the connection closes.
    EXPECT_TRUE(wait_until([&] {
        return sql_value(conn, "SELECT active FROM pg_replication_slots "
                               "WHERE slot_name = 'cf_slot'") == "f";
    }));
    sql(conn, "SELECT pg_drop_replication_slot('cf_slot')");
}

} // namespace
} // namespace walcast::testing
