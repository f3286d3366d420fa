// Every row of the spec's §6.7 table, checked against real Postgres: values of many types
// (NULLs, arrays, jsonb, edge values) go through pgoutput and walcast's renderer, and each
// rendered value must equal what Supabase Realtime sends — PostgreSQL's to_jsonb(value) —
// except bytea (wal2json's hex without \x, §6.7) and oid (a JSON number by walcast's contract,
// where to_jsonb gives a string; the JS client turns both into the same number).
#include "capture_test_sink.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

// to_jsonb's text has spaces after ':' and ','; walcast's rendering has none. Drops whitespace
// outside strings.
std::string compact(const std::string& json) {
    std::string out;
    bool in_string = false, escaped = false;
    for (char c : json) {
        if (in_string) {
            out += c;
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
        out += c;
    }
    return out;
}

bool same_json_value(const std::string& a, const std::string& b) {
    boost::system::error_code ea, eb;
    auto va = boost::json::parse(a, ea);
    auto vb = boost::json::parse(b, eb);
    if (ea || eb) return false;
    if (va.is_number() && vb.is_number()) return va.to_number<double>() == vb.to_number<double>();
    if (va.is_array() && vb.is_array() && va.as_array().size() == vb.as_array().size()) {
        for (std::size_t i = 0; i < va.as_array().size(); ++i)
            if (!same_json_value(boost::json::serialize(va.as_array()[i]),
                                 boost::json::serialize(vb.as_array()[i])))
                return false;
        return true;
    }
    return va == vb;
}

constexpr const char* table_ddl = R"(
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE typed (
  id int PRIMARY KEY,
  c_int2 int2, c_int4 int4, c_int8 int8, c_oid oid, c_numeric numeric, c_float4 float4,
  c_float8 float8, c_bool bool, c_text text, c_varchar varchar(20), c_bpchar char(5), c_uuid uuid,
  c_mood mood, c_timestamp timestamp, c_timestamptz timestamptz, c_date date, c_time time,
  c_timetz timetz, c_interval interval, c_json json, c_jsonb jsonb, c_bytea bytea, c_money money,
  c_inet inet, c_range tstzrange, c_posint posint,
  a_int4 int4[], a_text text[], a_jsonb jsonb[], a_bool bool[], a_numeric numeric[],
  a_timestamptz timestamptz[], a_timestamp timestamp[], a_mood mood[], a_bytea bytea[],
  a_float8 float8[], a_box box[], a_posint posint[], a_date date[]
);
CREATE PUBLICATION p_types FOR TABLE typed;
)";

// Row 1: ordinary values (the spec's examples); row 2: edge values; row 3: all NULL.
constexpr const char* rows_sql = R"(
INSERT INTO typed VALUES (1,
  32767, 2147483647, 9007199254740993, 4000000000, 1234.50, 1.5, 0.1, true,
  E'h\u00e9llo "q"\n\\ \t end', 'v', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy',
  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', '2024-01-02', '03:04:05',
  '03:04:05+05:30', '1 day 02:03:04', '{"a": [1, 2], "b": "x"}', '{"a": [1, 2], "b": {"c": null}}',
  '\x0102ff', 12.34, '192.168.0.1/24', '[2024-01-01,2024-02-01)', 5,
  '{{1,2},{3,NULL}}', ARRAY['x', 'y z', 'q"uote', 'back\slash', NULL, 'NULL', ''],
  ARRAY['{"a": 1}'::jsonb, NULL, '"s"', '[1, "two"]'], '{t,f}', '{NaN,1.5,-2}',
  '{"2024-01-02 03:04:05+00", "2024-06-01 12:00:00.5+00"}', '{"2024-01-02 03:04:05.5"}',
  '{happy,sad}', ARRAY['\x01ff'::bytea], '{1.5,Infinity,-Infinity,NaN}',
  '{(1,2),(0,0);(3,3),(1,1)}', '{1,2}', '{2024-01-02,infinity}');
INSERT INTO typed VALUES (2,
  -32768, -1, -9223372036854775808, 0, 'NaN', 'Infinity', 1e20, false, '', '', '',
  '00000000-0000-0000-0000-000000000000', 'sad', 'infinity', '-infinity', 'infinity',
  '23:59:59.999999', '00:00:00-08', '-1 years -2 mons +3 days -04:05:06', '[]', '"123"',
  '\x', -0.5, '::1', 'empty', 1,
  '[0:1]={1,2}', '{}', '{}', '{}', '{-Infinity,0.000001}', '{infinity}',
  '{"0044-03-15 00:00:00 BC"}', '{}', '{}', '{-0,1e-300}', '{}', '{}', '{}');
INSERT INTO typed VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO typed (id, c_numeric, c_float4, c_float8, c_timestamp, c_timestamptz, a_int4)
  VALUES (4, '-Infinity', 'NaN', '-Infinity', '2024-01-02 03:04:05', '2024-01-02 03:04:05-07:30',
          '{{{1},{2}},{{3},{4}}}');
)";

TEST(CaptureTypesTest, EveryRenderedValueMatchesToJsonbInPostgres) {
    auto conn = connect_test_db();
    sql(conn, table_ddl);
    capture::LogicalSourceOptions options;
    options.publication = "p_types";
    options.config_errors_fatal = true;
    CollectingSink sink;
    capture::LogicalSource source(test_cluster().connect_params(), options, sink);
    sink.attach(&source);
    source.start();
    ASSERT_TRUE(wait_until([&] { return sink.up(); }));
    sql(conn, rows_sql);
    ASSERT_TRUE(wait_for_lines(sink, 4));

    std::size_t compared = 0;
    for (const auto& change : sink.changes()) {
        const auto& rel = *change->relation;
        const auto& tuple = *change->new_tuple;
        const std::string id(tuple.text(0));

        // The whole record is valid JSON with one key per column.
        std::string record;
        capture::append_record_json(record, rel, tuple, nullptr, nullptr, 0);
        boost::system::error_code ec;
        auto parsed = boost::json::parse(record, ec);
        ASSERT_FALSE(ec) << record;
        EXPECT_EQ(parsed.as_object().size(), rel.columns.size());

        for (std::size_t i = 0; i < rel.columns.size(); ++i) {
            const auto& col = rel.columns[i];
            std::string ours;
            if (tuple.is_null(i))
                ours = "null";
            else
                capture::append_value_json(ours, col.type, tuple.text(i));

            std::string expected;
            const std::string where = " FROM typed WHERE id = " + id;
            if (col.type.name == "bytea") {
                expected = sql_value(conn, "SELECT coalesce('\"' || encode(" + col.name +
                                               ", 'hex') || '\"', 'null')" + where);
            } else if (col.type.name == "oid") {
                expected =
                    sql_value(conn, "SELECT coalesce(" + col.name + "::text, 'null')" + where);
            } else {
                expected = compact(sql_value(conn, "SELECT coalesce(to_jsonb(" + col.name +
                                                       ")::text, 'null')" + where));
            }
            const bool semantic = col.type.kind == pg::TypeKind::Float ||
                                  col.type.kind == pg::TypeKind::Json ||
                                  col.type.element_kind == pg::TypeKind::Float ||
                                  col.type.element_kind == pg::TypeKind::Json;
            if (semantic && ours != expected)
                EXPECT_TRUE(same_json_value(ours, expected))
                    << "row " << id << " " << col.name << " (" << col.type.name << "): walcast "
                    << ours << " vs to_jsonb " << expected;
            else
                EXPECT_EQ(ours, expected)
                    << "row " << id << " " << col.name << " (" << col.type.name << ")";
            ++compared;
        }
    }
    EXPECT_EQ(compared, 4u * 40u);

    // The spec's own examples, literally.
    auto changes = sink.changes();
    std::string r1;
    capture::append_record_json(r1, *changes[0]->relation, *changes[0]->new_tuple, nullptr, nullptr,
                                0);
    for (const char* fragment :
         {R"("c_int8":9007199254740993)", R"("c_numeric":1234.50)", R"("c_float8":0.1)",
          R"("c_bool":true)", R"("c_timestamp":"2024-01-02T03:04:05.123456")",
          R"("c_timestamptz":"2024-01-02T01:04:05.123456+00:00")", R"("c_date":"2024-01-02")",
          R"("c_time":"03:04:05")", R"("c_interval":"1 day 02:03:04")", R"("c_bytea":"0102ff")",
          R"("c_money":"$12.34")", R"("c_inet":"192.168.0.1/24")", R"("c_mood":"happy")",
          R"("c_uuid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")", R"("a_int4":[[1,2],[3,null]])",
          R"x("c_range":"[\"2024-01-01 00:00:00+00\",\"2024-02-01 00:00:00+00\")")x"})
        EXPECT_NE(r1.find(fragment), std::string::npos) << fragment << "\n in " << r1;

    // Column types carry pg_type names: arrays as _x, enums and domains by their own name.
    const auto& rel = *changes[0]->relation;
    auto type_of = [&](const char* name) { return rel.columns[rel.column_index(name)].type; };
    EXPECT_EQ(type_of("a_int4").name, "_int4");
    EXPECT_EQ(type_of("c_mood").name, "mood");
    EXPECT_EQ(type_of("c_mood").kind, pg::TypeKind::Enum);
    EXPECT_EQ(type_of("a_mood").element_kind, pg::TypeKind::Enum);
    EXPECT_EQ(type_of("c_posint").name, "posint");
    EXPECT_EQ(type_of("c_posint").kind, pg::TypeKind::Int);
    EXPECT_EQ(type_of("a_box").delimiter, ';');
    EXPECT_EQ(type_of("c_bpchar").name, "bpchar");
}

} // namespace
} // namespace walcast::testing
