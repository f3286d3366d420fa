// Filter compilation (spec §5.5 errors) and evaluation with Postgres semantics (§5.3), without
// Postgres: a hand-written normaliser returns the canonical values Postgres would.
#include "core/filter/filter.hpp"
#include "core/filter/filter_eval.hpp"
#include "protocol/supabase/filter_grammar.hpp"
#include "protocol/supabase/messages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
} // namespace

// Counts heap allocations (every non-aligned operator new of this test binary) so the hot
// path can be checked for none.
namespace {
void* counted_alloc(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
} // namespace
void* operator new(std::size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n);
}
// GCC 12 inlines library deallocations into these and then warns that free() gets memory from
// operator new — which is counted_alloc's malloc here, so the pairing is right.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop

namespace walcast::core {
namespace {

using pg::PgType;
// Conditions written in the Supabase filter grammar, errors worded as Supabase reports them.
using protocol::supabase::parse_filter;
using protocol::supabase::realtime_filter_error;

PgType type(const std::string& name, pg::Oid oid, pg::TypeKind kind) {
    PgType t;
    t.oid = oid;
    t.name = name;
    t.kind = kind;
    return t;
}

const PgType int4 = type("int4", pg::oids::int4, pg::TypeKind::Int);
const PgType int8 = type("int8", pg::oids::int8, pg::TypeKind::Int);
const PgType text_t = type("text", pg::oids::text, pg::TypeKind::Text);
const PgType bpchar = type("bpchar", pg::oids::bpchar, pg::TypeKind::Text);
const PgType boolean = type("bool", pg::oids::bool_, pg::TypeKind::Bool);
const PgType numeric = type("numeric", pg::oids::numeric, pg::TypeKind::Numeric);
const PgType float8 = type("float8", pg::oids::float8, pg::TypeKind::Float);
const PgType float4 = type("float4", pg::oids::float4, pg::TypeKind::Float);
const PgType tstz = type("timestamptz", pg::oids::timestamptz, pg::TypeKind::TimestampTz);
const PgType date_t = type("date", pg::oids::date, pg::TypeKind::Date);
const PgType timetz = type("timetz", pg::oids::timetz, pg::TypeKind::TimeTz);
const PgType interval = type("interval", pg::oids::interval, pg::TypeKind::Interval);
const PgType uuid = type("uuid", pg::oids::uuid, pg::TypeKind::Uuid);
const PgType jsonb = type("jsonb", pg::oids::jsonb, pg::TypeKind::Json);
const PgType json = type("json", pg::oids::json, pg::TypeKind::Json);
const PgType bytea = type("bytea", pg::oids::bytea, pg::TypeKind::Bytea);
const PgType mood = type("mood", 90001, pg::TypeKind::Enum);

/// Answers as Postgres would for the values these tests use; anything not listed casts to
/// itself. Errors are registered per (type, value).
class FakeNormalizer : public ValueNormalizer {
public:
    std::map<std::pair<pg::Oid, std::string>, std::string> canonical;
    std::map<std::pair<pg::Oid, std::string>, SqlError> errors;
    std::map<std::string, CollationInfo> collations{{"", CollationInfo{}}};
    int questions = 0;

    SqlResult<std::string> cast(std::string_view v, const PgType& t) override {
        ++questions;
        auto key = std::make_pair(t.oid, std::string(v));
        if (auto e = errors.find(key); e != errors.end()) return e->second;
        if (auto c = canonical.find(key); c != canonical.end()) return c->second;
        return std::string(v);
    }
    SqlResult<std::vector<std::optional<std::string>>> cast_array(std::string_view lit,
                                                                  const PgType& t) override {
        ++questions;
        // "{a,b,null}" without quoting: enough for these tests.
        std::vector<std::optional<std::string>> out;
        std::string inner(lit.substr(1, lit.size() - 2));
        if (inner.empty()) return out;
        std::size_t start = 0;
        while (true) {
            auto comma = inner.find(',', start);
            std::string e =
                inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            while (!e.empty() && e.front() == ' ')
                e.erase(e.begin());
            if (e == "null" || e == "NULL") {
                out.push_back(std::nullopt);
            } else {
                auto c = cast(e, t);
                if (!c) return std::move(c).error();
                out.push_back(*c);
            }
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        return out;
    }
    SqlResult<std::monostate> check_regex(std::string_view p) override {
        ++questions;
        int depth = 0;
        for (char c : p)
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        if (depth != 0)
            return SqlError{"2201B", "invalid regular expression: parentheses () not balanced"};
        return std::monostate{};
    }
    SqlResult<std::vector<std::string>> enum_labels(pg::Oid) override {
        ++questions;
        return std::vector<std::string>{"sad", "ok", "happy"};
    }
    SqlResult<std::string> type_display_name(pg::Oid oid) override {
        static const std::map<pg::Oid, std::string> names{{pg::oids::int4, "integer"},
                                                          {pg::oids::text, "text"},
                                                          {pg::oids::jsonb, "jsonb"},
                                                          {pg::oids::json, "json"},
                                                          {pg::oids::bool_, "boolean"}};
        auto it = names.find(oid);
        return it == names.end() ? std::string("other") : it->second;
    }
    SqlResult<CollationInfo> collation(std::string_view name) override {
        auto it = collations.find(std::string(name));
        if (it == collations.end()) return SqlError{"42704", "collation does not exist"};
        return it->second;
    }
};

capture::Relation relation(std::vector<std::pair<std::string, PgType>> cols) {
    capture::Relation r;
    r.schema = "public";
    r.table = "t";
    for (auto& [name, t] : cols) {
        capture::Column c;
        c.name = name;
        c.type = t;
        r.columns.push_back(c);
    }
    return r;
}

pg::Tuple tuple(std::vector<std::optional<std::string>> values) {
    pg::Tuple t;
    for (auto& v : values)
        if (v)
            t.push_value(*v);
        else
            t.push_null();
    return t;
}

struct Fixture {
    FakeNormalizer norm;

    CompiledFilter compile(const capture::Relation& rel, std::string_view filter) {
        auto conds = parse_filter(filter);
        EXPECT_TRUE(conds.ok()) << filter;
        auto f = CompiledFilter::compile(
            conds.ok() ? conds.value() : std::vector<FilterCondition>{}, rel, norm);
        EXPECT_TRUE(f.ok()) << filter << ": " << (f.ok() ? "" : f.error().describe());
        return f.ok() ? std::move(f).value() : CompiledFilter();
    }
    SqlError compile_error(const capture::Relation& rel, std::string_view filter,
                           const std::unordered_set<std::string>* selectable = nullptr) {
        auto f = CompiledFilter::compile(parse_filter(filter).value(), rel, norm, selectable);
        EXPECT_FALSE(f.ok()) << filter << " compiled";
        return f.ok() ? SqlError{} : realtime_filter_error(f.error());
    }
    /// Values (one-column relation) for which `filter` matches.
    std::vector<std::string> matching(const PgType& t, std::string_view filter,
                                      const std::vector<std::optional<std::string>>& values) {
        auto rel = relation({{"c", t}});
        auto f = compile(rel, filter);
        std::vector<std::string> out;
        for (const auto& v : values)
            if (f.matches(rel, tuple({v}))) out.push_back(v ? *v : "NULL");
        return out;
    }
};

using Strings = std::vector<std::string>;

TEST(FilterEvalTest, IntegerEqualityUsesTheCastValue) {
    Fixture fx;
    fx.norm.canonical[{pg::oids::int4, "01"}] = "1";
    EXPECT_EQ(fx.matching(int4, "c=eq.01", {"1", "10", "01x", std::nullopt}), Strings{"1"});
}

TEST(FilterEvalTest, NullMatchesOnlyIsAndIsDistinctAlsoUnderNot) {
    Fixture fx;
    const std::vector<std::optional<std::string>> values{"1", std::nullopt};
    for (const char* f : {"c=eq.1", "c=not.eq.1", "c=neq.1", "c=not.neq.1", "c=lt.5", "c=not.lt.5",
                          "c=gte.0", "c=not.gte.0", "c=in.(1,2)", "c=not.in.(1,2)"}) {
        auto m = fx.matching(int4, f, values);
        EXPECT_TRUE(std::find(m.begin(), m.end(), "NULL") == m.end()) << f;
    }
    EXPECT_EQ(fx.matching(int4, "c=is.null", values), Strings{"NULL"});
    EXPECT_EQ(fx.matching(int4, "c=not.is.null", values), Strings{"1"});
    EXPECT_EQ(fx.matching(int4, "c=isdistinct.1", values), Strings{"NULL"});
    EXPECT_EQ(fx.matching(int4, "c=isdistinct.2", values), (Strings{"1", "NULL"}));
    EXPECT_EQ(fx.matching(int4, "c=not.isdistinct.1", values), Strings{"1"});
}

TEST(FilterEvalTest, IsOnBooleans) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"t", "f", std::nullopt};
    EXPECT_EQ(fx.matching(boolean, "c=is.true", v), Strings{"t"});
    EXPECT_EQ(fx.matching(boolean, "c=is.false", v), Strings{"f"});
    EXPECT_EQ(fx.matching(boolean, "c=is.unknown", v), Strings{"NULL"});
    EXPECT_EQ(fx.matching(boolean, "c=not.is.true", v), (Strings{"f", "NULL"}));
    EXPECT_EQ(fx.matching(boolean, "c=not.is.unknown", v), (Strings{"t", "f"}));
    fx.norm.canonical[{pg::oids::bool_, "true"}] = "t";
    EXPECT_EQ(fx.matching(boolean, "c=eq.true", v), Strings{"t"});
    EXPECT_EQ(fx.matching(boolean, "c=lt.true", v), Strings{"f"});
}

TEST(FilterEvalTest, InWithNullElementIsUnknownWhenNotFound) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"1", "2", "3"};
    EXPECT_EQ(fx.matching(int4, "c=in.(1,null)", v), Strings{"1"});
    EXPECT_EQ(fx.matching(int4, "c=not.in.(1,null)", v), Strings{});
    EXPECT_EQ(fx.matching(int4, "c=not.in.(1,2)", v), Strings{"3"});
    EXPECT_EQ(fx.matching(int4, "c=in.()", v), Strings{});
    EXPECT_EQ(fx.matching(int4, "c=not.in.()", v), (Strings{"1", "2", "3"}));
    EXPECT_EQ(fx.matching(int4, "c=not.in.()", {std::nullopt}), Strings{"NULL"}); // as Postgres
}

TEST(FilterEvalTest, NumericComparesByValueWithNaNGreatest) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"1.00", "1",        "0.5",       "-3",
                                                    "NaN",  "Infinity", "-Infinity", "10"};
    EXPECT_EQ(fx.matching(numeric, "c=eq.1.0", v), (Strings{"1.00", "1"}));
    EXPECT_EQ(fx.matching(numeric, "c=gt.1", v), (Strings{"NaN", "Infinity", "10"}));
    EXPECT_EQ(fx.matching(numeric, "c=lt.0.6", v), (Strings{"0.5", "-3", "-Infinity"}));
    EXPECT_EQ(fx.matching(numeric, "c=eq.NaN", v), Strings{"NaN"});
    EXPECT_EQ(fx.matching(numeric, "c=gt.Infinity", v), Strings{"NaN"});
}

TEST(FilterEvalTest, FloatNaNEqualsItselfAndSortsLast) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"NaN", "Infinity", "-0", "0", "1.5"};
    EXPECT_EQ(fx.matching(float8, "c=eq.NaN", v), Strings{"NaN"});
    EXPECT_EQ(fx.matching(float8, "c=gt.Infinity", v), Strings{"NaN"});
    EXPECT_EQ(fx.matching(float8, "c=eq.0", v), (Strings{"-0", "0"}));
    fx.norm.canonical[{pg::oids::float4, "0.1"}] = "0.1";
    EXPECT_EQ(fx.matching(float4, "c=eq.0.1", {"0.1", "0.10000001"}), Strings{"0.1"});
}

TEST(FilterEvalTest, TimestamptzComparesInstants) {
    Fixture fx;
    fx.norm.canonical[{pg::oids::timestamptz, "2024-01-02T05:00:00+02:00"}] =
        "2024-01-02 03:00:00+00";
    const std::vector<std::optional<std::string>> v{"2024-01-02 03:00:00+00",
                                                    "2024-01-02 05:00:00+02",
                                                    "2024-01-02 03:00:00.000001+00",
                                                    "2024-01-01 23:00:00-04",
                                                    "0044-03-15 12:00:00+00 BC",
                                                    "infinity",
                                                    "-infinity"};
    EXPECT_EQ(
        fx.matching(tstz, "c=eq.2024-01-02T05:00:00+02:00", v),
        (Strings{"2024-01-02 03:00:00+00", "2024-01-02 05:00:00+02", "2024-01-01 23:00:00-04"}));
    EXPECT_EQ(fx.matching(tstz, "c=lt.2024-01-02T05:00:00+02:00", v),
              (Strings{"0044-03-15 12:00:00+00 BC", "-infinity"}));
}

TEST(FilterEvalTest, DatesTimesAndIntervals) {
    Fixture fx;
    EXPECT_EQ(
        fx.matching(date_t, "c=lt.0001-01-01", {"0001-12-31 BC", "0001-01-01", "10000-01-01"}),
        Strings{"0001-12-31 BC"});
    fx.norm.canonical[{pg::oids::interval, "30 days"}] = "30 days";
    EXPECT_EQ(
        fx.matching(interval, "c=eq.30 days", {"1 mon", "30 days", "720:00:00", "1 mon 00:00:01"}),
        (Strings{"1 mon", "30 days", "720:00:00"}));
    EXPECT_EQ(fx.matching(interval, "c=lt.00:00:00",
                          {"-1 days +23:00:00", "-00:00:01", "1 year -400 days"}),
              (Strings{"-1 days +23:00:00", "-00:00:01", "1 year -400 days"}));
    // timetz: same instant, different zones are not equal; ordering by UTC time then zone.
    EXPECT_EQ(fx.matching(timetz, "c=eq.12:00:00+00", {"12:00:00+00", "14:00:00+02"}),
              Strings{"12:00:00+00"});
    EXPECT_EQ(fx.matching(timetz, "c=gt.12:00:00+00", {"14:00:00+02", "11:00:00-02"}),
              Strings{"11:00:00-02"});
}

TEST(FilterEvalTest, TextOrderingBpcharPaddingAndUuid) {
    Fixture fx;
    EXPECT_EQ(fx.matching(text_t, "c=lt.b", {"a", "B", "b", "ba", "é"}), (Strings{"a", "B"}));
    EXPECT_EQ(fx.matching(bpchar, "c=eq.ab", {"ab   ", "ab", "abc"}), (Strings{"ab   ", "ab"}));
    EXPECT_EQ(fx.matching(
                  uuid, "c=gt.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                  {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12", "0aeebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}),
              Strings{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"});
}

TEST(FilterEvalTest, LikeAndIlikeFollowPostgresEscapes) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"50%", "500", "a_b", "axb", "Été", "été", "ét"};
    EXPECT_EQ(fx.matching(text_t, "c=like.50\\%", v), Strings{"50%"});
    EXPECT_EQ(fx.matching(text_t, "c=like.a\\_b", v), Strings{"a_b"});
    EXPECT_EQ(fx.matching(text_t, "c=like.a_b", v), (Strings{"a_b", "axb"}));
    EXPECT_EQ(fx.matching(text_t, "c=like.__", v), Strings{"ét"}); // `_` is one character
    EXPECT_EQ(fx.matching(text_t, "c=not.like.%t%", v), (Strings{"50%", "500", "a_b", "axb"}));
    // C collation: ilike folds ASCII only.
    EXPECT_EQ(fx.matching(text_t, "c=ilike.A_B", v), (Strings{"a_b", "axb"}));
    EXPECT_EQ(fx.matching(text_t, "c=ilike.été", v), Strings{"été"});
    fx.norm.canonical[{pg::oids::bytea, "a%"}] = "\\x6125";
    EXPECT_EQ(fx.matching(bytea, "c=like.a%", {"\\x6162", "\\x6261"}), Strings{"\\x6162"});
}

TEST(FilterEvalTest, RegexFollowsPostgresAnchorsAndEscapes) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"abc", "abc\n", "x abc y", "ABC", "a\nc"};
    EXPECT_EQ(fx.matching(text_t, "c=match.^abc$", v), Strings{"abc"});
    EXPECT_EQ(fx.matching(text_t, "c=match.a.c", v), (Strings{"abc", "abc\n", "x abc y", "a\nc"}));
    EXPECT_EQ(fx.matching(text_t, "c=match.\\yabc\\y", v), (Strings{"abc", "abc\n", "x abc y"}));
    EXPECT_EQ(fx.matching(text_t, "c=imatch.^abc", v), (Strings{"abc", "abc\n", "ABC"}));
    EXPECT_EQ(fx.matching(text_t, "c=match.(?i)^abc", v), (Strings{"abc", "abc\n", "ABC"}));
    EXPECT_EQ(fx.matching(text_t, "c=match.***=a.c", {"a.c", "abc"}), Strings{"a.c"});
    EXPECT_EQ(fx.matching(text_t, "c=not.match.b", v), (Strings{"ABC", "a\nc"}));
}

TEST(FilterEvalTest, EnumsOrderBySortOrderAndEqualByLabel) {
    Fixture fx;
    const std::vector<std::optional<std::string>> v{"sad", "ok", "happy"};
    EXPECT_EQ(fx.matching(mood, "c=gt.ok", v), Strings{"happy"});
    EXPECT_EQ(fx.matching(mood, "c=lte.ok", v), (Strings{"sad", "ok"}));
    EXPECT_EQ(fx.matching(mood, "c=eq.ok", v), Strings{"ok"});
}

TEST(FilterEvalTest, EqualityOnlyTypesCompareCanonicalText) {
    Fixture fx;
    fx.norm.canonical[{pg::oids::jsonb, "{\"b\":1, \"a\":2}"}] = "{\"a\": 2, \"b\": 1}";
    EXPECT_EQ(
        fx.matching(jsonb, R"(c=eq."{\"b\":1, \"a\":2}")", {"{\"a\": 2, \"b\": 1}", "{\"a\": 1}"}),
        Strings{"{\"a\": 2, \"b\": 1}"});
    auto rel = relation({{"c", jsonb}, {"j", json}});
    auto e = fx.compile_error(rel, "c=gt.1");
    EXPECT_EQ(e.sqlstate, "0A000");
    EXPECT_NE(e.message.find("gt on column \"c\" of type jsonb"), std::string::npos) << e.message;
    auto j = fx.compile_error(rel, "j=eq.1");
    EXPECT_EQ(j.sqlstate, "42883");
    EXPECT_EQ(j.message, "operator does not exist: json = json");
}

TEST(FilterCompileTest, ReportsSubscribeTimeErrorsLikeRealtime) {
    Fixture fx;
    auto rel = relation({{"id", int4}, {"name", text_t}, {"done", boolean}});
    auto col = fx.compile_error(rel, "notacolumn=eq.123");
    EXPECT_EQ(col.sqlstate, "P0001");
    EXPECT_EQ(col.message, "invalid column for filter notacolumn");

    std::unordered_set<std::string> selectable{"id", "done"};
    EXPECT_EQ(fx.compile_error(rel, "name=eq.x", &selectable).message,
              "invalid column for filter name");

    fx.norm.errors[{pg::oids::int4, "abc"}] =
        SqlError{"22P02", "invalid input syntax for type integer: \"abc\""};
    auto cast = fx.compile_error(rel, "id=eq.abc");
    EXPECT_EQ(cast.sqlstate, "22P02");
    EXPECT_EQ(cast.message, "invalid input syntax for type integer: \"abc\"");
    EXPECT_EQ(fx.compile_error(rel, "id=in.(1,abc)").message,
              "invalid input syntax for type integer: \"abc\"");

    std::string many = "id=in.(";
    for (int i = 0; i < 101; ++i)
        many += (i ? "," : "") + std::to_string(i);
    many += ")";
    EXPECT_EQ(fx.compile_error(rel, many).message, "too many values for `in` filter. Maximum 100");
    std::string hundred = "id=in.(";
    for (int i = 0; i < 100; ++i)
        hundred += (i ? "," : "") + std::to_string(i);
    hundred += ")";
    EXPECT_EQ(fx.compile(rel, hundred).size(), 1u);

    EXPECT_EQ(fx.compile_error(rel, "done=is.maybe").message,
              "invalid value for is filter: must be null, true, false, or unknown");
    EXPECT_EQ(fx.compile_error(rel, "name=is.true").message,
              "is true filter requires a boolean column, got text");
    EXPECT_EQ(fx.compile_error(rel, "id=like.1%").message,
              "operator like requires a text-compatible column type, got integer");
    EXPECT_EQ(fx.compile_error(rel, "id=imatch.1").message,
              "operator imatch requires a text-compatible column type, got integer");
    EXPECT_EQ(fx.compile_error(rel, "name=match.(a").message,
              "invalid regular expression for match filter: invalid regular expression: "
              "parentheses () not balanced");
    auto esc = fx.compile_error(rel, "name=like.abc\\");
    EXPECT_EQ(esc.sqlstate, "22025");
    EXPECT_EQ(esc.message, "LIKE pattern must not end with escape character");
    EXPECT_EQ(fx.compile(rel, "name=is.null").size(), 1u);
}

TEST(FilterCompileTest, RefusesNulInAValueAsPostgresDoes) {
    Fixture fx;
    auto rel = relation({{"name", text_t}});
    // Postgres rejects the value (22021); passed on as a C string it would filter for 'a'.
    for (std::string_view f :
         {std::string_view("name=eq.a\0b", 11), std::string_view("name=in.(x,a\0b)", 15),
          std::string_view("name=match.a\0", 13)}) {
        auto e = fx.compile_error(rel, f);
        EXPECT_EQ(e.sqlstate, "22021");
        EXPECT_EQ(e.message, "invalid byte sequence for encoding \"UTF8\": 0x00");
        EXPECT_NE(e.hint.find("remove it"), std::string::npos);
    }
    EXPECT_EQ(fx.norm.questions, 0); // refused before Postgres is asked
}

TEST(FilterCompileTest, CollationRestrictions) {
    Fixture fx;
    fx.norm.collations["icu_und"] = CollationInfo{CollationInfo::Provider::Icu, "und", "C", true};
    fx.norm.collations["nd"] =
        CollationInfo{CollationInfo::Provider::Icu, "und-u-ks-level2", "C", false};
    auto rel = relation({{"a", text_t}, {"b", text_t}});
    rel.columns[0].collation = "icu_und";
    rel.columns[1].collation = "nd";
    EXPECT_EQ(fx.compile(rel, "a=eq.x,a=like.x%,a=match.x").size(), 3u);
    EXPECT_EQ(fx.compile_error(rel, "a=lt.x").sqlstate, "0A000");
    EXPECT_EQ(fx.compile_error(rel, "a=ilike.x").sqlstate, "0A000");
    EXPECT_EQ(fx.compile_error(rel, "b=eq.x").sqlstate, "0A000");
    EXPECT_EQ(fx.compile(rel, "b=is.null").size(), 1u);
}

TEST(FilterMatchTest, ResolvesColumnsByNameOnNewRelationObjects) {
    Fixture fx;
    auto rel = relation({{"id", int4}, {"name", text_t}});
    auto f = fx.compile(rel, "name=eq.x,id=gt.1");
    EXPECT_TRUE(f.matches(rel, tuple({"2", "x"})));
    EXPECT_FALSE(f.matches(rel, tuple({"1", "x"})));
    // ALTER TABLE: columns reordered and one added → positions resolved again by name.
    auto altered = relation({{"extra", int4}, {"name", text_t}, {"id", int4}});
    EXPECT_TRUE(f.matches(altered, tuple({"0", "x", "2"})));
    EXPECT_FALSE(f.matches(altered, tuple({"0", "y", "2"})));
    // The filtered column's type changed → no match.
    auto retyped = relation({{"id", int8}, {"name", text_t}});
    EXPECT_FALSE(f.matches(retyped, tuple({"2", "x"})));
    // The column is gone → no match; back on the original relation it matches again.
    auto dropped = relation({{"id", int4}});
    EXPECT_FALSE(f.matches(dropped, tuple({"2"})));
    EXPECT_TRUE(f.matches(rel, tuple({"2", "x"})));
}

TEST(FilterMatchTest, AbsentToastedAndKeyOnlyColumnsDoNotMatch) {
    Fixture fx;
    auto rel = relation({{"id", int4}, {"name", text_t}});
    rel.columns[0].is_identity_key = true;
    auto f = fx.compile(rel, "name=is.null");
    pg::Tuple toast;
    toast.push_value("1");
    toast.push_unchanged_toast();
    EXPECT_FALSE(f.matches(rel, toast));
    EXPECT_FALSE(f.matches(rel, tuple({"1"}))); // shorter tuple: column absent
    // A DELETE's key-only old tuple: name arrives as NULL but is not really there.
    EXPECT_TRUE(f.matches(rel, tuple({"1", std::nullopt}), TupleScope::Full));
    EXPECT_FALSE(f.matches(rel, tuple({"1", std::nullopt}), TupleScope::KeyOnly));
    auto by_id = fx.compile(rel, "id=eq.1");
    EXPECT_TRUE(by_id.matches(rel, tuple({"1", std::nullopt}), TupleScope::KeyOnly));
}

TEST(FilterMatchTest, EmptyFilterMatchesEverything) {
    CompiledFilter f;
    auto rel = relation({{"id", int4}});
    EXPECT_TRUE(f.matches(rel, tuple({std::nullopt})));
}

TEST(FilterMatchTest, CommonPathsDoNotAllocate) {
    Fixture fx;
    auto rel = relation({{"id", int4}, {"name", text_t}, {"at", tstz}, {"u", uuid}});
    auto f = fx.compile(rel, "id=eq.7,name=eq.bob,at=gte.2024-01-01 00:00:00+00,"
                             "u=neq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,id=in.(5,6,7)");
    auto row =
        tuple({"7", "bob", "2024-06-01 10:00:00.5+00", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"});
    ASSERT_TRUE(f.matches(rel, row)); // warms the column cache
    long before = g_allocations.load();
    bool all = true;
    for (int i = 0; i < 1000; ++i)
        all = all && f.matches(rel, row);
    EXPECT_EQ(g_allocations.load() - before, 0);
    EXPECT_TRUE(all);
}

TEST(PgSemanticsTest, ParsesPostgresTextOutput) {
    using namespace pgsem;
    EXPECT_EQ(parse_int("-42"), -42);
    EXPECT_FALSE(parse_int("4x").has_value());
    EXPECT_EQ(parse_timestamp("2000-01-01 00:00:00", false), 0);
    EXPECT_EQ(parse_timestamp("2000-01-01 00:00:01.5+00", true), 1500000);
    EXPECT_EQ(parse_timestamp("2000-01-01 02:00:00+02", true), 0);
    EXPECT_EQ(parse_timestamp("2000-01-01 00:00:00+05:30", true), -19800LL * 1000000);
    EXPECT_EQ(parse_time("24:00:00"), 86400LL * 1000000);
    EXPECT_EQ(parse_interval("1 year 2 mons 3 days 04:05:06"),
              static_cast<__int128>(((14 * 30 + 3) * 86400LL + 4 * 3600 + 5 * 60 + 6) * 1000000));
    EXPECT_FALSE(parse_interval("").has_value());
    EXPECT_FALSE(parse_interval("3 fortnights").has_value());
    auto a = parse_numeric("-001.2300");
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->negative);
    EXPECT_EQ(a->int_digits, "1");
    EXPECT_EQ(a->frac_digits, "23");
    EXPECT_EQ(compare_numeric(*parse_numeric("0.0"), *parse_numeric("-0")), 0);
    EXPECT_EQ(compare_numeric(*parse_numeric("-2"), *parse_numeric("-10")), 1);
    EXPECT_EQ(compare_float(std::nan(""), INFINITY), 1);
    EXPECT_EQ(decode_bytea_hex("\\x00ff"), std::string("\0\xff", 2));
}

TEST(PgSemanticsTest, HostilePatternsAreRefusedOrEvaluatedWithoutCrashing) {
    using namespace pgsem;
    std::string many;
    for (std::size_t i = 0; i <= max_like_wildcards; ++i)
        many += "%a";
    EXPECT_TRUE(like_pattern_error(many).has_value());
    EXPECT_FALSE(like_pattern_error(many.substr(2)).has_value());
    EXPECT_FALSE(like_match(std::string(5000, 'a'), many.substr(2) + "b"));
    for (const char* p : {"(", "[", "\\", "(?", "(?q", "[[:", "[[:alpha", "\\x", "\\u12", "a{2,1}",
                          "(a*)*b", "***=", "(?i", "[]", "\\"}) {
        auto rx = Regex::compile(p, false, "C");
        if (rx.ok()) (void)(*rx)->search(std::string(3000, 'a'));
    }
    // Patterns that are exponential for a backtracking engine are linear for RE2: each search
    // of 20,000 characters answers (correctly: no match), however the pattern nests.
    const std::pair<const char*, const char*> hostile[] = {{"(a*)*b", "aab"},
                                                           {"^(a+)+b$", "aab"},
                                                           {"(a|aa)+c", "aac"},
                                                           {"^(a|a?)+b$", "aab"},
                                                           {"(.*a){20}b", "aaaaaaaaaaaaaaaaaaaab"},
                                                           {"(\\w+\\s?)*#", "a b #"}};
    for (const auto& [p, yes] : hostile) {
        auto rx = Regex::compile(p, false, "C");
        ASSERT_TRUE(rx.ok()) << p << ": " << rx.error().message;
        EXPECT_FALSE((*rx)->search(std::string(20000, 'a'))) << p;
        EXPECT_TRUE((*rx)->search(yes)) << p;
    }
}

TEST(PgSemanticsTest, TranslatesAreSyntaxToRe2) {
    using namespace pgsem;
    auto tr = [](std::string_view p, bool ascii = true) {
        auto t = translate_are(p, false, ascii);
        return t ? t->pattern : "error: " + t.error().message;
    };
    // Word bounds next to a literal word character, \Z, \B (backslash), ARE escapes.
    EXPECT_EQ(tr("\\mab\\M\\Z\\B"), "\\bab\\b\\z\\\\");
    EXPECT_EQ(tr("\\yx\\Y"), "\\bx\\B");
    EXPECT_EQ(tr("\\x41\\u00e9\\U0001F600\\012\\cA\\e"),
              "A\xc3\xa9\xf0\x9f\x98\x80\\x{a}\\x{1}\\x{1b}");
    // \d \s \w over ASCII under C, Unicode otherwise; classes inside brackets lose theirs.
    EXPECT_EQ(tr("\\d\\S[\\w-]"), "[0-9][^\\x{9}-\\x{D} ][0-9A-Za-z_\\-]");
    EXPECT_EQ(tr("\\w[[:alpha:]]", false), "[\\p{L}\\p{Nl}\\p{Nd}_][\\p{L}\\p{Nl}]");
    EXPECT_EQ(tr("[[:upper:]]"), "[[:upper:]]");
    // A leading ] is literal; {, } without a bound are literal; [[.x.]] is x.
    EXPECT_EQ(tr("[]a^$]$"), "[\\]a\\^\\$]$");
    EXPECT_EQ(tr("a{2,3}b{c}"), "a{2,3}b\\{c\\}");
    EXPECT_EQ(tr("[[.-.][=e=]]"), "[\\-e]");
    // Options: expanded mode drops blanks and comments; n makes ^ $ line anchors and keeps
    // [^…] from crossing a newline; ***= is a literal.
    auto o = translate_are("(?ix)a b # note\nc", false, true);
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->case_insensitive);
    EXPECT_EQ(o->pattern, "[aA][bB][cC]");
    auto n = translate_are("(?n)^[^a]$", false, true);
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(n->newline_sensitive);
    EXPECT_EQ(n->pattern, "(?m)^[^a\\n]$");
    EXPECT_EQ(tr("***=a.(b"), "a\\.\\(b");
    // ~* under C folds ASCII letters only: in the pattern, RE2 then matching case-sensitively.
    auto folded = translate_are("k[a-c_]", true, true);
    ASSERT_TRUE(folded.ok());
    EXPECT_EQ(folded->pattern, "[kK][a-cA-C_]");

    // What RE2 cannot do is refused, and the refusal names the rewrite.
    auto refused = [&](std::string_view p, std::string_view fix, bool ascii = true) {
        auto t = translate_are(p, false, ascii);
        ASSERT_FALSE(t.ok()) << p;
        EXPECT_NE(t.error().message.find(fix), std::string::npos) << t.error().message;
    };
    refused("(a)\\1", "write the repeated text out (e.g. (ab)ab for (ab)\\1)");
    refused("a(?=b)", "e.g. a[^b] for a(?!b)");
    refused("(?<!a)b", "e.g. [^a]b for (?<!a)b");
    refused("\\m(ab)", "(^|[^[:alnum:]_])word for \\mword");
    refused("x\\yab", "at the start or end of the pattern", false);
    // Under a non-C collation a word bound at an end of a top-level alternative is a class.
    EXPECT_EQ(tr("\\mab\\M|c", false),
              "(?:\\A|[^\\p{L}\\p{Nl}\\p{Nd}_])ab(?:[^\\p{L}\\p{Nl}\\p{Nd}_]|\\z)|c");
    refused("[[:graph:]]", "list the characters", false);
    refused("[[.space.]]", "write the character itself");
    refused("(?p)a", "(?n) or no option");
}

TEST(PgSemanticsTest, Re2MatchesLikePostgresOnClassesAndNewlines) {
    using namespace pgsem;
    auto matches = [](std::string_view p, std::string_view text, bool icase = false,
                      const std::string& ctype = "C") {
        auto rx = Regex::compile(p, icase, ctype);
        EXPECT_TRUE(rx.ok()) << p << ": " << rx.error().message;
        return rx.ok() && (*rx)->search(text);
    };
    EXPECT_TRUE(matches("a.c", "a\nc"));              // . crosses newlines by default
    EXPECT_FALSE(matches("(?n)a.c", "a\nc"));         // …not in newline-sensitive mode
    EXPECT_TRUE(matches("(?n)^b$", "a\nb\nc"));       // ^ $ at lines there
    EXPECT_FALSE(matches("^b$", "a\nb\nc"));          // at the text's ends otherwise
    EXPECT_FALSE(matches("abc$", "abc\n"));           // $ is not "before a final newline"
    EXPECT_TRUE(matches("\\s", "\v"));                // Postgres's \s includes \v (RE2's does not)
    EXPECT_FALSE(matches("[[:alpha:]]", "\xc3\xa9")); // C: ASCII classes only
    EXPECT_TRUE(matches("[[:alpha:]]", "\xc3\xa9", false, "C.UTF-8"));
    EXPECT_TRUE(matches("[[:upper:]]", "a", true));                // ~* folds upper into alpha
    EXPECT_FALSE(matches("k", "\xe2\x84\xaa", true));              // not the Kelvin sign under C
    EXPECT_FALSE(matches("k", "\xe2\x84\xaa", true, "C.UTF-8"));   // k's cases are k, K
    EXPECT_TRUE(matches("\xc3\xa9", "\xc3\x89", true, "C.UTF-8")); // é ~* É
    EXPECT_TRUE(matches("[\xc3\xa0-\xc3\xa9]", "\xc3\x89", true, "C.UTF-8"));
    EXPECT_TRUE(matches("\\mcat\\M", "a cat."));
    EXPECT_FALSE(matches("\\mcat\\M", "cats"));
    EXPECT_TRUE(matches("\\ycat\\y", "a cat.", false, "C.UTF-8"));
    EXPECT_FALSE(matches("\\ycat\\y",
                         "\xc3\xa9"
                         "cat",
                         false, "C.UTF-8")); // é is a word character
    EXPECT_TRUE(matches("\\ycat\\y",
                        "\xc3\xa9"
                        "cat",
                        false, "C")); // …not under C
}

} // namespace
} // namespace walcast::core
