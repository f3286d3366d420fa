// PgRowChecker against Postgres: both statement shapes (the key probe of RLS_STRATEGY=batched
// and the per-subscriber EXISTS baseline) decide the same rows the same way for several
// identities in one round; a raising policy fails the round; a row without its key fails alone;
// a change whose transaction is not visible yet is waited for, up to the timeout; a lost
// connection (the backend terminated, as by a Postgres restart) is reconnected and the round run
// again instead of failing its rows.
#include "core/authorization/pg_row_checker.hpp"
#include "support/test_postgres.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace walcast::testing {
namespace {

using core::PgRowChecker;
using core::RowCheckRequest;
using core::RowVerdict;

struct Fixture {
    MetricsRegistry metrics;
    core::RowCheckMetrics row_metrics{metrics};
    core::AccessCache access;
    capture::RelationPtr rel;
    std::vector<std::unique_ptr<pg::Tuple>> tuples;

    Fixture() {
        auto conn = connect_test_db();
        sql(conn, R"(
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rc_user') THEN
    CREATE ROLE rc_user NOLOGIN;
  END IF;
END $$;
DROP TABLE IF EXISTS rc_items;
CREATE TABLE rc_items (id int PRIMARY KEY, org text, boom bool DEFAULT false);
ALTER TABLE rc_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY rc_org ON rc_items FOR SELECT TO rc_user
  USING (CASE WHEN boom THEN 1 / (id - id) = 1
              ELSE org = (current_setting('request.jwt.claims', true)::jsonb ->> 'org') END);
GRANT SELECT ON rc_items TO rc_user;
INSERT INTO rc_items VALUES (1, 'x', false), (2, 'y', false), (3, 'x', false), (4, 'y', true);
)");
        auto oid = sql_value(conn, "SELECT 'rc_items'::regclass::oid::text");
        auto r = std::make_shared<capture::Relation>();
        r->oid = static_cast<pg::Oid>(std::stoul(oid));
        r->schema = "public";
        r->table = "rc_items";
        capture::Column id;
        id.name = "id";
        id.type.name = "int4";
        id.type.kind = pg::TypeKind::Int;
        id.is_primary_key = true;
        capture::Column org;
        org.name = "org";
        org.type.name = "text";
        org.type.kind = pg::TypeKind::Text;
        r->columns = {id, org};
        rel = r;
    }
    core::RowVersion row(const char* id, const capture::TransactionInfo* txn = nullptr) {
        auto t = std::make_unique<pg::Tuple>();
        if (id)
            t->push_value(id);
        else
            t->push_unchanged_toast(); // the key is not in the change
        t->push_value("?");
        core::RowVersion v{rel.get(), t.get(), nullptr, txn};
        tuples.push_back(std::move(t));
        return v;
    }
    RowCheckRequest request(const std::string& org, std::vector<core::RowVersion> rows) {
        auto identity = std::make_shared<const core::Identity>(
            core::Identity{"rc_user", "{\"org\":\"" + org + "\"}", "rc_user|" + org});
        return RowCheckRequest{identity, std::move(rows), {}};
    }
    PgRowChecker checker(PgRowChecker::Statements s, std::uint32_t timeout_ms = 5000) {
        return PgRowChecker(test_cluster().connect_params(), s, access, timeout_ms, row_metrics);
    }
};

using V = RowVerdict;

TEST(PgRowCheckerTest, KeyProbeAndExistsPerRowDecideEveryIdentitysRowsAlikeInOneRound) {
    Fixture f;
    for (auto shape :
         {PgRowChecker::Statements::KeyProbe, PgRowChecker::Statements::ExistsPerRow}) {
        auto checker = f.checker(shape);
        auto x = f.request("x", {f.row("1"), f.row("2"), f.row("3"), f.row("99")});
        auto y = f.request("y", {f.row("1"), f.row("2")});
        auto nokey = f.request("x", {f.row(nullptr)});
        RowCheckRequest* all[] = {&x, &y, &nokey};
        const auto before = f.row_metrics.round_trips.value();
        auto round = checker.check(all);
        ASSERT_EQ(round.status, core::RowChecker::Status::Ok) << round.error;
        EXPECT_EQ(f.row_metrics.round_trips.value(), before + 1); // one round trip
        EXPECT_EQ(x.verdicts, (std::vector<V>{V::Visible, V::Hidden, V::Visible, V::Hidden}));
        EXPECT_EQ(y.verdicts, (std::vector<V>{V::Hidden, V::Visible}));
        // KeyProbe: the request's key list cannot be built, so it takes no part; ExistsPerRow:
        // that row has no statement. Either way it is Failed, and the others are decided.
        EXPECT_EQ(nokey.verdicts, (std::vector<V>{V::Failed}));
    }
}

TEST(PgRowCheckerTest, ARaisingPolicyFailsTheRoundAndTheConnectionStaysUsable) {
    Fixture f;
    auto checker = f.checker(PgRowChecker::Statements::KeyProbe);
    auto bad = f.request("y", {f.row("4")}); // boom: the policy divides by zero
    RowCheckRequest* one[] = {&bad};
    auto round = checker.check(one);
    EXPECT_EQ(round.status, core::RowChecker::Status::Failed);
    EXPECT_NE(round.error.find("22012"), std::string::npos) << round.error;
    auto good = f.request("y", {f.row("2")});
    RowCheckRequest* again[] = {&good};
    ASSERT_EQ(checker.check(again).status, core::RowChecker::Status::Ok);
    EXPECT_EQ(good.verdicts, std::vector<V>{V::Visible});
}

TEST(PgRowCheckerTest, AChangeWhoseTransactionIsNotVisibleYetIsWaitedForUpToTheTimeout) {
    Fixture f;
    auto writer = connect_test_db();
    sql(writer, "BEGIN; INSERT INTO rc_items VALUES (5, 'x')");
    capture::TransactionInfo open;
    open.xid = std::stoull(sql_value(writer, "SELECT txid_current()::text")); // xid8: epoch known
    open.xid_has_epoch = true;
    auto checker = f.checker(PgRowChecker::Statements::KeyProbe, 300);
    auto waiting = f.request("x", {f.row("5", &open)});
    RowCheckRequest* one[] = {&waiting};
    auto round = checker.check(one);
    EXPECT_EQ(round.status, core::RowChecker::Status::TimedOut) << round.error;
    EXPECT_GT(f.row_metrics.round_trips.value(), 1u); // it asked again while waiting
    sql(writer, "COMMIT");
    auto visible = f.request("x", {f.row("5", &open)});
    RowCheckRequest* now[] = {&visible};
    ASSERT_EQ(checker.check(now).status, core::RowChecker::Status::Ok);
    EXPECT_EQ(visible.verdicts, std::vector<V>{V::Visible});
}

/// Terminates the backends of application_name and waits (10 s at most) until they are gone.
void terminate_backends(const std::string& application_name) {
    auto admin = connect_test_db();
    sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
                   application_name + "'");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (
        sql_value(admin, "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = '" +
                             application_name + "'") != "0") {
        ASSERT_LT(std::chrono::steady_clock::now(), until) << "backend not terminated";
        std::this_thread::yield();
    }
}

TEST(PgRowCheckerTest, ALostConnectionIsReconnectedAndTheRoundRunAgainNotFailed) {
    Fixture f;
    core::AccessCache fresh; // primary keys not cached yet: the first lookup meets the dead link
    auto params = test_cluster().connect_params();
    params.application_name = "walcast_rc_reconnect";
    PgRowChecker checker(params, PgRowChecker::Statements::KeyProbe, fresh, 5000, f.row_metrics);
    ASSERT_EQ(checker.check({}).status, core::RowChecker::Status::Ok); // connected, nothing asked
    const auto reconnects = f.row_metrics.reconnects.value();
    // Twice: once with the key lookup on the dead connection, once with the check statement.
    for (int round = 0; round < 2; ++round) {
        terminate_backends(params.application_name);
        auto x = f.request("x", {f.row("1"), f.row("2")});
        RowCheckRequest* one[] = {&x};
        auto r = checker.check(one);
        ASSERT_EQ(r.status, core::RowChecker::Status::Ok) << "round " << round << ": " << r.error;
        EXPECT_EQ(x.verdicts, (std::vector<V>{V::Visible, V::Hidden})) << "round " << round;
        EXPECT_EQ(f.row_metrics.reconnects.value(), reconnects + round + 1);
    }
}

} // namespace
} // namespace walcast::testing
