// The proof of "Postgres semantics": for a table with many column types and rows (NULLs,
// quoted strings, NaN, timestamps across zones, collation-sensitive text, regexes), every
// operator with and without `not.` is evaluated by walcast (CompiledFilter compiled with
// PgValueNormalizer, tuples built from the rows' text output) and by Postgres in SQL; the
// sets of matching rows must be equal. Also checks that subscribe-time errors carry
// Postgres's own messages.
#include "core/filter/filter.hpp"
#include "protocol/supabase/filter_grammar.hpp"
#include "protocol/supabase/messages.hpp"
#include "support/test_postgres.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

// glibc's newlocale() leaks its copy of LOCPATH (argz) on every call when LOCPATH is set,
// which only this test does; not walcast's memory.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:__argz_add_sep\n";
}

namespace walcast::testing {
namespace {

namespace fs = std::filesystem;
using core::CompiledFilter;
using core::FilterCondition;
using core::FilterOp;

/// Builds en_US.UTF-8 into a private LOCPATH (inherited by the test Postgres, which starts
/// after this) so that a libc collation with non-bytewise order can be tested. Returns false
/// when the locale sources (Debian package `locales`) are not installed.
bool prepare_locale() {
    static int state = -1;
    if (state >= 0) return state == 1;
    state = 0;
    if (!fs::exists("/usr/share/i18n/locales/en_US")) return false;
    fs::path dir = fs::temp_directory_path() / "walcast-filter-locales";
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::all, fs::perm_options::add);
    if (!fs::exists(dir / "en_US.UTF-8" / "LC_COLLATE")) {
        std::string cmd =
            "localedef -i en_US -f UTF-8 " + (dir / "en_US.UTF-8").string() + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0 && !fs::exists(dir / "en_US.UTF-8" / "LC_COLLATE"))
            return false;
    }
    ::setenv("LOCPATH", dir.c_str(), 1);
    state = 1;
    return true;
}

struct Column {
    std::string name;
    std::string sql_type;
    std::vector<std::optional<std::string>> pool; ///< values rows cycle through
};

std::vector<Column> columns(bool with_locale, bool with_citext) {
    using V = std::vector<std::optional<std::string>>;
    const auto N = std::nullopt;
    std::vector<Column> cols = {
        {"i4", "int4", V{"0", "1", "-1", "42", "2147483647", "-2147483648", "7", N}},
        {"i8", "int8", V{"0", "9007199254740993", "-5", "100", N}},
        {"i2", "int2", V{"1", "-32768", "32767", N}},
        {"num", "numeric",
         V{"1", "1.0", "1.00", "-0.5", "NaN", "Infinity", "-Infinity", "123456789.123456789", "0",
           N}},
        {"f8", "float8",
         V{"0", "-0", "1.5", "NaN", "Infinity", "-Infinity", "0.1", "1e300", "-2.5", N}},
        {"f4", "float4", V{"0.1", "1.5", "NaN", "-Infinity", "3.4e38", N}},
        {"b", "bool", V{"true", "false", N}},
        {"tx", "text",
         V{"a", "B", "b", "é", "abc", "ABC", "a_b", "50%", "back\\slash", "quote\"d", "comma,here",
           "x abc y", "line\nbreak", "Été", "été", "", "  padded  ", "e\u0301", N}},
        {"vc", "varchar(20)", V{"alpha", "Beta", "gamma", "a%b", N}},
        {"bp", "char(5)", V{"ab", "ab   ", "abc", " ab", N}},
        {"nm", "name", V{"name1", "Name2", "n", N}},
        {"ts", "timestamp",
         V{"2024-01-02 03:04:05", "2024-01-02 03:04:05.123456", "1999-12-31 23:59:59", "infinity",
           "-infinity", "0044-03-15 12:00:00 BC", N}},
        {"tstz", "timestamptz",
         V{"2024-01-02 03:04:05+00", "2024-01-02 05:04:05+02", "2024-01-01 22:04:05-05",
           "2023-06-01 00:00:00+05:30", "infinity", "2024-01-02 03:04:05.5+00", N}},
        {"d", "date",
         V{"2024-01-02", "0001-01-01", "0001-12-31 BC", "infinity", "-infinity", "2000-02-29", N}},
        {"tm", "time", V{"00:00:00", "12:30:00", "23:59:59.999999", "24:00:00", "12:00:00", N}},
        {"ttz", "timetz",
         V{"12:00:00+00", "14:00:00+02", "11:00:00-01", "12:00:00+05:30", "06:30:00+00", N}},
        {"iv", "interval",
         V{"1 mon", "30 days", "720:00:00", "1 year", "-1 days", "00:00:01.5", "1 day -00:00:01",
           "-1 mons +29 days", N}},
        {"u", "uuid",
         V{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
           "ffffffff-ffff-ffff-ffff-ffffffffffff", N}},
        {"by", "bytea", V{"\\x6162", "\\x00ff", "\\x", "\\x616263", N}},
        {"mo", "mood", V{"sad", "ok", "happy", N}},
        {"jb", "jsonb", V{"{\"a\": 1}", "{\"b\": [1, 2], \"a\": null}", "[]", "\"str\"", N}},
        {"arr", "int4[]", V{"{1,2}", "{2,1}", "{}", "{NULL,3}", N}},
        {"ip", "inet", V{"192.168.0.1/24", "10.0.0.1", "::1", N}},
    };
    if (with_locale)
        cols.push_back({"tx_en", "text COLLATE en",
                        V{"a", "B", "b", "é", "e", "f", "Z", "z", "ab", "a b", "É", N}});
    if (with_citext)
        cols.push_back({"ci", "citext", V{"Hello", "hello", "HELLO", "world", "É", "é", N}});
    return cols;
}

constexpr int row_count = 97;

/// `column=[not.]op.value`, quoting the value when the grammar needs it.
std::string filter_text(const std::string& col, const std::string& op, const std::string& value,
                        bool negate) {
    return col + "=" + (negate ? "not." : "") + op + "." + value;
}

struct Case {
    std::string column;
    std::string op;
    std::string value; ///< as written in the filter string
};

std::vector<Case> cases(bool with_locale, bool with_citext) {
    std::vector<Case> c = {
        {"i4", "eq", "1"},
        {"i4", "eq", "01"},
        {"i4", "neq", "1"},
        {"i4", "lt", "7"},
        {"i4", "lte", "7"},
        {"i4", "gt", "0"},
        {"i4", "gte", "42"},
        {"i4", "in", "(1,7,42)"},
        {"i4", "in", "(1,null)"},
        {"i4", "in", "()"},
        {"i4", "isdistinct", "1"},
        {"i4", "is", "null"},
        {"i4", "eq", " 7 "},
        {"i8", "eq", "9007199254740993"},
        {"i8", "gt", "0"},
        {"i8", "in", "(100,-5)"},
        {"i2", "lt", "0"},
        {"i2", "eq", "32767"},
        {"num", "eq", "1"},
        {"num", "eq", "1.000"},
        {"num", "gt", "1"},
        {"num", "lt", "0"},
        {"num", "eq", "NaN"},
        {"num", "gt", "Infinity"},
        {"num", "lte", "-Infinity"},
        {"num", "in", "(1.0,NaN)"},
        {"num", "isdistinct", "1"},
        {"num", "gte", "123456789.1234567891"},
        {"f8", "eq", "0"},
        {"f8", "eq", "-0"},
        {"f8", "eq", "NaN"},
        {"f8", "gt", "1"},
        {"f8", "lt", "Infinity"},
        {"f8", "gte", "NaN"},
        {"f8", "in", "(0.1,1.5)"},
        {"f8", "eq", "1e300"},
        {"f8", "lt", "-1e308"},
        {"f4", "eq", "0.1"},
        {"f4", "gt", "1"},
        {"f4", "eq", "NaN"},
        {"f4", "lt", "3.4e38"},
        {"b", "eq", "true"},
        {"b", "eq", "f"},
        {"b", "lt", "true"},
        {"b", "is", "true"},
        {"b", "is", "false"},
        {"b", "is", "unknown"},
        {"b", "isdistinct", "true"},
        {"b", "in", "(t)"},
        {"tx", "eq", "a"},
        {"tx", "eq", "é"},
        {"tx", "lt", "b"},
        {"tx", "gte", "abc"},
        {"tx", "neq", "a"},
        {"tx", "isdistinct", "a"},
        {"tx", "is", "null"},
        {"tx", "like", "a%"},
        {"tx", "like", "a\\_b"},
        {"tx", "like", "50\\%"},
        {"tx", "like", "%\\\\%"},
        {"tx", "like", "__"},
        {"tx", "like", "%"},
        {"tx", "like", "e_"},
        {"tx", "ilike", "A%"},
        {"tx", "ilike", "été"},
        {"tx", "ilike", "%B%"},
        {"tx", "match", "^a"},
        {"tx", "match", "b$"},
        {"tx", "match", "a.c"},
        {"tx", "match", "\\yabc\\y"},
        {"tx", "match", "[[:upper:]]"},
        {"tx", "match", "[[:alpha:]]{3}"},
        {"tx", "imatch", "^abc"},
        {"tx", "imatch", "ÉTÉ"},
        {"tx", "match", "(?i)abc"},
        {"tx", "match", "***=a_b"},
        {"tx", "match", "line.break"},
        {"tx", "match", "^line$"},
        {"tx", "match", "k$"},
        {"tx", "match", "^$"},
        {"tx", "match", "\\d+%"},
        {"tx", "match", "a|B"},
        {"tx", "match", "^(a|b)+$"},
        {"tx", "match", "\\mabc"},
        {"tx", "match", "c\\M"},
        {"tx", "match", "\\\\"},
        {"tx", "in", "(a,b,\"comma,here\")"},
        {"tx", "in", "(\"quote\\\"d\", B)"},
        {"tx", "eq", "\"quote\\\"d\""},
        {"tx", "eq", "\"comma,here\""},
        {"tx", "eq", "\"  padded  \""},
        {"tx", "eq", "back\\slash"},
        {"tx", "eq", ""},
        {"tx", "gt", "\"\""},
        {"vc", "like", "a%"},
        {"vc", "eq", "alpha"},
        {"vc", "lt", "b"},
        {"vc", "match", "^[a-z]+$"},
        {"vc", "ilike", "beta"},
        {"vc", "like", "a\\%b"},
        {"bp", "eq", "ab"},
        {"bp", "eq", "\"ab   \""},
        {"bp", "like", "ab"},
        {"bp", "like", "ab%"},
        {"bp", "lt", "abc"},
        {"bp", "match", "b$"},
        {"bp", "in", "(ab,abc)"},
        {"bp", "eq", "\" ab\""},
        {"nm", "eq", "name1"},
        {"nm", "lt", "n"},
        {"nm", "like", "N%"},
        {"nm", "gt", "N"},
        {"ts", "eq", "2024-01-02 03:04:05"},
        {"ts", "gt", "2000-01-01"},
        {"ts", "lt", "-infinity"},
        {"ts", "eq", "infinity"},
        {"ts", "lt", "0001-01-01"},
        {"ts", "gte", "2024-01-02T03:04:05.123456"},
        {"ts", "in", "(1999-12-31 23:59:59,infinity)"},
        {"tstz", "eq", "2024-01-02T03:04:05Z"},
        {"tstz", "eq", "2024-01-02 05:04:05+02"},
        {"tstz", "lt", "2024-01-01"},
        {"tstz", "gt", "2023-06-01 00:00:00+05:30"},
        {"tstz", "eq", "infinity"},
        {"tstz", "lte", "2024-01-02 03:04:05.4"},
        {"tstz", "in", "(\"2024-01-02 03:04:05+00\",infinity)"},
        {"d", "eq", "2024-01-02"},
        {"d", "lt", "0001-01-01"},
        {"d", "gt", "2000-02-28"},
        {"d", "eq", "-infinity"},
        {"d", "in", "(2024-01-02,2000-02-29)"},
        {"d", "gte", "Jan 2 2024"},
        {"tm", "lt", "12:00"},
        {"tm", "eq", "24:00:00"},
        {"tm", "gte", "23:59:59.999999"},
        {"tm", "eq", "12:00:00"},
        {"ttz", "eq", "12:00:00+00"},
        {"ttz", "eq", "14:00:00+02"},
        {"ttz", "gt", "12:00:00+00"},
        {"ttz", "lt", "12:00:00+05:30"},
        {"ttz", "gte", "12:00"},
        {"iv", "eq", "30 days"},
        {"iv", "eq", "1 mon"},
        {"iv", "gt", "1 day"},
        {"iv", "lt", "0"},
        {"iv", "lte", "00:00:01.5"},
        {"iv", "eq", "@ 1 mon"},
        {"iv", "gt", "-1 mons +29 days"},
        {"u", "eq", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
        {"u", "gt", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {"u", "in", "(00000000-0000-0000-0000-000000000000,ffffffff-ffff-ffff-ffff-ffffffffffff)"},
        {"by", "eq", "\\x6162"},
        {"by", "like", "a%"},
        {"by", "gt", "\\x00"},
        {"by", "is", "null"},
        {"by", "like", "\\x25"},
        {"by", "lt", "ab"},
        {"mo", "eq", "ok"},
        {"mo", "gt", "sad"},
        {"mo", "lt", "happy"},
        {"mo", "in", "(sad,happy)"},
        {"jb", "eq", "{\"a\":1}"},
        {"jb", "neq", "[]"},
        {"jb", "in", "(\"[]\")"},
        {"jb", "isdistinct", "{\"a\":1}"},
        {"jb", "eq", "\"\\\"str\\\"\""},
        {"jb", "is", "null"},
        {"arr", "eq", "\"{1,2}\""},
        {"arr", "neq", "{}"},
        {"arr", "isdistinct", "\"{NULL,3}\""},
        {"ip", "eq", "10.0.0.1"},
        {"ip", "eq", "10.0.0.1/32"},
        {"ip", "neq", "::1"},
    };
    if (with_locale) {
        for (Case x : std::vector<Case>{{"tx_en", "lt", "b"},
                                        {"tx_en", "gt", "B"},
                                        {"tx_en", "lte", "e"},
                                        {"tx_en", "gte", "Z"},
                                        {"tx_en", "eq", "é"},
                                        {"tx_en", "lt", "ab"},
                                        {"tx_en", "gt", "a"},
                                        {"tx_en", "ilike", "é"},
                                        {"tx_en", "imatch", "^é"},
                                        {"tx_en", "match", "[[:upper:]]"},
                                        {"tx_en", "in", "(É,z)"}})
            c.push_back(x);
    }
    if (with_citext) {
        for (Case x : std::vector<Case>{{"ci", "eq", "hello"},
                                        {"ci", "lt", "i"},
                                        {"ci", "like", "hel%"},
                                        {"ci", "match", "^h"},
                                        {"ci", "gt", "HELLO"},
                                        {"ci", "in", "(WORLD)"},
                                        {"ci", "neq", "é"},
                                        {"ci", "ilike", "É"}})
            c.push_back(x);
    }
    return c;
}

/// The SQL Postgres evaluates for one parsed condition; $1 is the value.
std::string sql_condition(const FilterCondition& f, const std::string& sql_type) {
    std::string col = "\"" + f.column + "\"";
    std::string expr;
    switch (f.op) {
    case FilterOp::Eq:
        expr = col + " = $1::" + sql_type;
        break;
    case FilterOp::Neq:
        expr = col + " <> $1::" + sql_type;
        break;
    case FilterOp::Lt:
        expr = col + " < $1::" + sql_type;
        break;
    case FilterOp::Lte:
        expr = col + " <= $1::" + sql_type;
        break;
    case FilterOp::Gt:
        expr = col + " > $1::" + sql_type;
        break;
    case FilterOp::Gte:
        expr = col + " >= $1::" + sql_type;
        break;
    case FilterOp::In:
        expr = col + " = ANY($1::" + sql_type + "[])";
        break;
    case FilterOp::Like:
        expr = col + (sql_type == "bytea" ? " LIKE $1::bytea" : " LIKE $1");
        break;
    case FilterOp::Ilike:
        expr = col + " ILIKE $1";
        break;
    case FilterOp::Match:
        expr = col + " ~ $1";
        break;
    case FilterOp::Imatch:
        expr = col + " ~* $1";
        break;
    case FilterOp::Is: {
        std::string kw = f.value == "null"    ? "NULL"
                         : f.value == "true"  ? "TRUE"
                         : f.value == "false" ? "FALSE"
                                              : "UNKNOWN";
        return col + (f.negate ? " IS NOT " : " IS ") + kw;
    }
    case FilterOp::IsDistinct:
        return col + (f.negate ? " IS NOT DISTINCT FROM $1::" : " IS DISTINCT FROM $1::") +
               sql_type;
    }
    return f.negate ? "NOT (" + expr + ")" : expr;
}

class FilterVsPostgresTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        with_locale_ = prepare_locale();
        conn_ = new pg::Connection(connect_test_db());
        auto has_citext =
            conn_->exec("SELECT 1 FROM pg_available_extensions WHERE name = 'citext'");
        with_citext_ = has_citext && PQntuples(has_citext->get()) == 1;
        std::string setup = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');";
        if (with_citext_) setup += "CREATE EXTENSION IF NOT EXISTS citext;";
        if (with_locale_) {
            auto r = conn_->exec_script("CREATE COLLATION en (locale = 'en_US.UTF-8')");
            if (!r) {
                std::fprintf(stderr,
                             "en_US.UTF-8 not usable by Postgres (%s); skipping the "
                             "collation column\n",
                             r.error().message.c_str());
                with_locale_ = false;
            }
        }
        cols_ = columns(with_locale_, with_citext_);
        setup += "CREATE TABLE t (id int PRIMARY KEY";
        for (const auto& c : cols_)
            setup += ", \"" + c.name + "\" " + c.sql_type;
        setup += ")";
        sql(*conn_, setup);
        // Rows cycle through each column's pool with a different stride per column, so values
        // meet in many combinations.
        std::string insert = "INSERT INTO t VALUES ($1";
        for (std::size_t i = 0; i < cols_.size(); ++i)
            insert += ", $" + std::to_string(i + 2);
        insert += ")";
        for (int r = 0; r < row_count; ++r) {
            std::vector<std::optional<std::string>> params{std::to_string(r)};
            for (std::size_t i = 0; i < cols_.size(); ++i) {
                const auto& pool = cols_[i].pool;
                params.push_back(
                    pool[(static_cast<std::size_t>(r) * (2 * i + 1) + i) % pool.size()]);
            }
            auto res = conn_->exec(insert, params);
            ASSERT_TRUE(res.ok()) << res.error().message;
        }
        load_relation();
        load_rows();
    }

    static void TearDownTestSuite() {
        delete conn_;
        conn_ = nullptr;
    }

    static void load_relation() {
        auto r = conn_->exec(
            "SELECT a.attname, a.atttypid, t.typname, t.typtype, coalesce(co.collname, ''), "
            "t.typelem, format_type(a.atttypid, NULL) "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            "WHERE a.attrelid = 't'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum");
        ASSERT_TRUE(r.ok()) << r.error().message;
        rel_.schema = "public";
        rel_.table = "t";
        for (int i = 0; i < PQntuples(r->get()); ++i) {
            auto f = [&](int c) { return std::string(*r->text(i, c)); };
            capture::Column col;
            col.name = f(0);
            col.type.oid = static_cast<pg::Oid>(std::stoul(f(1)));
            col.type.name = f(2);
            col.type.element_oid = static_cast<pg::Oid>(std::stoul(f(5)));
            if (f(3) == "e")
                col.type.kind = pg::TypeKind::Enum;
            else if (col.type.name[0] == '_')
                col.type.kind = pg::TypeKind::Array;
            else
                col.type.kind = pg::kind_from_typname(col.type.name);
            col.collation = f(4) == "default" ? "" : f(4);
            col.is_primary_key = col.name == "id";
            rel_.columns.push_back(col);
            sql_types_[col.name] = f(6);
        }
    }

    static void load_rows() {
        auto r = conn_->exec("SELECT * FROM t ORDER BY id");
        ASSERT_TRUE(r.ok()) << r.error().message;
        for (int i = 0; i < PQntuples(r->get()); ++i) {
            pg::Tuple t;
            for (int c = 0; c < PQnfields(r->get()); ++c) {
                auto v = r->text(i, c);
                if (v)
                    t.push_value(*v);
                else
                    t.push_null();
            }
            ids_.push_back(std::stoi(std::string(*r->text(i, 0))));
            rows_.push_back(std::move(t));
        }
    }

    /// Rows Postgres selects for the conditions (ANDed), or the error it raises.
    static core::SqlResult<std::set<int>> postgres_ids(const std::vector<FilterCondition>& conds) {
        std::string where;
        std::vector<std::optional<std::string>> params;
        for (const auto& f : conds) {
            std::string c = sql_condition(f, sql_types_[f.column]);
            // Renumber $1 for each condition.
            std::string n = "$" + std::to_string(params.size() + 1);
            for (auto p = c.find("$1"); p != std::string::npos; p = c.find("$1", p + n.size()))
                c.replace(p, 2, n);
            if (c.find(n) != std::string::npos) params.push_back(f.value);
            where += (where.empty() ? "" : " AND ") + ("(" + c + ")");
        }
        auto r = conn_->exec("SELECT id FROM t WHERE " + where + " ORDER BY id", params);
        if (!r) return core::SqlError{"", r.error().message};
        std::set<int> out;
        for (int i = 0; i < PQntuples(r->get()); ++i)
            out.insert(std::stoi(std::string(*r->text(i, 0))));
        return out;
    }

    static std::set<int> walcast_ids(const CompiledFilter& f) {
        std::set<int> out;
        for (std::size_t i = 0; i < rows_.size(); ++i)
            if (f.matches(rel_, rows_[i])) out.insert(ids_[i]);
        return out;
    }

    static std::string show(const std::set<int>& s) {
        std::ostringstream o;
        for (int i : s)
            o << i << ' ';
        return o.str();
    }

    /// Compiles and compares one filter string; returns false on a mismatch.
    static bool compare(const std::string& filter, core::ValueNormalizer& norm, int& compared) {
        auto conds = protocol::supabase::parse_filter(filter);
        EXPECT_TRUE(conds.ok()) << filter << ": " << (conds.ok() ? "" : conds.error().message);
        if (!conds) return false;
        auto expected = postgres_ids(*conds);
        auto compiled = CompiledFilter::compile(*conds, rel_, norm);
        if (!expected) {
            // Postgres cannot evaluate it: walcast must refuse it at compile time.
            EXPECT_FALSE(compiled.ok()) << filter << ": Postgres fails ("
                                        << expected.error().message << ") but walcast compiled it";
            return !compiled.ok();
        }
        if (!compiled) {
            ADD_FAILURE() << filter << ": Postgres evaluates it but walcast refused: "
                          << compiled.error().describe();
            return false;
        }
        ++compared;
        auto got = walcast_ids(*compiled);
        EXPECT_EQ(got, *expected) << filter << "\n  walcast:  " << show(got)
                                  << "\n  postgres: " << show(*expected);
        return got == *expected;
    }

    static inline pg::Connection* conn_ = nullptr;
    static inline bool with_locale_ = false;
    static inline bool with_citext_ = false;
    static inline std::vector<Column> cols_;
    static inline capture::Relation rel_;
    static inline std::map<std::string, std::string> sql_types_;
    static inline std::vector<pg::Tuple> rows_;
    static inline std::vector<int> ids_;
};

TEST_F(FilterVsPostgresTest, EveryOperatorWithAndWithoutNotMatchesPostgres) {
    auto norm_conn = connect_test_db();
    core::PgValueNormalizer norm(norm_conn);
    int compared = 0, mismatches = 0, total = 0;
    std::set<std::string> ops_seen;
    for (const auto& c : cases(with_locale_, with_citext_)) {
        for (bool negate : {false, true}) {
            std::string f = filter_text(c.column, c.op, c.value, negate);
            ++total;
            if (!compare(f, norm, compared)) ++mismatches;
            ops_seen.insert(c.op);
        }
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(ops_seen.size(), 13u) << "every operator is exercised";
    // Only the cases Postgres itself rejects (and walcast refuses) are not compared.
    EXPECT_GE(compared, total - 4) << "most cases were evaluated, not refused";
    std::printf("compared %d of %d filters over %zu rows (collation column: %s, citext: %s)\n",
                compared, total, rows_.size(), with_locale_ ? "yes" : "no",
                with_citext_ ? "yes" : "no");
}

TEST_F(FilterVsPostgresTest, AndedConditionsMatchPostgres) {
    auto norm_conn = connect_test_db();
    core::PgValueNormalizer norm(norm_conn);
    int compared = 0;
    for (const char* f :
         {"i4=gt.0,tx=like.a%", "b=is.true,num=not.eq.NaN",
          "tstz=lt.2024-01-02,d=not.is.null,mo=in.(ok,happy)", "f8=not.gt.1,f8=not.lt.-1",
          "tx=not.match.^a,tx=not.is.null,i2=lt.32767"}) {
        EXPECT_TRUE(compare(f, norm, compared)) << f;
    }
    EXPECT_EQ(compared, 5);
}

TEST_F(FilterVsPostgresTest, SubscribeTimeErrorsCarryPostgresMessages) {
    auto norm_conn = connect_test_db();
    core::PgValueNormalizer norm(norm_conn);
    auto err = [&](const std::string& filter) {
        auto conds = protocol::supabase::parse_filter(filter);
        EXPECT_TRUE(conds.ok()) << filter;
        auto c = CompiledFilter::compile(*conds, rel_, norm);
        EXPECT_FALSE(c.ok()) << filter << " compiled";
        return c.ok() ? core::SqlError{} : protocol::supabase::realtime_filter_error(c.error());
    };
    auto cast = err("i4=eq.abc");
    EXPECT_EQ(cast.sqlstate, "22P02");
    EXPECT_EQ(cast.message, "invalid input syntax for type integer: \"abc\"");
    auto in_cast = err("i4=in.(1,x)");
    EXPECT_EQ(in_cast.sqlstate, "22P02");
    EXPECT_EQ(in_cast.message, "invalid input syntax for type integer: \"x\"");
    auto malformed = err("i4=in.(1,\"2)");
    EXPECT_EQ(malformed.sqlstate, "22P02");
    EXPECT_EQ(malformed.message.rfind("malformed array literal", 0), 0u) << malformed.message;
    EXPECT_FALSE(malformed.detail.empty());
    auto regex = err("tx=match.(a");
    EXPECT_EQ(regex.sqlstate, "P0001");
    EXPECT_EQ(regex.message, "invalid regular expression for match filter: invalid regular "
                             "expression: parentheses () not balanced");
    auto type = err("i4=like.1%");
    EXPECT_EQ(type.message, "operator like requires a text-compatible column type, got integer");
    auto is = err("tx=is.true");
    EXPECT_EQ(is.message, "is true filter requires a boolean column, got text");
    auto enum_value = err("mo=eq.angry");
    EXPECT_EQ(enum_value.sqlstate, "22P02");
    EXPECT_EQ(enum_value.message, "invalid input value for enum mood: \"angry\"");
    std::string many = "i4=in.(";
    for (int i = 0; i <= 100; ++i)
        many += (i ? "," : "") + std::to_string(i);
    EXPECT_EQ(err(many + ")").message, "too many values for `in` filter. Maximum 100");
    EXPECT_EQ(err("nope=eq.1").message, "invalid column for filter nope");
    EXPECT_EQ(err("jb=gt.1").sqlstate, "0A000");
}

} // namespace
} // namespace walcast::testing
