// Schema building, validation limits, variable and argument coercion, @skip/@include and
// fragment flattening into the resolved selection tree, walcast's custom scalars, introspection.
#include "graphql/introspection.hpp"
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/scalars.hpp"
#include "graphql/sdl.hpp"
#include "graphql/validation.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace walcast::graphql;
namespace json = boost::json;
using walcast::Result;

namespace {

constexpr std::string_view sdl = R"(
scalar BigInt
scalar UUID
enum Status { PENDING PAID }
input StatusFilter { eq: Status, in: [Status!] }
input OrderFilter { status: StatusFilter, limit: Int = 10, and: [OrderFilter!] }
interface Node { id: ID! }
type Customer implements Node { id: ID! name: String orders(limit: Int = 5): [Order!]! }
type Order implements Node { id: ID! total: BigInt status: Status customer: Customer }
union Thing = Customer | Order
type Query {
  orders(filter: OrderFilter, ids: [ID!], first: Int! = 20): [Order!]!
  order(id: UUID!): Order
  node(id: ID!): Node
  things: [Thing!]!
}
)";

std::shared_ptr<const Schema> schema() {
    std::vector<std::pair<std::string, ScalarCoercion>> scalars;
    for (auto& t : walcast_scalars())
        scalars.emplace_back(t.name, t.coercion);
    auto s = build_schema(sdl, scalars);
    EXPECT_TRUE(s) << s.error().message;
    return *s;
}

const Schema& shared_schema() {
    static auto s = schema();
    return *s;
}

Result<PreparedOperation, GraphQLErrors>
prepare(std::string_view query, json::object variables = {}, OperationLimits limits = {}) {
    auto doc = parse(query);
    EXPECT_TRUE(doc) << doc.error().message;
    auto errors = validate(shared_schema(), *doc);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().message);
    return prepare_operation(shared_schema(), *doc, std::nullopt, variables, limits);
}

} // namespace

TEST(GraphqlSchemaTest, RejectsSchemasWithUnknownTypesAndBadImplementations) {
    auto bad = build_schema(
        "type Query { a: Missing } interface I { x: Int } type T implements I { y: Int }");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("Unknown type \"Missing\" referenced by field \"Query.a\""),
              std::string::npos);
    EXPECT_NE(bad.error().message.find("Interface field I.x expected but T does not provide it."),
              std::string::npos);
    EXPECT_FALSE(build_schema("type Q { a: Int }")); // no Query root
    EXPECT_FALSE(build_schema("type Query { a: Int } input In { b: Query }"));
    EXPECT_FALSE(build_schema("{ a }"));
}

TEST(GraphqlSchemaTest, BuildsProgrammaticallyWithWalcastScalars) {
    SchemaBuilder b;
    for (auto& t : walcast_scalars())
        b.add_type(std::move(t));
    NamedType users;
    users.kind = TypeKind::Object;
    users.name = "Users";
    users.fields.push_back(
        FieldDef{"id", std::nullopt, {}, TypeExpr::named("BigInt").non_null(), {}});
    users.fields.push_back(
        FieldDef{"updatedAt", "last change", {}, TypeExpr::named("DateTime"), {}});
    b.add_type(std::move(users));
    NamedType query;
    query.kind = TypeKind::Object;
    query.name = "Query";
    query.fields.push_back(FieldDef{"users",
                                    std::nullopt,
                                    {InputValueDef{"limit", std::nullopt, TypeExpr::named("Int"),
                                                   parse_const_value("10").value(), std::nullopt}},
                                    TypeExpr::parse("[Users!]!").value(),
                                    std::nullopt});
    b.add_type(std::move(query));
    auto s = std::move(b).build();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ((*s)->type("Users")->field("id")->type.to_string(), "BigInt!");
    EXPECT_EQ((*s)->type("Float"), nullptr); // unused built-in scalars are not in the schema
    EXPECT_NE((*s)->type("Int"), nullptr);
    EXPECT_EQ((*s)->type("UUID")->specified_by_url, "https://www.rfc-editor.org/rfc/rfc4122");
}

TEST(GraphqlValidationTest, StopsAtTheErrorLimit) {
    auto s = schema();
    std::string q = "{";
    for (int i = 0; i < 150; ++i)
        q += " f" + std::to_string(i);
    q += " }";
    auto errors = validate(*s, parse(q).value());
    ASSERT_EQ(errors.size(), 101u);
    EXPECT_EQ(errors.back().message,
              "Too many validation errors, error limit reached. Validation aborted.");
}

TEST(GraphqlValidationTest, BoundsTheCostOfFieldMerging) {
    auto s = schema();
    // 1,000 aliases of one response key with sub-selections: half a million pairs naively.
    std::string q = "{";
    for (int i = 0; i < 1000; ++i)
        q += " x: orders { id }";
    q += " }";
    ParseLimits limits;
    limits.max_tokens = 100'000;
    limits.max_fields = 10'000;
    auto doc = parse(q, limits);
    ASSERT_TRUE(doc) << doc.error().message;
    auto errors = validate(*s, *doc);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("more than 200000 field comparisons"), std::string::npos);
    ValidationOptions generous;
    generous.max_merge_comparisons = 10'000'000;
    EXPECT_TRUE(validate(*s, *doc, generous).empty());
}

TEST(GraphqlOperationTest, CoercesVariablesWithDefaultsAndReportsBadValues) {
    auto op =
        prepare("query Q($f: OrderFilter, $n: Int = 3) { orders(filter: $f, first: $n) { id } }",
                json::parse(R"({"f": {"status": {"in": "PAID"}}})").as_object());
    ASSERT_TRUE(op) << op.error().front().message;
    EXPECT_EQ(json::serialize(op->variables),
              R"({"f":{"status":{"in":["PAID"]},"limit":10},"n":3})"); // list coercion, defaults
    const auto& orders = op->root.fields.at(0);
    EXPECT_EQ(json::serialize(orders.arguments),
              R"({"filter":{"status":{"in":["PAID"]},"limit":10},"first":3})");

    auto bad = prepare(
        "query Q($f: OrderFilter, $id: UUID!) { orders(filter: $f) { id } order(id: $id) { id } }",
        json::parse(R"({"f": {"status": {"eq": "LOST"}, "limt": 1}, "id": "nope"})").as_object());
    ASSERT_FALSE(bad);
    ASSERT_EQ(bad.error().size(), 3u);
    EXPECT_EQ(
        bad.error()[0].message,
        "Variable \"$f\" got invalid value \"LOST\" at \"f.status.eq\"; Value \"LOST\" does not "
        "exist in \"Status\" enum.");
    EXPECT_EQ(
        bad.error()[1].message,
        "Variable \"$f\" got invalid value { status: { eq: \"LOST\" }, limt: 1 }; Field \"limt\" "
        "is not defined by type \"OrderFilter\". Did you mean \"limit\"?");
    EXPECT_EQ(
        bad.error()[2].message,
        "Variable \"$id\" got invalid value \"nope\"; UUID cannot represent \"nope\": expected a "
        "UUID such as \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\".");
    EXPECT_EQ(bad.error()[2].locations.at(0), (SourceLocation{1, 26}));

    auto missing = prepare("query Q($id: UUID!) { order(id: $id) { id } }");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error()[0].message,
              "Variable \"$id\" of required type \"UUID!\" was not provided.");
    auto null_value = prepare("query Q($id: UUID!) { order(id: $id) { id } }",
                              json::parse(R"({"id": null})").as_object());
    ASSERT_FALSE(null_value);
    EXPECT_EQ(null_value.error()[0].message,
              "Variable \"$id\" of non-null type \"UUID!\" must not be null.");
}

TEST(GraphqlOperationTest, CustomScalarsCoerceToPostgresTextForms) {
    auto op =
        prepare("query Q($id: UUID!) { order(id: $id) { id } orders(filter: {and: []}) { total } }",
                json::parse(R"({"id": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"})").as_object());
    ASSERT_TRUE(op) << op.error().front().message;
    EXPECT_EQ(op->variables.at("id").as_string(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    auto scalars = walcast_scalars();
    auto find = [&](std::string_view n) -> const ScalarCoercion& {
        for (const auto& t : scalars) {
            if (t.name == n) return t.coercion;
        }
        throw std::logic_error("no scalar");
    };
    EXPECT_FALSE(find("BigInt").parse_value(json::value("9223372036854775808")));
    EXPECT_EQ(find("BigInt").parse_value(json::parse("9007199254740993")).value().as_string(),
              "9007199254740993"); // no rounding through a double
    EXPECT_EQ(find("BigInt").parse_value(json::value("-42")).value().as_string(), "-42");
    EXPECT_EQ(find("BigFloat").parse_value(json::value("-12.50e3")).value().as_string(),
              "-12.50e3");
    EXPECT_FALSE(find("BigFloat").parse_value(json::value("12,5")));
    EXPECT_TRUE(find("DateTime").parse_value(json::value("2026-11-21T09:21:44.403Z")));
    EXPECT_FALSE(find("DateTime").parse_value(json::value("yesterday")));
    EXPECT_TRUE(find("Date").parse_value(json::value("2026-11-21")));
    EXPECT_TRUE(find("Time").parse_value(json::value("09:21:44+02:00")));
    EXPECT_EQ(json::serialize(find("JSON").parse_value(json::parse(R"({"a":[1,true]})")).value()),
              R"({"a":[1,true]})");
}

TEST(GraphqlOperationTest, FlattensFragmentsAndEvaluatesSkipInclude) {
    auto op = prepare(R"(
        query Q($yes: Boolean!, $no: Boolean = false) {
          orders { id ...F ... on Order @include(if: $yes) { status } total @skip(if: $yes) }
          a: node(id: 1) { id ... on Customer { name } ... on Order { total } }
          things { __typename ... on Customer { orders(limit: 2) { id } } }
          orders @include(if: $no) { customer { name } }
        }
        fragment F on Order { customer { name } customer { id } })",
                      json::parse(R"({"yes": true})").as_object());
    ASSERT_TRUE(op) << op.error().front().message;
    const auto& root = op->root.fields;
    ASSERT_EQ(root.size(), 3u);
    const auto& orders = root[0];
    ASSERT_EQ(orders.selections.size(), 1u);
    std::vector<std::string> keys;
    for (const auto& f : orders.selections[0].fields)
        keys.push_back(f.response_key);
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "customer", "status"}));
    const auto& customer = orders.selections[0].fields[1];
    EXPECT_EQ(customer.locations.size(), 2u); // merged from both selections
    ASSERT_EQ(customer.selections.at(0).fields.size(), 2u);
    const auto& node = root[1];
    EXPECT_EQ(node.response_key, "a");
    ASSERT_EQ(node.selections.size(), 2u); // Customer and Order, in schema order
    EXPECT_EQ(node.selections[0].object_type->name, "Customer");
    EXPECT_EQ(node.selections[0].fields.size(), 2u);
    EXPECT_EQ(node.selections[1].fields[1].name, "total");
    const auto& nested = root[2].selections[0].fields.at(1);
    EXPECT_EQ(json::serialize(nested.arguments), R"({"limit":2})");
    EXPECT_EQ(op->root.fields[0].arguments.at("first").as_int64(), 20); // default argument
}

TEST(GraphqlOperationTest, BoundsFragmentExpansion) {
    // Each fragment selects the next one under two fields: 2^12 paths from a small document.
    std::string q = "{ things { ...F0 } } ";
    for (int i = 0; i < 12; ++i) {
        q += "fragment F" + std::to_string(i) + " on Customer { orders { customer { ...F" +
             std::to_string(i + 1) + " } } o2: orders { customer { ...F" + std::to_string(i + 1) +
             " } } } ";
    }
    q += "fragment F12 on Customer { id }";
    auto op = prepare(q);
    ASSERT_FALSE(op);
    EXPECT_NE(op.error()[0].message.find("more than 10000 fields once fragments are expanded"),
              std::string::npos);
}

TEST(GraphqlOperationTest, ChoosesTheOperationByName) {
    auto s = schema();
    auto doc = parse("query A { things { __typename } } query B { __typename }").value();
    auto none = prepare_operation(*s, doc, std::nullopt, {});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error()[0].message,
              "Must provide operation name if query contains multiple operations.");
    auto unknown = prepare_operation(*s, doc, std::string("C"), {});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error()[0].message, "Unknown operation named \"C\".");
    auto b = prepare_operation(*s, doc, std::string("B"), {});
    ASSERT_TRUE(b);
    EXPECT_EQ(*b->name, "B");
    auto result = execute_introspection(*s, *b);
    EXPECT_EQ(json::serialize(result.data), R"({"__typename":"Query"})");
}

TEST(GraphqlIntrospectionTest, AnswersOnlyIntrospectionRootFields) {
    auto op = prepare(R"({ orders { id } t: __type(name: "Status") { kind enumValues { name } }
                          __type(name: "OrderFilter") { inputFields { name defaultValue type { kind name ofType { name } } } } })");
    ASSERT_TRUE(op);
    auto result = execute_introspection(shared_schema(), *op);
    EXPECT_FALSE(result.data.contains("orders"));
    EXPECT_EQ(json::serialize(result.data.at("t")),
              R"({"kind":"ENUM","enumValues":[{"name":"PENDING"},{"name":"PAID"}]})");
    const auto& fields = result.data.at("__type").at("inputFields").as_array();
    ASSERT_EQ(fields.size(), 3u);
    EXPECT_EQ(fields[1].at("defaultValue").as_string(), "10");
    EXPECT_EQ(json::serialize(fields[2].at("type")),
              R"({"kind":"LIST","name":null,"ofType":{"name":null}})");
}
