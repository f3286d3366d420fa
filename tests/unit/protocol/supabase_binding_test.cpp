// Binding objects (spec §5.1, §5.6) and the exact `system` error texts built from them
// (§3.5, §5.4), including the Elixir `inspect` renderings users match on.
#include "protocol/supabase/binding.hpp"
#include "protocol/supabase/elixir_inspect.hpp"
#include "protocol/supabase/messages.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace walcast::protocol::supabase {
namespace {

using core::BindingSpec;
using core::EventFilter;
using core::FilterCondition;
using core::FilterOp;
using SqlError = pg::PgError;

// The select check as a Supabase join reports it.
std::optional<pg::PgError>
check_select_columns(const BindingSpec& b, const capture::Relation& rel,
                     const std::unordered_set<std::string>* readable = nullptr) {
    auto col = core::missing_select_column(b, rel, readable);
    if (!col) return std::nullopt;
    return realtime_select_error(*col);
}

boost::json::object obj(std::string_view json) {
    return boost::json::parse(json).as_object();
}

BindingSpec parse_ok(std::string_view json) {
    auto r = parse_binding(obj(json));
    EXPECT_TRUE(r.ok()) << json << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : BindingSpec{};
}

std::string parse_err(std::string_view json) {
    auto r = parse_binding(obj(json));
    EXPECT_FALSE(r.ok()) << json << " parsed";
    return r.ok() ? "" : r.error().message;
}

const std::string no_params = "No subscription params provided. Please provide at least a "
                              "`schema` or `table` to subscribe to: ";

TEST(BindingSpecTest, AcceptsTheFourShapes) {
    auto a = parse_ok(R"({"event":"*","schema":"public","table":"todos","filter":"id=eq.1"})");
    EXPECT_EQ(a.schema, "public");
    EXPECT_EQ(a.table, "todos");
    ASSERT_EQ(a.filters.size(), 1u);
    EXPECT_EQ(a.filters[0], (FilterCondition{"id", FilterOp::Eq, "1", false}));

    auto b = parse_ok(R"({"schema":"public","table":"todos"})");
    EXPECT_EQ(b.table, "todos");
    EXPECT_TRUE(b.filters.empty());

    auto c = parse_ok(R"({"schema":"audit"})");
    EXPECT_EQ(c.schema, "audit");
    EXPECT_EQ(c.table, "*");

    auto d = parse_ok(R"({"table":"todos"})");
    EXPECT_EQ(d.schema, "public");
    EXPECT_EQ(d.table, "todos");
}

TEST(BindingSpecTest, EventIsUpperCasedAndAnythingElseMeansAll) {
    EXPECT_EQ(parse_ok(R"({"event":"insert","schema":"s"})").event, EventFilter::Insert);
    EXPECT_EQ(parse_ok(R"({"event":"Update","schema":"s"})").event, EventFilter::Update);
    EXPECT_EQ(parse_ok(R"({"event":"DELETE","schema":"s"})").event, EventFilter::Delete);
    EXPECT_EQ(parse_ok(R"({"event":"upsert","schema":"s"})").event, EventFilter::All);
    EXPECT_EQ(parse_ok(R"({"event":42,"schema":"s"})").event, EventFilter::All);
    EXPECT_EQ(parse_ok(R"({"schema":"s"})").event, EventFilter::All);
}

TEST(BindingSpecTest, EventFilterSelectsChangeKindsAndNeverTruncate) {
    BindingSpec s;
    s.event = EventFilter::Update;
    EXPECT_TRUE(s.matches_event(capture::ChangeKind::Update));
    EXPECT_FALSE(s.matches_event(capture::ChangeKind::Insert));
    s.event = EventFilter::All;
    EXPECT_TRUE(s.matches_event(capture::ChangeKind::Delete));
    EXPECT_FALSE(s.matches_event(capture::ChangeKind::Truncate));
}

TEST(BindingSpecTest, UnacceptedShapesInspectTheParamsMap) {
    EXPECT_EQ(parse_err(R"({"event":"*"})"), no_params + R"(%{"event" => "*"})");
    EXPECT_EQ(parse_err(R"({})"), no_params + "%{}");
    // schema+filter without table; keys print sorted.
    EXPECT_EQ(parse_err(R"({"schema":"public","filter":"id=eq.1","event":"INSERT"})"),
              no_params + R"(%{"event" => "INSERT", "filter" => "id=eq.1", "schema" => "public"})");
    // Non-string values fit no shape and print as Elixir terms.
    EXPECT_EQ(parse_err(R"({"schema":1,"table":null})"),
              no_params + R"(%{"schema" => 1, "table" => nil})");
    EXPECT_EQ(parse_err(R"({"table":["a",true,2.5],"schema":{"x":false}})"),
              no_params + R"(%{"schema" => %{"x" => false}, "table" => ["a", true, 2.5]})");
}

TEST(BindingSpecTest, FilterKeyWithNonStringValueFitsNoShape) {
    EXPECT_EQ(parse_err(R"({"schema":"public","table":"t","filter":null})"),
              no_params + R"(%{"filter" => nil, "schema" => "public", "table" => "t"})");
}

TEST(BindingSpecTest, RedactsParamsWithTokens) {
    EXPECT_EQ(parse_err(R"({"user_token":"secret","event":"*"})"), no_params + "<redacted>");
    EXPECT_EQ(parse_err(R"({"auth_token":"secret"})"), no_params + "<redacted>");
}

TEST(BindingSpecTest, FilterErrorsComeThrough) {
    EXPECT_EQ(parse_err(R"({"schema":"public","table":"t","filter":"wrong"})"),
              "Error parsing `filter` params: [\"wrong\"]");
}

TEST(BindingSpecTest, SelectRules) {
    auto s = parse_ok(R"({"schema":"public","table":"t","select":["title",1,null,"body"]})");
    ASSERT_TRUE(s.select.has_value());
    EXPECT_EQ(*s.select, (std::vector<std::string>{"title", "body"}));
    EXPECT_FALSE(parse_ok(R"({"schema":"public","table":"t","select":[]})").select.has_value());
    EXPECT_FALSE(parse_ok(R"({"schema":"public","table":"t","select":7})").select.has_value());
    const std::string str_err = "Error parsing `select` params: expected a list of column name "
                                "strings, e.g. select: [\"col1\", \"col2\"]";
    EXPECT_EQ(parse_err(R"({"schema":"public","table":"t","select":"title"})"), str_err);
    // The select check comes before the shape check.
    EXPECT_EQ(parse_err(R"({"select":"title"})"), str_err);
    const std::string wildcard = "Column selection is not supported for wildcard subscriptions. "
                                 "Provide an explicit schema and table name.";
    EXPECT_EQ(parse_err(R"({"schema":"public","select":["a"]})"), wildcard);
    EXPECT_EQ(parse_err(R"({"schema":"public","table":"*","select":["a"]})"), wildcard);
}

TEST(BindingSpecTest, RelationMatchingIsExactOrStar) {
    auto all = parse_ok(R"({"schema":"*"})");
    EXPECT_TRUE(all.matches_relation("public", "todos"));
    EXPECT_TRUE(all.matches_relation("private", "notes"));
    auto schema = parse_ok(R"({"schema":"public"})");
    EXPECT_TRUE(schema.matches_relation("public", "todos"));
    EXPECT_FALSE(schema.matches_relation("private", "todos"));
    auto t = parse_ok(R"({"schema":"public","table":"todo_items"})");
    EXPECT_TRUE(t.matches_relation("public", "todo_items"));
    // RT's LIKE would match these; a subscriber gets exactly the table it named.
    EXPECT_FALSE(t.matches_relation("public", "todoXitems"));
    EXPECT_FALSE(t.matches_relation("public", "todo_items2"));
    EXPECT_FALSE(t.matches_relation("other", "todo_items"));
    auto pct = parse_ok(R"({"schema":"public","table":"a%"})");
    EXPECT_TRUE(pct.matches_relation("public", "a%"));
    EXPECT_FALSE(pct.matches_relation("public", "abc"));
}

TEST(BindingSpecTest, UnableToSubscribeMessageMatchesTheSpec) {
    auto s = parse_ok(R"({"event":"*","schema":"public","table":"doesnotexist"})");
    EXPECT_EQ(unable_to_subscribe_message(s),
              "Unable to subscribe to changes with given parameters. Please check Realtime is "
              "enabled for the given connect parameters: [event: *, schema: public, table: "
              "doesnotexist, filters: [], select: nil]");
}

TEST(BindingSpecTest, ExceptionMessageMatchesTheSpec) {
    auto s =
        parse_ok(R"({"event":"*","schema":"public","table":"test","filter":"notacolumn=eq.123"})");
    EXPECT_EQ(
        subscribe_exception_message(s, SqlError{"P0001", "invalid column for filter notacolumn"}),
        "Unable to subscribe to changes with given parameters. An exception happened so "
        "please check your connect parameters: [event: *, schema: public, table: test, "
        "filters: [{\"notacolumn\", \"eq\", \"123\", false}], select: nil]. Exception: "
        "ERROR P0001 (raise_exception) invalid column for filter notacolumn");
}

TEST(BindingSpecTest, ExceptionMessageAppendsHintAndDetailLikePostgrex) {
    BindingSpec b;
    b.event = EventFilter::Insert;
    b.schema = "public";
    b.table = "t";
    b.filters = {{"id", FilterOp::In, "{1", true}};
    b.select = std::vector<std::string>{"id"};
    SqlError e{"22P02", "malformed array literal: \"{1\"", "Unexpected end of input.", "Check it."};
    EXPECT_EQ(subscribe_exception_message(b, e),
              "Unable to subscribe to changes with given parameters. An exception happened so "
              "please check your connect parameters: [event: INSERT, schema: public, table: t, "
              "filters: [{\"id\", \"in\", \"{1\", true}], select: [\"id\"]]. Exception: ERROR "
              "22P02 (invalid_text_representation) malformed array literal: \"{1\"\n\n    hint: "
              "Check it.\n\nUnexpected end of input.");
}

TEST(BindingSpecTest, LongFilterListsPrettyPrintOnePerLine) {
    BindingSpec b;
    b.event = EventFilter::All;
    b.schema = "public";
    b.table = "posts";
    b.filters = {{"title", FilterOp::Eq, "a-long-title-value", false},
                 {"body", FilterOp::Like, "%something long%", false},
                 {"id", FilterOp::Gt, "100", false}};
    EXPECT_EQ(format_params_for_log(b), "event: *, schema: public, table: posts, filters: [\n"
                                        "  {\"title\", \"eq\", \"a-long-title-value\", false},\n"
                                        "  {\"body\", \"like\", \"%something long%\", false},\n"
                                        "  {\"id\", \"gt\", \"100\", false}\n"
                                        "], select: nil");
}

TEST(BindingSpecTest, LongSelectListsFillLines) {
    BindingSpec b;
    b.schema = "public";
    b.table = "t";
    b.select = std::vector<std::string>{};
    for (int i = 1; i <= 12; ++i)
        b.select->push_back(std::string(i < 10 ? "column0" : "column") + std::to_string(i));
    EXPECT_EQ(
        format_params_for_log(b),
        "event: *, schema: public, table: t, filters: [], select: [\"column01\", "
        "\"column02\", \"column03\", \"column04\", \"column05\", \"column06\",\n \"column07\", "
        "\"column08\", \"column09\", \"column10\", \"column11\", \"column12\"]");
}

TEST(BindingSpecTest, SelectColumnsAreChecked) {
    capture::Relation rel;
    capture::Column id;
    id.name = "id";
    id.is_primary_key = id.is_identity_key = true;
    capture::Column title;
    title.name = "title";
    rel.columns = {id, title};
    BindingSpec b;
    b.select = std::vector<std::string>{"title", "nope"};
    auto e = check_select_columns(b, rel);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate, "P0001");
    EXPECT_EQ(e->message, "invalid column for select nope");
    b.select = std::vector<std::string>{"title"};
    EXPECT_FALSE(check_select_columns(b, rel).has_value());
    std::unordered_set<std::string> readable{"id"};
    auto hidden = check_select_columns(b, rel, &readable);
    ASSERT_TRUE(hidden.has_value());
    EXPECT_EQ(hidden->message, "invalid column for select title");
}

TEST(ElixirInspectTest, Strings) {
    using elixir::inspect;
    using elixir::Term;
    EXPECT_EQ(inspect(Term::string("héllo")), "\"héllo\"");
    EXPECT_EQ(inspect(Term::string("a\"b\\c")), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(inspect(Term::string("#{x} #y")), "\"\\#{x} #y\"");
    EXPECT_EQ(inspect(Term::string("a\nb\tc\x1b")), "\"a\\nb\\tc\\e\"");
    EXPECT_EQ(inspect(Term::string("zero\u200bwidth")), "\"zero\\u200Bwidth\"");
    EXPECT_EQ(inspect(Term::string(std::string("a\x01", 2))), "<<97, 1>>");
    EXPECT_EQ(inspect(Term::string("\xff")), "<<255>>");
    // FC is never a UTF-8 lead byte (Erlang's ::utf8 does not match it); the old decoder here
    // read FC 80 80 80 as U+100000 and printed a quoted string.
    EXPECT_EQ(inspect(Term::string("\xfc\x80\x80\x80")), "<<252, 128, 128, 128>>");
    EXPECT_EQ(inspect(Term::string("\xed\xa0\x80")), "<<237, 160, 128>>"); // a surrogate
    std::string long_ascii(5000, 'x');
    EXPECT_EQ(inspect(Term::string(long_ascii)), "\"" + std::string(4096, 'x') + "\" <> ...");
}

TEST(ElixirInspectTest, CollectionsAndLimit) {
    using elixir::Term;
    EXPECT_EQ(elixir::inspect(Term::list({})), "[]");
    EXPECT_EQ(elixir::inspect(Term::tuple({Term::string("a"), Term::boolean(true), Term::nil()})),
              "{\"a\", true, nil}");
    std::vector<Term> many;
    for (int i = 0; i < 60; ++i)
        many.push_back(Term::integer(std::to_string(i)));
    std::string out = elixir::inspect(Term::list(many));
    EXPECT_EQ(out.substr(out.size() - 14), ", 48, 49, ...]");
}

TEST(ElixirInspectTest, FloatsPrintLikeErlang) {
    using elixir::format_float;
    EXPECT_EQ(format_float(1.0), "1.0");
    EXPECT_EQ(format_float(0.1), "0.1");
    EXPECT_EQ(format_float(1.5), "1.5");
    EXPECT_EQ(format_float(-2.25), "-2.25");
    EXPECT_EQ(format_float(100.0), "100.0");
    EXPECT_EQ(format_float(1000.0), "1.0e3");
    EXPECT_EQ(format_float(123456789.0), "123456789.0");
    EXPECT_EQ(format_float(1e20), "1.0e20");
    EXPECT_EQ(format_float(0.0001), "0.0001");
    EXPECT_EQ(format_float(0.00001), "1.0e-5");
    EXPECT_EQ(format_float(1.5e300), "1.5e300");
    EXPECT_EQ(format_float(0.0), "0.0");
}

} // namespace
} // namespace walcast::protocol::supabase
