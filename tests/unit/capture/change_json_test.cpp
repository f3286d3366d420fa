// JSON rendering of column values (spec §6.7), columns, record and old_record (§6.4–§6.6).
// Integration test capture_types_test.cpp checks the same rules against to_jsonb in Postgres.
#include "capture/change_json.hpp"

#include <gtest/gtest.h>

namespace walcast::capture {
namespace {

using pg::PgType;
using pg::TypeKind;

PgType scalar(const char* name, TypeKind kind) {
    PgType t;
    t.name = name;
    t.kind = kind;
    return t;
}

PgType array_of(const char* name, TypeKind element, char delimiter = ',') {
    PgType t;
    t.name = name;
    t.kind = TypeKind::Array;
    t.element_kind = element;
    t.delimiter = delimiter;
    return t;
}

std::string value(const PgType& t, std::string_view text) {
    std::string out;
    append_value_json(out, t, text);
    return out;
}

TEST(ChangeJsonTest, RendersNumbersAsJsonNumbersAndSpecialValuesAsStrings) {
    auto int4 = scalar("int4", TypeKind::Int);
    EXPECT_EQ(value(int4, "2147483647"), "2147483647");
    EXPECT_EQ(value(int4, "-5"), "-5");
    EXPECT_EQ(value(scalar("int8", TypeKind::Int), "9007199254740993"), "9007199254740993");
    auto numeric = scalar("numeric", TypeKind::Numeric);
    EXPECT_EQ(value(numeric, "1234.50"), "1234.50");
    EXPECT_EQ(value(numeric, "NaN"), "\"NaN\"");
    EXPECT_EQ(value(numeric, "-Infinity"), "\"-Infinity\"");
    auto float8 = scalar("float8", TypeKind::Float);
    EXPECT_EQ(value(float8, "0.1"), "0.1");
    EXPECT_EQ(value(float8, "1e+20"), "1e+20");
    EXPECT_EQ(value(float8, "Infinity"), "\"Infinity\"");
    EXPECT_EQ(value(float8, "NaN"), "\"NaN\"");
}

TEST(ChangeJsonTest, NumberTextThatIsNotJsonBecomesAString) {
    auto int4 = scalar("int4", TypeKind::Int);
    EXPECT_EQ(value(int4, ""), "\"\"");
    EXPECT_EQ(value(int4, "12abc"), "\"12abc\"");
    EXPECT_EQ(value(int4, "01"), "\"01\"");
    EXPECT_EQ(value(scalar("numeric", TypeKind::Numeric), ".5"), "\".5\"");
    EXPECT_EQ(value(scalar("float8", TypeKind::Float), "1e"), "\"1e\"");
}

TEST(ChangeJsonTest, RendersBoolJsonAndBytea) {
    auto b = scalar("bool", TypeKind::Bool);
    EXPECT_EQ(value(b, "t"), "true");
    EXPECT_EQ(value(b, "f"), "false");
    EXPECT_EQ(value(b, "maybe"), "\"maybe\"");
    EXPECT_EQ(value(scalar("jsonb", TypeKind::Json), "{\"a\": [1, 2]}"), "{\"a\": [1, 2]}");
    EXPECT_EQ(value(scalar("json", TypeKind::Json), "\"123\""), "\"123\"");
    EXPECT_EQ(value(scalar("bytea", TypeKind::Bytea), "\\x0102ff"), "\"0102ff\"");
}

TEST(ChangeJsonTest, RendersTimestampsInIso8601) {
    auto ts = scalar("timestamp", TypeKind::Timestamp);
    EXPECT_EQ(value(ts, "2024-01-02 03:04:05.123456"), "\"2024-01-02T03:04:05.123456\"");
    EXPECT_EQ(value(ts, "infinity"), "\"infinity\"");
    EXPECT_EQ(value(ts, "0044-03-15 00:00:00 BC"), "\"0044-03-15T00:00:00 BC\"");
    auto tz = scalar("timestamptz", TypeKind::TimestampTz);
    EXPECT_EQ(value(tz, "2024-01-02 01:04:05.123456+00"), "\"2024-01-02T01:04:05.123456+00:00\"");
    EXPECT_EQ(value(tz, "2024-01-02 03:04:05+05:30"), "\"2024-01-02T03:04:05+05:30\"");
    EXPECT_EQ(value(tz, "1900-01-01 00:00:00+05:21:10"), "\"1900-01-01T00:00:00+05:21:10\"");
    EXPECT_EQ(value(tz, "2024-01-02 03:04:05-08"), "\"2024-01-02T03:04:05-08:00\"");
    EXPECT_EQ(value(tz, "0044-03-15 00:00:00+00 BC"), "\"0044-03-15T00:00:00+00:00 BC\"");
    EXPECT_EQ(value(tz, "-infinity"), "\"-infinity\"");
}

TEST(ChangeJsonTest, RendersOtherTypesAsStringsOfTheirText) {
    EXPECT_EQ(value(scalar("text", TypeKind::Text), "h\xc3\xa9llo \"q\"\n"),
              "\"h\xc3\xa9llo \\\"q\\\"\\n\"");
    EXPECT_EQ(value(scalar("date", TypeKind::Date), "2024-01-02"), "\"2024-01-02\"");
    EXPECT_EQ(value(scalar("timetz", TypeKind::TimeTz), "03:04:05+00"), "\"03:04:05+00\"");
    EXPECT_EQ(value(scalar("interval", TypeKind::Interval), "1 day 02:03:04"),
              "\"1 day 02:03:04\"");
    EXPECT_EQ(value(scalar("money", TypeKind::Other), "$12.34"), "\"$12.34\"");
    EXPECT_EQ(value(scalar("mood", TypeKind::Enum), "happy"), "\"happy\"");
}

TEST(ChangeJsonTest, RendersArraysWithElementRules) {
    EXPECT_EQ(value(array_of("_int4", TypeKind::Int), "{1,2,3}"), "[1,2,3]");
    EXPECT_EQ(value(array_of("_int4", TypeKind::Int), "{}"), "[]");
    EXPECT_EQ(value(array_of("_int4", TypeKind::Int), "{{1,2},{3,NULL}}"), "[[1,2],[3,null]]");
    EXPECT_EQ(value(array_of("_int4", TypeKind::Int), "[0:1]={1,2}"), "[1,2]");
    EXPECT_EQ(value(array_of("_int4", TypeKind::Int), "[2:3][1:1]={{1},{2}}"), "[[1],[2]]");
    EXPECT_EQ(value(array_of("_text", TypeKind::Text), "{x,\"y z\"}"), "[\"x\",\"y z\"]");
    EXPECT_EQ(value(array_of("_text", TypeKind::Text), R"({"a\"b","c\\d",NULL,"NULL",null})"),
              R"(["a\"b","c\\d",null,"NULL",null])");
    EXPECT_EQ(value(array_of("_bool", TypeKind::Bool), "{t,f}"), "[true,false]");
    EXPECT_EQ(value(array_of("_numeric", TypeKind::Numeric), "{NaN,1.5}"), "[\"NaN\",1.5]");
    EXPECT_EQ(value(array_of("_jsonb", TypeKind::Json), R"({"{\"a\": 1}",NULL,"[1, 2]"})"),
              R"([{"a": 1},null,[1, 2]])");
    EXPECT_EQ(
        value(array_of("_timestamptz", TypeKind::TimestampTz), "{\"2024-01-02 03:04:05+00\"}"),
        "[\"2024-01-02T03:04:05+00:00\"]");
    EXPECT_EQ(value(array_of("_bytea", TypeKind::Bytea), R"({"\\x01"})"), R"(["\\x01"])");
    EXPECT_EQ(value(array_of("_box", TypeKind::Other, ';'), "{(1,2),(0,0);(3,3),(1,1)}"),
              "[\"(1,2),(0,0)\",\"(3,3),(1,1)\"]");
}

TEST(ChangeJsonTest, ArrayTextThatDoesNotParseBecomesAString) {
    auto t = array_of("_int4", TypeKind::Int);
    EXPECT_EQ(value(t, "1 2"), "\"1 2\""); // int2vector's text form
    EXPECT_EQ(value(t, "{1,2"), "\"{1,2\"");
    EXPECT_EQ(value(t, "{1,,2}"), "\"{1,,2}\"");
    EXPECT_EQ(value(t, "{\"unterminated}"), "\"{\\\"unterminated}\"");
    EXPECT_EQ(value(t, "{1}x"), "\"{1}x\"");
    EXPECT_EQ(value(t, "{{{{{{{{1}}}}}}}}"), "\"{{{{{{{{1}}}}}}}}\""); // deeper than MAXDIM
}

Relation make_relation() {
    Relation r;
    r.schema = "public";
    r.table = "todos";
    Column id{"id", scalar("int4", TypeKind::Int), -1, true, true, ""};
    Column title{"title", scalar("text", TypeKind::Text), -1, false, false, ""};
    Column done{"done", scalar("bool", TypeKind::Bool), -1, false, false, ""};
    Column body{"body", scalar("text", TypeKind::Text), -1, false, false, ""};
    r.columns = {id, title, done, body};
    return r;
}

TEST(ChangeJsonTest, ColumnsListNameAndTypeInOrderHonouringTheMask) {
    Relation r = make_relation();
    std::string out;
    append_columns_json(out, r, nullptr);
    EXPECT_EQ(out, R"([{"name":"id","type":"int4"},{"name":"title","type":"text"},)"
                   R"({"name":"done","type":"bool"},{"name":"body","type":"text"}])");
    ColumnMask mask{true, false, true};
    out.clear();
    append_columns_json(out, r, &mask);
    EXPECT_EQ(out, R"([{"name":"id","type":"int4"},{"name":"done","type":"bool"}])");
}

TEST(ChangeJsonTest, RecordRendersValuesNullsAndOmitsUnchangedToast) {
    Relation r = make_relation();
    pg::Tuple t;
    t.push_value("1");
    t.push_null();
    t.push_value("t");
    t.push_unchanged_toast();
    std::string out;
    append_record_json(out, r, t, nullptr, nullptr, 0);
    EXPECT_EQ(out, R"({"id":1,"title":null,"done":true})");
}

TEST(ChangeJsonTest, RecordTakesUnchangedToastFromTheFullOldTuple) {
    Relation r = make_relation();
    pg::Tuple t, old;
    t.push_value("1");
    t.push_value("new");
    t.push_value("f");
    t.push_unchanged_toast();
    old.push_value("1");
    old.push_value("old");
    old.push_value("f");
    old.push_value("long body");
    std::string out;
    append_record_json(out, r, t, nullptr, &old, 0);
    EXPECT_EQ(out, R"({"id":1,"title":"new","done":false,"body":"long body"})");
}

TEST(ChangeJsonTest, RecordReductionKeepsShortValuesAndDropsNulls) {
    Relation r = make_relation();
    pg::Tuple t;
    t.push_value("1");
    t.push_value(std::string(63, 'x')); // 65 bytes encoded: over a 64-byte limit
    t.push_null();
    t.push_value(std::string(62, 'y')); // 64 bytes encoded: kept
    std::string out;
    append_record_json(out, r, t, nullptr, nullptr, 64);
    EXPECT_EQ(out, "{\"id\":1,\"body\":\"" + std::string(62, 'y') + "\"}");
    ColumnMask mask{false, true, true, true};
    out.clear();
    append_record_json(out, r, t, &mask, nullptr, 64);
    EXPECT_EQ(out, "{\"body\":\"" + std::string(62, 'y') + "\"}"); // no leading comma
}

TEST(ChangeJsonTest, OldRecordFollowsTheReplicaIdentity) {
    auto rel = std::make_shared<Relation>(make_relation());
    Change c;
    c.kind = ChangeKind::Delete;
    c.relation = rel;
    pg::Tuple key; // 'K': non-key columns come as NULL
    key.push_value("7");
    key.push_null();
    key.push_null();
    key.push_null();
    c.old_tuple = key;
    std::string out;
    append_old_record_json(out, c, nullptr, 0);
    EXPECT_EQ(out, R"({"id":7})");

    pg::Tuple full;
    full.push_value("7");
    full.push_value("t");
    full.push_value("f");
    full.push_null();
    c.old_tuple = full;
    c.old_is_full = true;
    out.clear();
    append_old_record_json(out, c, nullptr, 0);
    EXPECT_EQ(out, R"({"id":7,"title":"t","done":false,"body":null})");

    // UPDATE that kept its key: pgoutput sends no old tuple; the key comes from the new row.
    Change u;
    u.kind = ChangeKind::Update;
    u.relation = rel;
    pg::Tuple row;
    row.push_value("8");
    row.push_value("x");
    row.push_value("t");
    row.push_null();
    u.new_tuple = row;
    out.clear();
    append_old_record_json(out, u, nullptr, 0);
    EXPECT_EQ(out, R"({"id":8})");

    auto nothing = std::make_shared<Relation>(make_relation());
    nothing->replica_identity = ReplicaIdentity::Nothing;
    u.relation = nothing;
    out.clear();
    append_old_record_json(out, u, nullptr, 0);
    EXPECT_EQ(out, "{}");
}

TEST(ChangeJsonTest, NewRecordOfAChangeUsesTheFullOldTupleForToast) {
    auto rel = std::make_shared<Relation>(make_relation());
    Change c;
    c.kind = ChangeKind::Update;
    c.relation = rel;
    pg::Tuple row, old;
    row.push_value("1");
    row.push_value("n");
    row.push_value("t");
    row.push_unchanged_toast();
    old.push_value("1");
    old.push_value("o");
    old.push_value("t");
    old.push_value("kept");
    c.new_tuple = row;
    c.old_tuple = old;
    c.old_is_full = false; // a key tuple is no source for TOAST values
    std::string out;
    append_new_record_json(out, c, nullptr, 0);
    EXPECT_EQ(out, R"({"id":1,"title":"n","done":true})");
    c.old_is_full = true;
    out.clear();
    append_new_record_json(out, c, nullptr, 0);
    EXPECT_EQ(out, R"({"id":1,"title":"n","done":true,"body":"kept"})");
}

} // namespace
} // namespace walcast::capture
