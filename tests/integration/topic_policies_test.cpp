// broadcast::TopicPolicies against a real Postgres with the realtime schema of `walcast db
// init`: read = the probe rows the role's SELECT policies let through, write = the savepoint
// inserts its INSERT policies accept, nothing left behind, errors mapped as spec §7.3.3/§7.3.4.
#include "broadcast/topic_policies.hpp"
#include "pg/db_setup.hpp"
#include "support/test_postgres.hpp"

#include <future>

namespace walcast::testing {

namespace {

using broadcast::PolicyFailure;
using broadcast::PolicyOutcome;
using broadcast::ReadVerdict;
using broadcast::TopicAuthContext;
using broadcast::TopicPolicies;
using broadcast::WriteVerdict;

class TopicPoliciesTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto conn = connect_test_db();
        sql(conn, "CREATE DATABASE topicpol");
        auto db = pg::Connection::connect(test_cluster().connect_params("topicpol"));
        ASSERT_TRUE(db);
        auto st = pg::run_statements(*db, pg::db_init_statements("supabase_realtime", false));
        ASSERT_TRUE(st) << st.error().message;
        sql(*db, R"SQL(
CREATE POLICY read_own_team ON realtime.messages FOR SELECT TO authenticated
  USING (realtime.topic() = 'team-' || (auth.jwt() ->> 'team')
         AND extension IN ('broadcast', 'presence'));
CREATE POLICY read_broadcast_only ON realtime.messages FOR SELECT TO authenticated
  USING (realtime.topic() = 'news' AND extension = 'broadcast');
CREATE POLICY write_broadcast ON realtime.messages FOR INSERT TO authenticated
  WITH CHECK (realtime.topic() = 'chat' AND extension = 'broadcast');
CREATE POLICY boom ON realtime.messages FOR SELECT TO authenticated
  USING (CASE WHEN realtime.topic() = 'boom' THEN 1 / (length(topic) - length(topic)) = 1 ELSE false END);
)SQL");
    }

    TopicAuthContext ctx(std::string topic, std::string claims = R"({"role":"authenticated"})",
                         std::string role = "authenticated") {
        return {std::move(topic), std::move(role), std::move(claims), std::nullopt, "{}"};
    }

    PolicyOutcome<ReadVerdict> read(TopicAuthContext c, bool presence) {
        std::promise<PolicyOutcome<ReadVerdict>> p;
        policies_.check_read(std::move(c), presence, [&](auto o) { p.set_value(std::move(o)); });
        auto f = p.get_future();
        EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        return f.get();
    }
    PolicyOutcome<WriteVerdict> write(TopicAuthContext c) {
        std::promise<PolicyOutcome<WriteVerdict>> p;
        policies_.check_write(std::move(c), [&](auto o) { p.set_value(std::move(o)); });
        auto f = p.get_future();
        EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        return f.get();
    }
    void expect_no_rows_left() {
        auto db = pg::Connection::connect(test_cluster().connect_params("topicpol"));
        ASSERT_TRUE(db);
        EXPECT_EQ(sql_value(*db, "SELECT count(*) FROM realtime.messages"), "0")
            << "probe rows are rolled back";
    }

    TopicPolicies policies_{test_cluster().connect_params("topicpol"), {}};
};

} // namespace

TEST_F(TopicPoliciesTest, ReadIsWhatTheSelectPoliciesLetThroughPerExtension) {
    auto team = read(ctx("team-red", R"({"role":"authenticated","team":"red"})"), true);
    ASSERT_TRUE(team.verdict) << team.error;
    EXPECT_EQ(team.verdict->broadcast, true);
    EXPECT_EQ(team.verdict->presence, true);
    // The claims decide: another team's token reads nothing there.
    auto other = read(ctx("team-red", R"({"role":"authenticated","team":"blue"})"), true);
    ASSERT_TRUE(other.verdict) << other.error;
    EXPECT_EQ(other.verdict->broadcast, false);
    EXPECT_EQ(other.verdict->presence, false);
    auto news = read(ctx("news"), true);
    ASSERT_TRUE(news.verdict) << news.error;
    EXPECT_EQ(news.verdict->broadcast, true);
    EXPECT_EQ(news.verdict->presence, false);
    // Presence not asked: not evaluated.
    auto news_b = read(ctx("news"), false);
    ASSERT_TRUE(news_b.verdict);
    EXPECT_EQ(news_b.verdict->presence, std::nullopt);
    expect_no_rows_left();
}

TEST_F(TopicPoliciesTest, WriteIsWhatTheInsertPoliciesAcceptPerExtension) {
    auto chat = write(ctx("chat"));
    ASSERT_TRUE(chat.verdict) << chat.error;
    EXPECT_TRUE(chat.verdict->broadcast);
    EXPECT_FALSE(chat.verdict->presence);
    // Readable is not writable.
    auto news = write(ctx("news"));
    ASSERT_TRUE(news.verdict) << news.error;
    EXPECT_FALSE(news.verdict->broadcast);
    EXPECT_FALSE(news.verdict->presence);
    // service_role bypasses RLS: everything.
    auto service = write(ctx("anything", R"({"role":"service_role"})", "service_role"));
    ASSERT_TRUE(service.verdict) << service.error;
    EXPECT_TRUE(service.verdict->broadcast);
    EXPECT_TRUE(service.verdict->presence);
    expect_no_rows_left();
}

TEST_F(TopicPoliciesTest, APolicyErrorOrAnUnknownRoleIsAFailureNotAVerdict) {
    auto boom = read(ctx("boom"), false);
    EXPECT_FALSE(boom.verdict);
    EXPECT_EQ(boom.failure, PolicyFailure::RlsError);
    EXPECT_NE(boom.error.find("division by zero"), std::string::npos) << boom.error;
    auto nobody = read(ctx("news", R"({"role":"nobody"})", "nobody"), false);
    EXPECT_FALSE(nobody.verdict);
    EXPECT_EQ(nobody.failure, PolicyFailure::RlsError);
    // The connection is usable after the failures.
    auto news = read(ctx("news"), false);
    ASSERT_TRUE(news.verdict) << news.error;
    EXPECT_EQ(news.verdict->broadcast, true);
    expect_no_rows_left();
}

TEST_F(TopicPoliciesTest, AHostileTopicIsALiteralNotSql) {
    auto r = read(ctx("x'); DROP TABLE realtime.messages; --"), true);
    ASSERT_TRUE(r.verdict) << r.error;
    EXPECT_EQ(r.verdict->broadcast, false);
    auto db = pg::Connection::connect(test_cluster().connect_params("topicpol"));
    ASSERT_TRUE(db);
    EXPECT_EQ(sql_value(*db, "SELECT to_regclass('realtime.messages') IS NOT NULL"), "t");
}

} // namespace walcast::testing
