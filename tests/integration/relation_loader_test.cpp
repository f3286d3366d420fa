// pg::RelationLoader is the one description of a relation: for every replica identity, the
// relation the logical source builds from a pgoutput Relation message and the one loaded from
// the catalog alone (what a subscription and the trigger source see) are the same.
#include "capture_test_sink.hpp"

#include "pg/catalog.hpp"
#include "pg/relation_loader.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

std::string describe_relation(const capture::Relation& r) {
    std::string s = r.schema + "." + r.table +
                    " identity=" + std::string(1, static_cast<char>(r.replica_identity));
    for (const auto& c : r.columns)
        s += " | " + c.name + " " + c.type.name +
             " kind=" + std::to_string(static_cast<int>(c.type.kind)) +
             " typmod=" + std::to_string(c.type_modifier) + (c.is_primary_key ? " pk" : "") +
             (c.is_identity_key ? " key" : "") + (c.collation.empty() ? "" : " " + c.collation);
    return s;
}

TEST(RelationLoaderTest, CatalogDescriptionEqualsTheReplicationStreamsForEveryReplicaIdentity) {
    auto conn = connect_test_db();
    sql(conn, R"(
CREATE TYPE rl_mood AS ENUM ('ok', 'not');
CREATE TABLE rl_default (id int PRIMARY KEY, name text COLLATE "C", score numeric(8,2),
  tags text[], mood rl_mood, at timestamptz, dropped int);
ALTER TABLE rl_default DROP COLUMN dropped;
CREATE TABLE rl_full (a int, b varchar(12), PRIMARY KEY (a, b));
ALTER TABLE rl_full REPLICA IDENTITY FULL;
CREATE TABLE rl_index (id int PRIMARY KEY, code text NOT NULL, note text);
CREATE UNIQUE INDEX rl_index_code ON rl_index (code);
ALTER TABLE rl_index REPLICA IDENTITY USING INDEX rl_index_code;
CREATE TABLE rl_nothing (id int PRIMARY KEY, v int);
ALTER TABLE rl_nothing REPLICA IDENTITY NOTHING;
CREATE PUBLICATION p_rl FOR TABLE rl_default, rl_full, rl_index, rl_nothing;
)");
    capture::LogicalSourceOptions options;
    options.publication = "p_rl";
    options.config_errors_fatal = true;
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(), options, sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }));
    sql(conn, "INSERT INTO rl_default VALUES (1, 'a', 1.5, '{x}', 'ok', now());"
              "INSERT INTO rl_full VALUES (1, 'b');"
              "INSERT INTO rl_index VALUES (1, 'c', 'n');"
              "INSERT INTO rl_nothing VALUES (1, 2)");
    ASSERT_TRUE(wait_for_lines(sink, 4));
    source.stop();

    pg::Catalog catalog(conn);
    pg::RelationLoader loader(catalog);
    const auto streamed = sink.relations();
    ASSERT_EQ(streamed.size(), 4u);
    for (const auto& rel : streamed) {
        auto loaded = loader.load(rel->oid);
        ASSERT_TRUE(loaded) << loaded.error().message;
        EXPECT_EQ(describe_relation(*capture::make_relation(std::move(loaded).value())),
                  describe_relation(*rel));
    }
    // The flags themselves, as pgoutput sets them.
    auto by_name = [&](const std::string& t) {
        for (const auto& r : streamed)
            if (r->table == t) return r;
        return capture::RelationPtr();
    };
    EXPECT_EQ(describe_relation(*by_name("rl_index")),
              "public.rl_index identity=i | id int4 kind=1 typmod=-1 pk | code text kind=4 "
              "typmod=-1 key | note text kind=4 typmod=-1");
    EXPECT_EQ(describe_relation(*by_name("rl_full")),
              "public.rl_full identity=f | a int4 kind=1 typmod=-1 pk key | b varchar kind=4 "
              "typmod=16 pk key");

    auto missing = loader.load(4'000'000'000u);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
}

} // namespace
} // namespace walcast::testing
