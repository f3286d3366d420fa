// `walcast db init`: creates the roles, auth helpers and publication Supabase-style policies
// and clients expect, is idempotent, leaves existing objects alone, and --print shows the SQL.
#include "common/process.hpp"
#include "support/test_postgres.hpp"

namespace walcast::testing {

namespace {

Result<std::string> walcast(const std::vector<std::string>& args, const std::string& url) {
    std::vector<std::string> argv{WALCAST_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.env = {"DATABASE_URL=" + url};
    return run_program(argv, o);
}

} // namespace

TEST(DbInitTest, CreatesRolesHelpersAndPublicationIdempotently) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbinit");
    auto url = test_cluster().url("dbinit");
    auto first = walcast({"db", "init"}, url);
    ASSERT_TRUE(first) << first.error().message;
    auto second = walcast({"db", "init"}, url); // idempotent
    ASSERT_TRUE(second) << second.error().message;

    auto db = pg::Connection::connect(test_cluster().connect_params("dbinit"));
    ASSERT_TRUE(db);
    EXPECT_EQ(sql_value(*db,
                        "SELECT string_agg(rolname || ':' || rolbypassrls, ',' ORDER BY rolname)"
                        " FROM pg_roles WHERE rolname IN ('anon','authenticated','service_role')"),
              "anon:false,authenticated:false,service_role:true");
    EXPECT_EQ(
        sql_value(*db,
                  "SELECT puballtables FROM pg_publication WHERE pubname = 'supabase_realtime'"),
        "t");
    // The helpers read request.jwt.claims as walcast sets it for a check.
    sql(*db, "BEGIN; SELECT set_config('request.jwt.claims', "
             "'{\"sub\":\"8d0fb0d6-3f2a-4c4b-9a57-7f5c2f0d1e2a\",\"role\":\"authenticated\","
             "\"aal\":\"aal1\"}', true)");
    EXPECT_EQ(sql_value(*db, "SELECT auth.uid()"), "8d0fb0d6-3f2a-4c4b-9a57-7f5c2f0d1e2a");
    EXPECT_EQ(sql_value(*db, "SELECT auth.role()"), "authenticated");
    EXPECT_EQ(sql_value(*db, "SELECT auth.jwt() ->> 'aal'"), "aal1");
    sql(*db, "COMMIT");
    EXPECT_EQ(sql_value(*db, "SELECT auth.uid() IS NULL"), "t") << "no claims, no uid";
}

TEST(DbInitTest, LeavesExistingObjectsAsTheyAre) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbinit_existing");
    auto db = pg::Connection::connect(test_cluster().connect_params("dbinit_existing"));
    ASSERT_TRUE(db);
    sql(*db, "CREATE SCHEMA auth;"
             "CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS "
             "$$ SELECT '00000000-0000-0000-0000-000000000001'::uuid $$;"
             "CREATE TABLE kept(id int primary key);"
             "CREATE PUBLICATION supabase_realtime FOR TABLE kept");
    auto r = walcast({"db", "init"}, test_cluster().url("dbinit_existing"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(sql_value(*db, "SELECT auth.uid()"), "00000000-0000-0000-0000-000000000001");
    EXPECT_EQ(
        sql_value(*db,
                  "SELECT puballtables FROM pg_publication WHERE pubname = 'supabase_realtime'"),
        "f");
    EXPECT_EQ(sql_value(*db, "SELECT to_regprocedure('auth.role()') IS NOT NULL"), "t")
        << "missing helpers are still added";
}

TEST(DbInitTest, PrintShowsTheSqlWithoutTouchingTheDatabase) {
    auto out = walcast({"db", "init", "--print", "--publication", "my_pub"},
                       "postgresql://nobody@127.0.0.1:1/none");
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_NE(out->find("CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS"), std::string::npos);
    EXPECT_NE(out->find("CREATE FUNCTION auth.uid()"), std::string::npos);
    EXPECT_NE(out->find("CREATE PUBLICATION \"my_pub\" FOR ALL TABLES"), std::string::npos);
}

} // namespace walcast::testing
