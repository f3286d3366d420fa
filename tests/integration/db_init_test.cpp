// `walcast db init`: creates the roles, auth helpers and publication Supabase-style policies
// and clients expect, is idempotent, leaves existing objects alone, and --print shows the SQL.
// `walcast db check` / the checklist `db init` prints: each prerequisite reported with its fix,
// exit status 1 when one fails (a replica-level cluster, a non-superuser, a missing grant).
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

struct Outcome {
    int status = -1;
    std::string output; ///< stdout and stderr
};

/// Runs walcast with args as DATABASE_URL=url and returns its exit status and whole output.
Outcome walcast_status(const std::vector<std::string>& args, const std::string& url) {
    std::vector<std::string> argv{"/bin/sh", "-c", "\"$0\" \"$@\" 2>&1; echo \"exit=$?\"",
                                  WALCAST_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.env = {"DATABASE_URL=" + url};
    auto r = run_program(argv, o);
    Outcome out;
    if (!r) {
        out.output = r.error().message;
        return out;
    }
    auto at = r->rfind("exit=");
    if (at == std::string::npos) return out;
    out.status = std::stoi(r->substr(at + 5));
    out.output = r->substr(0, at);
    return out;
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
    // As Supabase creates it: empty, so `alter publication … add table` works.
    EXPECT_EQ(sql_value(*db, "SELECT puballtables::text || ':' || (SELECT count(*) FROM "
                             "pg_publication_tables WHERE pubname = 'supabase_realtime')"
                             " FROM pg_publication WHERE pubname = 'supabase_realtime'"),
              "false:0");
    sql(*db, "CREATE TABLE added(id int primary key);"
             "ALTER PUBLICATION supabase_realtime ADD TABLE added");
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
             "GRANT SELECT ON kept TO PUBLIC;"
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
    EXPECT_NE(out->find("CREATE PUBLICATION \"my_pub\";"), std::string::npos);
    EXPECT_EQ(out->find("FOR ALL TABLES"), std::string::npos);
    auto all = walcast({"db", "init", "--print", "--all-tables", "--publication", "my_pub"},
                       "postgresql://nobody@127.0.0.1:1/none");
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_NE(all->find("CREATE PUBLICATION \"my_pub\" FOR ALL TABLES;"), std::string::npos);
}

TEST(DbInitTest, AllTablesCreatesThePublicationForAllTables) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbinit_all");
    auto r = walcast({"db", "init", "--all-tables"}, test_cluster().url("dbinit_all"));
    ASSERT_TRUE(r) << r.error().message;
    auto db = pg::Connection::connect(test_cluster().connect_params("dbinit_all"));
    ASSERT_TRUE(db);
    EXPECT_EQ(
        sql_value(*db,
                  "SELECT puballtables FROM pg_publication WHERE pubname = 'supabase_realtime'"),
        "t");
}

TEST(DbCheckTest, EmptyPublicationIsAWarningWithTheAlterCommandAndPasses) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbcheck_empty");
    auto init = walcast_status({"db", "init"}, test_cluster().url("dbcheck_empty"));
    EXPECT_EQ(init.status, 0) << init.output;
    EXPECT_NE(init.output.find("ok    wal_level is logical"), std::string::npos) << init.output;
    EXPECT_NE(init.output.find("ok    the user may replicate"), std::string::npos);
    EXPECT_NE(init.output.find("ok    the JWT roles exist"), std::string::npos);
    EXPECT_NE(init.output.find("ok    the auth helpers exist"), std::string::npos);
    EXPECT_NE(init.output.find("WARN  the publication supabase_realtime has tables"),
              std::string::npos)
        << init.output;
    EXPECT_NE(init.output.find("ALTER PUBLICATION \"supabase_realtime\" ADD TABLE <table>;"),
              std::string::npos);
    EXPECT_EQ(init.output.find("FAIL"), std::string::npos) << init.output;
}

TEST(DbCheckTest, ReplicaLevelClusterFailsWalLevelWithTheFix) {
    auto cluster = pg::EmbeddedCluster::start_temporary({"wal_level=replica"});
    ASSERT_TRUE(cluster) << cluster.error().message;
    auto url = (*cluster)->url("postgres");
    auto init = walcast_status({"db", "init"}, url);
    EXPECT_EQ(init.status, 1) << init.output;
    EXPECT_NE(init.output.find("FAIL  wal_level is logical"), std::string::npos) << init.output;
    EXPECT_NE(init.output.find("wal_level = replica"), std::string::npos);
    EXPECT_NE(init.output.find("ALTER SYSTEM SET wal_level = logical;"), std::string::npos);
    EXPECT_NE(init.output.find("restart Postgres"), std::string::npos);
    EXPECT_NE(init.output.find("walcast cannot stream from this database"), std::string::npos);
    auto check = walcast_status({"db", "check"}, url);
    EXPECT_EQ(check.status, 1) << check.output;
    EXPECT_NE(check.output.find("FAIL  wal_level is logical"), std::string::npos);
}

TEST(DbCheckTest, NonSuperuserIsToldToGetReplicationAndRoleMembership) {
    auto conn = connect_test_db();
    // The roles exist (cluster-wide) as a superuser's db init made them.
    sql(conn, "CREATE DATABASE dbcheck_roles_owner");
    ASSERT_TRUE(walcast({"db", "init"}, test_cluster().url("dbcheck_roles_owner")));
    sql(conn, "CREATE ROLE plain_user LOGIN");
    sql(conn, "CREATE DATABASE dbcheck_plain OWNER plain_user");
    const std::string url =
        "postgresql://plain_user@127.0.0.1:" + std::to_string(test_cluster().port()) +
        "/dbcheck_plain";
    auto check_before = walcast_status({"db", "check"}, url);
    EXPECT_EQ(check_before.status, 1) << check_before.output;

    auto init = walcast_status({"db", "init"}, url);
    EXPECT_EQ(init.status, 1) << init.output;
    EXPECT_NE(init.output.find("FAIL  the user may replicate"), std::string::npos) << init.output;
    EXPECT_NE(init.output.find("ALTER ROLE \"plain_user\" REPLICATION;"), std::string::npos);
    EXPECT_NE(init.output.find("FAIL  the user is a member of the JWT roles"), std::string::npos);
    EXPECT_NE(init.output.find("GRANT anon, authenticated, service_role TO \"plain_user\";"),
              std::string::npos);
    EXPECT_NE(init.output.find("FAIL  the publication supabase_realtime exists"),
              std::string::npos);

    // With what the checklist asked for, as a superuser, the same db init passes.
    sql(conn, "ALTER ROLE plain_user REPLICATION; GRANT anon, authenticated, service_role TO "
              "plain_user");
    auto again = walcast_status({"db", "init"}, url);
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_EQ(again.output.find("FAIL"), std::string::npos) << again.output;
}

TEST(DbCheckTest, PublishedTableNoJwtRoleCanReadFailsWithTheGrant) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbcheck_grant");
    auto url = test_cluster().url("dbcheck_grant");
    ASSERT_TRUE(walcast({"db", "init"}, url));
    auto db = pg::Connection::connect(test_cluster().connect_params("dbcheck_grant"));
    ASSERT_TRUE(db);
    sql(*db, "CREATE TABLE secret_notes(id int primary key);"
             "ALTER PUBLICATION supabase_realtime ADD TABLE secret_notes");
    auto check = walcast_status({"db", "check"}, url);
    EXPECT_EQ(check.status, 1) << check.output;
    EXPECT_NE(check.output.find("FAIL  the JWT roles can read the published tables"),
              std::string::npos)
        << check.output;
    EXPECT_NE(check.output.find("no JWT role may SELECT public.secret_notes"), std::string::npos);
    EXPECT_NE(check.output.find("GRANT SELECT ON public.secret_notes TO anon, authenticated, "
                                "service_role;"),
              std::string::npos);
    // db check changed nothing.
    EXPECT_EQ(sql_value(*db, "SELECT has_table_privilege('authenticated', 'secret_notes', "
                             "'SELECT')"),
              "f");

    sql(*db, "GRANT SELECT ON secret_notes TO authenticated");
    auto fixed = walcast_status({"db", "check"}, url);
    EXPECT_EQ(fixed.status, 0) << fixed.output;
    EXPECT_NE(fixed.output.find("ok    the publication supabase_realtime has tables (1 table(s))"),
              std::string::npos)
        << fixed.output;
    EXPECT_NE(fixed.output.find("ok    the JWT roles can read the published tables"),
              std::string::npos);
}

TEST(DbCheckTest, PartitionsAreJudgedByTheirRootAndNoGrantOnAPartitionIsSuggested) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbcheck_partitions");
    auto url = test_cluster().url("dbcheck_partitions");
    ASSERT_TRUE(walcast({"db", "init"}, url));
    auto db = pg::Connection::connect(test_cluster().connect_params("dbcheck_partitions"));
    ASSERT_TRUE(db);
    // The root is readable (RLS applies through it); its partitions carry no grants, as a
    // partition read directly would bypass the root's policies.
    sql(*db, "CREATE TABLE events(id int, day int) PARTITION BY RANGE (day);"
             "CREATE TABLE events_p1 PARTITION OF events FOR VALUES FROM (0) TO (10);"
             "CREATE TABLE events_p2 PARTITION OF events FOR VALUES FROM (10) TO (20);"
             "ALTER TABLE events ENABLE ROW LEVEL SECURITY;"
             "GRANT SELECT ON events TO authenticated;"
             "ALTER PUBLICATION supabase_realtime ADD TABLE events");
    ASSERT_EQ(sql_value(*db, "SELECT count(*) FROM pg_publication_tables WHERE pubname ="
                             " 'supabase_realtime' AND tablename LIKE 'events_p%'"),
              "2"); // the check really sees the partitions
    auto readable = walcast_status({"db", "check"}, url);
    EXPECT_EQ(readable.status, 0) << readable.output;
    EXPECT_NE(readable.output.find("ok    the JWT roles can read the published tables"),
              std::string::npos)
        << readable.output;

    sql(*db, "CREATE TABLE hidden(id int, day int) PARTITION BY RANGE (day);"
             "CREATE TABLE hidden_p1 PARTITION OF hidden FOR VALUES FROM (0) TO (10);"
             "ALTER PUBLICATION supabase_realtime ADD TABLE hidden");
    auto hidden = walcast_status({"db", "check"}, url);
    EXPECT_EQ(hidden.status, 1) << hidden.output;
    EXPECT_NE(hidden.output.find("no JWT role may SELECT public.hidden:"), std::string::npos)
        << hidden.output;
    EXPECT_NE(hidden.output.find("GRANT SELECT ON public.hidden TO anon"), std::string::npos);
    EXPECT_EQ(hidden.output.find("hidden_p1"), std::string::npos) << hidden.output;
    EXPECT_EQ(hidden.output.find("events"), std::string::npos) << hidden.output;
}

TEST(DbInitTest, CreatesTheRealtimeSchemaObjectsPartitionedByDay) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbinit_realtime");
    auto url = test_cluster().url("dbinit_realtime");
    for (int i = 0; i < 2; ++i) { // idempotent
        auto r = walcast({"db", "init"}, url);
        ASSERT_TRUE(r) << r.error().message;
    }
    auto db = pg::Connection::connect(test_cluster().connect_params("dbinit_realtime"));
    ASSERT_TRUE(db);
    EXPECT_EQ(sql_value(*db, "SELECT relkind::text || relrowsecurity::text FROM pg_class"
                             " WHERE oid = 'realtime.messages'::regclass"),
              "ptrue");
    // Yesterday … today + 3: five daily partitions.
    EXPECT_EQ(sql_value(*db, "SELECT count(*) FROM pg_inherits"
                             " WHERE inhparent = 'realtime.messages'::regclass"),
              "5");
    EXPECT_EQ(sql_value(*db, "SELECT string_agg(tablename, ',') FROM pg_publication_tables"
                             " WHERE pubname = 'supabase_realtime_messages_publication'"
                             " AND tablename NOT LIKE 'messages_%'"),
              "")
        << "the partitions are published, under their own names";
    EXPECT_EQ(sql_value(*db, "SELECT count(*) FROM pg_publication_tables"
                             " WHERE pubname = 'supabase_realtime_messages_publication'"),
              "5");
    // realtime.send() adds an id to the payload and defaults to a private message.
    sql(*db, "SELECT realtime.send('{\"x\": 1}', 'ev', 'room1')");
    EXPECT_EQ(sql_value(*db, "SELECT payload ->> 'id' = id::text AND payload ->> 'x' = '1'"
                             " AND private AND extension = 'broadcast' AND event = 'ev'"
                             " FROM realtime.messages WHERE topic = 'room1'"),
              "t");
    // realtime.topic() reads the setting send() and the authorization checks set.
    sql(*db, "BEGIN; SELECT set_config('realtime.topic', 'room2', true)");
    EXPECT_EQ(sql_value(*db, "SELECT realtime.topic()"), "room2");
    sql(*db, "COMMIT");
    EXPECT_EQ(sql_value(*db, "SELECT realtime.topic() IS NULL"), "t");
    // broadcast_changes() sends a private message with the row versions.
    sql(*db, "SELECT realtime.broadcast_changes('t1', 'INSERT', 'INSERT', 'todos', 'public',"
             " ROW(1, 'a')::record, NULL::record)");
    EXPECT_EQ(sql_value(*db, "SELECT (payload -> 'old_record') = 'null'::jsonb AND"
                             " payload ->> 'operation' = 'INSERT' AND payload ->> 'table' = 'todos'"
                             " AND private FROM realtime.messages WHERE topic = 't1'"),
              "t");
    // A failing insert is a WARNING only (no partition for a far-future row is not reachable
    // through send(); a non-object payload is stored as is).
    sql(*db, "SELECT realtime.send('[1,2]', 'ev', 'arr', false)");
    EXPECT_EQ(sql_value(*db, "SELECT payload::text FROM realtime.messages WHERE topic = 'arr'"),
              "[1, 2]");
}

TEST(DbInitTest, UsesAnAppsExistingRealtimeObjectsAsTheyAre) {
    auto conn = connect_test_db();
    sql(conn, "CREATE DATABASE dbinit_realtime_existing");
    auto db = pg::Connection::connect(test_cluster().connect_params("dbinit_realtime_existing"));
    ASSERT_TRUE(db);
    sql(*db, "CREATE SCHEMA realtime;"
             "CREATE TABLE realtime.messages (topic text NOT NULL, extension text NOT NULL,"
             " payload jsonb, event text, private boolean DEFAULT false,"
             " inserted_at timestamp NOT NULL DEFAULT now(), id uuid NOT NULL DEFAULT "
             "gen_random_uuid());"
             "CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql AS $$ SELECT 'mine' $$");
    auto r = walcast({"db", "init"}, test_cluster().url("dbinit_realtime_existing"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(sql_value(*db, "SELECT realtime.topic()"), "mine");
    EXPECT_EQ(sql_value(*db, "SELECT relkind::text FROM pg_class"
                             " WHERE oid = 'realtime.messages'::regclass"),
              "r")
        << "not replaced by the partitioned shape";
    EXPECT_EQ(sql_value(*db, "SELECT to_regprocedure('realtime.send(jsonb, text, text, boolean)')"
                             " IS NOT NULL"),
              "t")
        << "missing functions are still added";
}

} // namespace walcast::testing
