// The postgres_changes `data` object per variant (spec §4.1, §6.4–§6.6): what each subscriber
// sees of one change.
#include "protocol/supabase/postgres_changes_data.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace walcast::protocol::supabase {

using core::ChangePayloads;
using core::ErrorRow;
using core::PayloadVariant;

namespace {

namespace json = boost::json;

capture::RelationPtr todos(capture::ReplicaIdentity identity) {
    auto rel = std::make_shared<capture::Relation>();
    rel->oid = 16384;
    rel->schema = "public";
    rel->table = "todos";
    rel->replica_identity = identity;
    auto col = [](const char* name, const char* type, pg::TypeKind kind, bool pk) {
        capture::Column c;
        c.name = name;
        c.type.name = type;
        c.type.kind = kind;
        c.is_primary_key = pk;
        c.is_identity_key = pk;
        return c;
    };
    rel->columns = {col("id", "int4", pg::TypeKind::Int, true),
                    col("task", "text", pg::TypeKind::Text, false),
                    col("done", "bool", pg::TypeKind::Bool, false)};
    if (identity == capture::ReplicaIdentity::Full)
        for (auto& c : rel->columns)
            c.is_identity_key = true;
    return rel;
}

pg::Tuple row(const char* id, const char* task, const char* done) {
    pg::Tuple t;
    t.push_value(id);
    if (task) {
        t.push_value(task);
    } else {
        t.push_null();
    }
    t.push_value(done);
    return t;
}

capture::ChangePtr change(capture::ChangeKind kind, capture::RelationPtr rel,
                          std::optional<pg::Tuple> new_tuple, std::optional<pg::Tuple> old_tuple,
                          bool old_full) {
    auto c = std::make_shared<capture::Change>();
    c->kind = kind;
    c->relation = std::move(rel);
    c->new_tuple = std::move(new_tuple);
    c->old_tuple = std::move(old_tuple);
    c->old_is_full = old_full;
    c->txn.commit_time_pg_us = 848'000'000'000'000LL + 123'456; // 2026-11-14T19:33:20.123Z
    return c;
}

json::object render(const capture::ChangePtr& c, const PayloadVariant& v,
                    std::size_t max = 1 << 20) {
    ChangePayloads p(c, max);
    auto text = p.get(v, postgres_changes_format());
    json::error_code ec;
    auto value = json::parse(*text, ec);
    EXPECT_FALSE(ec) << *text;
    return value.is_object() ? value.as_object() : json::object{};
}

} // namespace

TEST(ChangePayloadTest, InsertCarriesColumnsRecordAndNullErrors) {
    auto c = change(capture::ChangeKind::Insert, todos(capture::ReplicaIdentity::Default),
                    row("1", "buy milk", "f"), std::nullopt, false);
    auto d = render(c, {});
    EXPECT_EQ(d.at("type"), "INSERT");
    EXPECT_EQ(d.at("schema"), "public");
    EXPECT_EQ(d.at("table"), "todos");
    EXPECT_EQ(d.at("commit_timestamp"), "2026-11-14T19:33:20.123Z");
    EXPECT_EQ(
        json::serialize(d.at("columns")),
        R"([{"name":"id","type":"int4"},{"name":"task","type":"text"},{"name":"done","type":"bool"}])");
    EXPECT_EQ(json::serialize(d.at("record")), R"({"id":1,"task":"buy milk","done":false})");
    EXPECT_FALSE(d.contains("old_record"));
    EXPECT_TRUE(d.at("errors").is_null());
}

TEST(ChangePayloadTest, UpdateUnderDefaultIdentityReportsKeyFromNewRow) {
    // pgoutput sends no old tuple when the key did not change; the reference still reports it.
    auto c = change(capture::ChangeKind::Update, todos(capture::ReplicaIdentity::Default),
                    row("1", "milk", "t"), std::nullopt, false);
    auto d = render(c, {});
    EXPECT_EQ(json::serialize(d.at("old_record")), R"({"id":1})");
    EXPECT_EQ(json::serialize(d.at("record")), R"({"id":1,"task":"milk","done":true})");
}

TEST(ChangePayloadTest, ColumnMaskHidesColumnsEverywhere) {
    auto c = change(capture::ChangeKind::Update, todos(capture::ReplicaIdentity::Full),
                    row("1", "new", "t"), row("1", "old", "f"), true);
    PayloadVariant v;
    v.columns = {true, true, false}; // `done` not readable (or not selected)
    auto d = render(c, v);
    EXPECT_EQ(json::serialize(d.at("columns")),
              R"([{"name":"id","type":"int4"},{"name":"task","type":"text"}])");
    EXPECT_EQ(json::serialize(d.at("record")), R"({"id":1,"task":"new"})");
    EXPECT_EQ(json::serialize(d.at("old_record")), R"({"id":1,"task":"old"})");
}

TEST(ChangePayloadTest, DeleteWithRlsKeepsOnlyThePrimaryKey) {
    auto c = change(capture::ChangeKind::Delete, todos(capture::ReplicaIdentity::Full),
                    std::nullopt, row("9", "secret", "t"), true);
    PayloadVariant v;
    v.columns = {true, true, true};
    v.old_record_pk_only = true;
    auto d = render(c, v);
    EXPECT_EQ(json::serialize(d.at("old_record")), R"({"id":9})");
    EXPECT_FALSE(d.contains("record"));
    PayloadVariant full;
    EXPECT_EQ(json::serialize(render(c, full).at("old_record")),
              R"({"id":9,"task":"secret","done":true})");
}

TEST(ChangePayloadTest, ErrorRowsAreReducedAsTheReferenceSendsThem) {
    auto c = change(capture::ChangeKind::Insert, todos(capture::ReplicaIdentity::Default),
                    row("1", "x", "f"), std::nullopt, false);
    PayloadVariant v;
    v.error = ErrorRow::Unauthorized;
    auto d = render(c, v);
    EXPECT_TRUE(d.at("commit_timestamp").is_null());
    EXPECT_EQ(json::serialize(d.at("columns")), "[]");
    EXPECT_EQ(json::serialize(d.at("record")), "{}");
    EXPECT_EQ(json::serialize(d.at("errors")), R"(["Error 401: Unauthorized"])");
    v.error = ErrorRow::NoPrimaryKey;
    EXPECT_EQ(json::serialize(render(c, v).at("errors")),
              R"(["Error 400: Bad Request, no primary key"])");
}

TEST(ChangePayloadTest, OversizeRowKeepsOnlySmallFieldsAndSays413) {
    std::string big(2000, 'x');
    std::string short63(63, 'y'); // 65 bytes JSON-encoded: dropped
    auto c = change(capture::ChangeKind::Insert, todos(capture::ReplicaIdentity::Default),
                    row("2", big.c_str(), "t"), std::nullopt, false);
    auto d = render(c, {}, /*max_record_bytes=*/1024);
    EXPECT_EQ(json::serialize(d.at("record")), R"({"id":2,"done":true})");
    EXPECT_EQ(json::serialize(d.at("errors")), R"(["Error 413: Payload Too Large"])");
    auto c2 = change(capture::ChangeKind::Insert, todos(capture::ReplicaIdentity::Default),
                     row("3", short63.c_str(), "f"), std::nullopt, false);
    EXPECT_TRUE(render(c2, {}, 1024).at("errors").is_null()) << "small rows are untouched";
}

TEST(ChangePayloadTest, EachVariantIsRenderedOnceAndShared) {
    auto c = change(capture::ChangeKind::Insert, todos(capture::ReplicaIdentity::Default),
                    row("1", "x", "f"), std::nullopt, false);
    ChangePayloads p(c, 1 << 20);
    PayloadVariant a, b;
    b.columns = {true, false, false};
    const auto& f = postgres_changes_format();
    EXPECT_EQ(p.get(a, f).get(), p.get(a, f).get());
    EXPECT_NE(p.get(a, f).get(), p.get(b, f).get());
}

} // namespace walcast::protocol::supabase
