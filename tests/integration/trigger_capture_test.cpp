// TriggerSource against a real Postgres: the same changes as the logical source (differential,
// over replica identities, generated columns, domains, arrays, writer session settings and
// TRUNCATE), commit order with long-open transactions (counted, no stall, no skip), large rows,
// a 100,000-row transaction, and a durable consumer resuming after a stop.
#include "trigger_test_support.hpp"

#include <gtest/gtest.h>

#include <set>

namespace walcast::testing {
namespace {

using namespace std::chrono_literals;

// describe() plus the relation as a consumer sees it (columns with types and key flags, the
// replica identity): two sources agree on a change only if all of it is equal. TRUNCATE lines
// name one table each (pgoutput lists the tables of one statement together; triggers fire per
// table).
std::vector<std::string> normalized(const std::vector<capture::ChangePtr>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes) {
        if (c->relation && c->relation->schema == "walcast") continue; // the event tables
        if (c->kind == capture::ChangeKind::Truncate) {
            for (const auto& r : c->truncated)
                out.push_back("TRUNCATE " + r->schema + "." + r->table);
            continue;
        }
        std::string line = describe(*c);
        const auto& rel = *c->relation;
        line += " identity=" + std::string(1, static_cast<char>(rel.replica_identity)) + " cols=";
        for (const auto& col : rel.columns)
            line += col.name + ":" + col.type.name + (col.is_primary_key ? "+pk" : "") +
                    (col.is_identity_key ? "+key" : "") + ",";
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

constexpr const char* differential_schema = R"SQL(
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE items (id int PRIMARY KEY, name text, qty int, tags text[], meta jsonb,
                    at timestamptz, day date, span interval, price numeric, f float8, b bytea,
                    d posint, m mood, boxes box[]);
CREATE TABLE full_items (id int PRIMARY KEY, v text);
ALTER TABLE full_items REPLICA IDENTITY FULL;
CREATE TABLE nokey (v text);
CREATE TABLE gen (id int PRIMARY KEY, a int, twice int GENERATED ALWAYS AS (a * 2) STORED);
CREATE TABLE idx_ident (id int PRIMARY KEY, code text NOT NULL UNIQUE, note text);
ALTER TABLE idx_ident REPLICA IDENTITY USING INDEX idx_ident_code_key;
CREATE TABLE nothing_t (id int PRIMARY KEY, v text);
ALTER TABLE nothing_t REPLICA IDENTITY NOTHING;
-- Column names of the aliases inside walcast.capture() (a whole-row reference must not turn
-- into one of them).
CREATE TABLE collide (id int PRIMARY KEY, n int, o int, t text, x text, rn int, cum int,
                      chunk int, nt text, ot text, ev_id int, c text, s text, r text, od text,
                      nw text, rows text, "new" text, "old" text, v_layout int);
)SQL";

// The writer's own session settings differ from walcast's: the capture trigger must render
// values as the walsender does for walcast (ISO, UTC, shortest floats, hex bytea).
constexpr const char* differential_workload = R"SQL(
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = 0;
SET bytea_output = 'escape';
INSERT INTO items VALUES
  (1, 'one', 1, ARRAY['a', 'b c', NULL, 'q"t'], '{"k": [1, 2]}', '2024-03-01 12:00:00+02',
   '2024-03-01', '1 day 02:03:04', 1.50, 0.1, '\x00ff', 5, 'happy', '{(1,2),(0,0)}'),
  (2, E'two\nlines', NULL, '{}', 'null', 'infinity', '0044-03-15 BC', '-1 year', 'NaN', 1e300,
   '\x', 1, 'sad', NULL),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE items SET qty = coalesce(qty, 0) + 1 WHERE id <= 2;
UPDATE items SET id = 13 WHERE id = 3;
DELETE FROM items WHERE id = 1;
BEGIN;
INSERT INTO full_items VALUES (1, 'x'), (2, 'y');
UPDATE full_items SET v = v || '!' WHERE id = 1;
DELETE FROM full_items WHERE id = 2;
COMMIT;
INSERT INTO nokey VALUES ('no key');
INSERT INTO gen (id, a) VALUES (1, 21);
UPDATE gen SET a = 22;
INSERT INTO idx_ident VALUES (1, 'c1', 'n');
UPDATE idx_ident SET note = 'n2';
UPDATE idx_ident SET code = 'c2';
DELETE FROM idx_ident;
INSERT INTO nothing_t VALUES (1, 'v');
INSERT INTO collide VALUES (1, 2, 3, 't', 'x', 4, 5, 6, 'nt', 'ot', 7, 'c', 's', 'r', 'od',
                            'nw', 'rows', 'new', 'old', 8);
UPDATE collide SET n = n + 1, "old" = 'older';
DELETE FROM collide;
TRUNCATE full_items, gen;
INSERT INTO items (id, name) SELECT g, 'bulk ' || g FROM generate_series(100, 2600) g;
UPDATE items SET name = name || '+' WHERE id BETWEEN 100 AND 2600;
DELETE FROM items WHERE id BETWEEN 100 AND 2600;
)SQL";

TEST(TriggerCaptureTest, DeliversWhatTheLogicalSourceDeliversForTheSameWorkload) {
    auto params = create_database("t_diff");
    auto conn = connect_to(params);
    sql(conn, differential_schema);
    install_trigger_capture(conn);

    LogicalCapture logical(params, "supabase_realtime");
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(logical.start());
    ASSERT_TRUE(trigger.start());
    sql(conn, differential_workload);

    // 3+2+1+1 items, 3 full_items, 1 nokey, 2 gen, 4 idx_ident, 1 nothing_t, 3 collide, 2
    // truncated tables, 3 × 2,501 bulk rows.
    const std::size_t expected = 7 + 3 + 1 + 2 + 4 + 1 + 3 + 2 + 3 * 2501;
    ASSERT_TRUE(
        wait_until([&] { return normalized(trigger.sink.changes()).size() >= expected; }, 60s))
        << join(normalized(trigger.sink.changes()));
    ASSERT_TRUE(
        wait_until([&] { return normalized(logical.sink.changes()).size() >= expected; }, 60s))
        << join(normalized(logical.sink.changes()));
    const auto t = normalized(trigger.sink.changes());
    const auto l = normalized(logical.sink.changes());
    ASSERT_EQ(t.size(), l.size());
    for (std::size_t i = 0; i < t.size(); ++i)
        ASSERT_EQ(t[i], l[i]) << "change " << i << " differs";
    EXPECT_TRUE(trigger.sink.violations().empty())
        << ::testing::PrintToString(trigger.sink.violations());
    // Spot checks of what both sent (so that equality is not of two empty streams).
    EXPECT_EQ(t[0].substr(0, 60), l[0].substr(0, 60));
    EXPECT_NE(t[0].find("\"at\":\"2024-03-01T10:00:00+00:00\""), std::string::npos) << t[0];
    EXPECT_NE(t[0].find("\"f\":0.1"), std::string::npos) << t[0];
    EXPECT_NE(t[0].find("\"b\":\"00ff\""), std::string::npos) << t[0];
    EXPECT_EQ(trigger.source.trigger_stats().corrupt_events, 0u);
}

// A transaction holding its events open while 300 others commit: the others are delivered
// while it is open (no stall), it is delivered once when it commits, after all of them (it
// committed last), and nothing is skipped or repeated. Two of them, committing in the reverse
// order of their start, come out in commit order.
TEST(TriggerCaptureTest, LongOpenTransactionsNeitherStallOthersNorGetSkipped) {
    auto params = create_database("t_long");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE lt (id int PRIMARY KEY)");
    install_trigger_capture(conn);
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(trigger.start());

    auto long_a = connect_to(params);
    auto long_b = connect_to(params);
    sql(long_a, "BEGIN; INSERT INTO lt VALUES (-1)");
    sql(long_b, "BEGIN; INSERT INTO lt VALUES (-2)");
    for (int i = 1; i <= 150; ++i)
        sql(conn, "INSERT INTO lt VALUES (" + std::to_string(i) + ")");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 150)); // delivered while both are still open
    sql(long_b, "INSERT INTO lt VALUES (-20); COMMIT");
    for (int i = 151; i <= 300; ++i)
        sql(conn, "INSERT INTO lt VALUES (" + std::to_string(i) + ")");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 302));
    sql(long_a, "INSERT INTO lt VALUES (-10); COMMIT");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 304));

    std::vector<std::string> expected;
    auto row = [](int id) { return "INSERT public.lt {\"id\":" + std::to_string(id) + "}"; };
    for (int i = 1; i <= 150; ++i)
        expected.push_back(row(i));
    expected.push_back(row(-2));
    expected.push_back(row(-20));
    for (int i = 151; i <= 300; ++i)
        expected.push_back(row(i));
    expected.push_back(row(-1));
    expected.push_back(row(-10));
    // A change cannot arrive late: once the last commit is in, nothing more may come.
    sql(conn, "INSERT INTO lt VALUES (1000)");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 305));
    expected.push_back(row(1000));
    EXPECT_EQ(trigger.sink.lines(), expected);
    EXPECT_EQ(trigger.sink.transaction_sizes().size(), 303u);
    EXPECT_TRUE(trigger.sink.violations().empty())
        << ::testing::PrintToString(trigger.sink.violations());
}

// Rows of 1 MiB and 10 MiB (above NOTIFY's 8,000 bytes and MAX_RECORD_BYTES) arrive whole.
TEST(TriggerCaptureTest, RowsOfOneAndTenMebibytesArriveWhole) {
    auto params = create_database("t_big");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE big (id int PRIMARY KEY, body text, blob bytea)");
    install_trigger_capture(conn);
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(trigger.start());
    sql(conn, "INSERT INTO big SELECT 1, repeat('a', 1048576), NULL;"
              "INSERT INTO big SELECT 2, repeat(md5('x'), 327680), decode(repeat('ff', 1024), "
              "'hex');"
              "UPDATE big SET body = body || 'z' WHERE id = 2");
    ASSERT_TRUE(wait_for_lines(trigger.sink, 3, 60s));
    const auto changes = trigger.sink.changes();
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0]->new_tuple->text(1).size(), 1048576u);
    EXPECT_EQ(changes[0]->new_tuple->text(1).find_first_not_of('a'), std::string_view::npos);
    EXPECT_EQ(changes[1]->new_tuple->text(1).size(), 10485760u);
    EXPECT_EQ(changes[1]->new_tuple->text(2).size(), 2 + 2048u); // "\xff…" as hex text
    EXPECT_EQ(changes[2]->new_tuple->text(1).size(), 10485761u);
    EXPECT_EQ(changes[2]->new_tuple->text(1).back(), 'z');
}

// A 100,000-row transaction is one transaction of 100,000 changes in row order.
TEST(TriggerCaptureTest, HundredThousandRowTransactionArrivesInOrderAsOneTransaction) {
    auto params = create_database("t_100k");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE many (id int PRIMARY KEY, v text)");
    install_trigger_capture(conn);
    TriggerCapture trigger(params, trigger_options());
    ASSERT_TRUE(trigger.start());
    sql(conn, "INSERT INTO many SELECT g, 'row ' || g FROM generate_series(1, 100000) g");
    ASSERT_TRUE(wait_until([&] { return trigger.sink.change_count() >= 100000; }, 120s))
        << trigger.sink.change_count();
    EXPECT_EQ(trigger.sink.transaction_sizes(), std::vector<std::size_t>{100000});
    const auto changes = trigger.sink.changes();
    for (std::size_t i = 0; i < changes.size(); ++i)
        ASSERT_EQ(changes[i]->new_tuple->text(0), std::to_string(i + 1));
    EXPECT_TRUE(trigger.sink.violations().empty());
}

// A durable consumer (SLOT_NAME) that is stopped resumes where it was confirmed: what was
// committed while it was down is delivered, nothing twice.
TEST(TriggerCaptureTest, DurableConsumerResumesAfterStopWithoutLossOrRepeat) {
    auto params = create_database("t_resume");
    auto conn = connect_to(params);
    sql(conn, "CREATE TABLE r (id int PRIMARY KEY)");
    install_trigger_capture(conn);
    auto row = [](int id) { return "INSERT public.r {\"id\":" + std::to_string(id) + "}"; };
    {
        TriggerCapture first(params, trigger_options("resume_me"));
        ASSERT_TRUE(first.start());
        for (int i = 1; i <= 5; ++i)
            sql(conn, "INSERT INTO r VALUES (" + std::to_string(i) + ")");
        ASSERT_TRUE(wait_for_lines(first.sink, 5));
    } // stopped; more commits while it is away
    for (int i = 6; i <= 10; ++i)
        sql(conn, "INSERT INTO r VALUES (" + std::to_string(i) + ")");
    TriggerCapture second(params, trigger_options("resume_me"));
    ASSERT_TRUE(second.start());
    sql(conn, "INSERT INTO r VALUES (11)");
    ASSERT_TRUE(wait_for_lines(second.sink, 6));
    std::vector<std::string> expected;
    for (int i = 6; i <= 11; ++i)
        expected.push_back(row(i));
    EXPECT_EQ(second.sink.lines(), expected);
    EXPECT_EQ(second.source.consumer_name(), "resume_me");
}

} // namespace
} // namespace walcast::testing
