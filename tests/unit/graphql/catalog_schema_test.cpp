// The GraphQL schema generated from a catalog snapshot (src/graphql/catalog): names, scalars,
// non-null rules, filter / orderBy inputs, by-primary-key fields, foreign keys both ways
// (multi-column included), collisions, what is left out, and the bindings back to the catalog.
#include "graphql/catalog/generate_schema.hpp"
#include "graphql/catalog/naming.hpp"
#include "graphql/catalog/read_catalog.hpp"
#include "graphql/parser.hpp"
#include "graphql/validation.hpp"
#include "seed_catalog.hpp"

#include <gtest/gtest.h>

using namespace walcast::graphql;
using namespace walcast::graphql::catalog;
using namespace walcast::graphql::catalog::seed_catalog;

namespace {

std::string field_type(const Schema& schema, std::string_view type, std::string_view field) {
    const NamedType* t = schema.type(type);
    if (!t) return "<no type " + std::string(type) + ">";
    const FieldDef* f = t->field(field);
    if (!f) {
        const InputValueDef* in = t->input_field(field);
        return in ? in->type.to_string() : "<no field " + std::string(field) + ">";
    }
    return f->type.to_string();
}

std::string args(const Schema& schema, std::string_view type, std::string_view field) {
    const FieldDef* f = schema.type(type)->field(field);
    std::string out;
    for (const auto& a : f->args)
        out += (out.empty() ? "" : ", ") + a.name + ": " + a.type.to_string();
    return out;
}

GraphQLErrors validate_text(const Schema& schema, std::string_view text) {
    auto doc = parse(text);
    EXPECT_TRUE(doc.ok());
    if (!doc.ok()) return {doc.error()};
    return validate(schema, *doc);
}

} // namespace

TEST(GraphqlNamingTest, CamelPascalAndSingular) {
    EXPECT_EQ(camel_case("updated_at"), "updatedAt");
    EXPECT_EQ(camel_case("Users"), "users");
    EXPECT_EQ(camel_case("sales__dashboard "), "salesDashboard");
    EXPECT_EQ(camel_case("2fa_codes"), "_2faCodes");
    EXPECT_EQ(camel_case("ünïcode"), "nCode");
    EXPECT_EQ(camel_case("ü"), "");
    EXPECT_EQ(pascal_case("sales_dashboard"), "SalesDashboard");
    EXPECT_EQ(pascal_case("order items"), "OrderItems");
    EXPECT_EQ(singular("orders"), "order");
    EXPECT_EQ(singular("categories"), "category");
    EXPECT_EQ(singular("addresses"), "address");
    EXPECT_EQ(singular("boxes"), "box");
    EXPECT_EQ(singular("status"), "status");
    EXPECT_EQ(singular("analysis"), "analysis");
    EXPECT_EQ(singular("data"), "data");
    EXPECT_EQ(singular("order_items"), "order_item");
    EXPECT_TRUE(is_graphql_name("_a1"));
    EXPECT_FALSE(is_graphql_name("1a"));
    EXPECT_FALSE(is_graphql_name("a-b"));
}

TEST(GraphqlCatalogSchemaTest, RelationsBecomeTypesWithCamelCaseFieldsAndPostgresScalars) {
    auto g = generate(seed());
    ASSERT_TRUE(g);
    const Schema& s = *g->schema;
    EXPECT_EQ(field_type(s, "Orders", "id"), "BigInt!");
    EXPECT_EQ(field_type(s, "Orders", "customerId"), "BigInt!");
    EXPECT_EQ(field_type(s, "Orders", "total"), "BigFloat!");
    EXPECT_EQ(field_type(s, "Orders", "priority"), "OrderPriority!");
    EXPECT_EQ(field_type(s, "Orders", "tags"), "[String]");
    EXPECT_EQ(field_type(s, "Orders", "createdAt"), "DateTime!");
    EXPECT_EQ(field_type(s, "Orders", "meta"), "JSON");
    EXPECT_EQ(field_type(s, "Users", "id"), "UUID!");
    EXPECT_EQ(field_type(s, "Users", "updatedAt"), "DateTime!");
    EXPECT_EQ(field_type(s, "Users", "active"), "Boolean");
    EXPECT_EQ(field_type(s, "Items", "id"), "Int!");
    EXPECT_EQ(field_type(s, "Customers", "email"), "String") << "a domain is its base type";
    EXPECT_EQ(field_type(s, "Shipments", "shippedOn"), "Date");
    // A view: nullable columns, a composite array as a list of objects.
    EXPECT_EQ(field_type(s, "SalesDashboard", "totalRevenue"), "BigFloat");
    EXPECT_EQ(field_type(s, "SalesDashboard", "orderCount"), "BigInt");
    EXPECT_EQ(field_type(s, "SalesDashboard", "topProducts"), "[ProductSales]");
    EXPECT_EQ(field_type(s, "ProductSales", "salesCount"), "BigInt");
    EXPECT_EQ(s.type("Orders")->description, "Table public.orders.");
    EXPECT_EQ(s.mutation_type(), nullptr);

    const auto& ob = g->bindings.objects.at("Orders");
    EXPECT_EQ(ob.relation, 103u);
    EXPECT_EQ(ob.fields.at("createdAt").column, "created_at");
    EXPECT_EQ(g->bindings.objects.at("ProductSales").fields.at("salesCount").column, "sales_count");
    EXPECT_EQ(g->bindings.relation_types.at(104), "SalesDashboard");
}

TEST(GraphqlCatalogSchemaTest, RootFieldsOnQueryAndSubscriptionWithArgumentsAndByPk) {
    auto g = generate(seed());
    ASSERT_TRUE(g);
    const Schema& s = *g->schema;
    for (auto root : {"Query", "Subscription"}) {
        EXPECT_EQ(field_type(s, root, "orders"), "[Orders!]!");
        EXPECT_EQ(args(s, root, "orders"),
                  "filter: OrdersFilter, orderBy: [OrdersOrderBy!], limit: Int, offset: Int");
        EXPECT_EQ(field_type(s, root, "orderByPk"), "Orders");
        EXPECT_EQ(args(s, root, "orderByPk"), "id: BigInt!");
        EXPECT_EQ(args(s, root, "orderItemByPk"), "orderId: BigInt!, itemId: Int!");
        EXPECT_EQ(field_type(s, root, "salesDashboard"), "[SalesDashboard!]!");
        EXPECT_EQ(s.type(root)->field("salesDashboardByPk"), nullptr) << "a view has no key";
    }
    EXPECT_EQ(g->bindings.roots.at("orderByPk").relation, 103u);
    EXPECT_TRUE(g->bindings.roots.at("orderByPk").by_pk);
    EXPECT_FALSE(g->bindings.roots.at("orders").by_pk);
}

TEST(GraphqlCatalogSchemaTest, FilterAndOrderByInputsPerTypeAndScalar) {
    auto g = generate(seed());
    ASSERT_TRUE(g);
    const Schema& s = *g->schema;
    EXPECT_EQ(field_type(s, "OrdersFilter", "status"), "StringFilter");
    EXPECT_EQ(field_type(s, "OrdersFilter", "total"), "BigFloatFilter");
    EXPECT_EQ(field_type(s, "OrdersFilter", "priority"), "OrderPriorityFilter");
    EXPECT_EQ(field_type(s, "OrdersFilter", "and"), "[OrdersFilter!]");
    EXPECT_EQ(field_type(s, "OrdersFilter", "or"), "[OrdersFilter!]");
    EXPECT_EQ(field_type(s, "OrdersFilter", "not"), "OrdersFilter");
    EXPECT_EQ(s.type("OrdersFilter")->input_field("tags"), nullptr) << "lists are not compared";
    EXPECT_EQ(s.type("OrdersFilter")->input_field("meta"), nullptr) << "nor JSON";
    std::string ops;
    for (const auto& f : s.type("StringFilter")->input_fields)
        ops += f.name + " ";
    EXPECT_EQ(ops, "eq neq gt gte lt lte in like ilike isNull ");
    EXPECT_EQ(field_type(s, "StringFilter", "in"), "[String!]");
    EXPECT_EQ(field_type(s, "StringFilter", "isNull"), "Boolean");
    ops.clear();
    for (const auto& f : s.type("BooleanFilter")->input_fields)
        ops += f.name + " ";
    EXPECT_EQ(ops, "eq neq isNull ");
    EXPECT_EQ(field_type(s, "OrdersOrderBy", "createdAt"), "OrderDirection");
    std::string dirs;
    for (const auto& v : s.type("OrderDirection")->enum_values)
        dirs += v.name + " ";
    EXPECT_EQ(dirs, "ASC DESC ASC_NULLS_FIRST ASC_NULLS_LAST DESC_NULLS_FIRST DESC_NULLS_LAST ");
    EXPECT_EQ(g->bindings.filters.at("OrdersFilter").columns.at("createdAt"), "created_at");
    EXPECT_EQ(g->bindings.order_bys.at("OrdersOrderBy").columns.at("customerId"), "customer_id");
    // Enum labels that are not GraphQL names are renamed and bound back to the label.
    const auto& labels = g->bindings.enums.at("OrderPriority").labels;
    EXPECT_EQ(labels.at("in_progress"), "in progress");
    EXPECT_EQ(labels.at("true_2"), "true");
    EXPECT_EQ(labels.at("low"), "low");
}

TEST(GraphqlCatalogSchemaTest, ForeignKeysBecomeFieldsBothWaysIncludingMultiColumn) {
    auto g = generate(seed());
    ASSERT_TRUE(g);
    const Schema& s = *g->schema;
    EXPECT_EQ(field_type(s, "Orders", "customer"), "Customers");
    EXPECT_EQ(field_type(s, "Customers", "orders"), "[Orders!]!");
    EXPECT_EQ(args(s, "Customers", "orders"),
              "filter: OrdersFilter, orderBy: [OrdersOrderBy!], limit: Int, offset: Int");
    EXPECT_EQ(field_type(s, "Customers", "owner"), "Users");
    EXPECT_EQ(field_type(s, "Users", "customers"), "[Customers!]!");
    EXPECT_EQ(field_type(s, "OrderItems", "order"), "Orders");
    EXPECT_EQ(field_type(s, "OrderItems", "item"), "Items");
    EXPECT_EQ(field_type(s, "Orders", "orderItems"), "[OrderItems!]!");
    // Two columns: named after the referenced relation's singular.
    EXPECT_EQ(field_type(s, "Shipments", "orderItem"), "OrderItems");
    EXPECT_EQ(field_type(s, "OrderItems", "shipments"), "[Shipments!]!");
    const auto& b = g->bindings.objects.at("Shipments").fields.at("orderItem");
    EXPECT_EQ(b.kind, FieldBinding::Kind::ToOne);
    EXPECT_EQ(b.target, 102u);
    using P = std::pair<std::string, std::string>;
    EXPECT_EQ(b.join, (std::vector<P>{{"order_id", "order_id"}, {"item_id", "item_id"}}));
    const auto& m = g->bindings.objects.at("Customers").fields.at("orders");
    EXPECT_EQ(m.kind, FieldBinding::Kind::ToMany);
    EXPECT_EQ(m.target, 103u);
    EXPECT_EQ(m.join, (std::vector<P>{{"id", "customer_id"}}));
}

TEST(GraphqlCatalogSchemaTest, TheSeedsThreeOperationsValidate) {
    auto g = generate(seed());
    ASSERT_TRUE(g);
    for (auto op : {"subscription { users { id name email updatedAt } }",
                    "subscription { orders(filter: { status: { eq: \"pending\" } }) { id total "
                    "status customer { name email } } }",
                    "subscription { salesDashboard { totalRevenue orderCount averageOrderValue "
                    "topProducts { name salesCount } } }",
                    "query { orders(orderBy: { createdAt: DESC }, limit: 10) { id } }",
                    "query { customers { orders(filter: { or: [{ total: { gt: \"10\" } }, "
                    "{ priority: { in: [high, in_progress] } }] }, limit: 2) { id } } }"}) {
        auto errors = validate_text(*g->schema, op);
        EXPECT_TRUE(errors.empty()) << op << ": " << (errors.empty() ? "" : errors[0].message);
    }
    auto bad = validate_text(*g->schema, "{ orders(filter: { tags: { eq: \"a\" } }) { id } }");
    ASSERT_FALSE(bad.empty());
}

TEST(GraphqlCatalogSchemaTest, CollisionsAcrossSchemasAndColumnsAreResolvedInClaimOrder) {
    CatalogSnapshot s = seed();
    s.schemas = {"public", "auth"};
    RelationInfo users2 = rel(200, "users", {col("id", 1, uuid, true)});
    users2.schema = "auth";
    s.relations.push_back(users2);
    // A table whose name would take a reserved or derived name.
    s.relations.push_back(rel(201, "query", {col("id", 1, int4, true)}));
    s.relations.back().schema = "auth";
    // Columns that camelCase to the same name: the first in attnum order keeps it.
    s.relations.push_back(
        rel(202, "accounts",
            {col("id", 1, int4, true), col("user_id", 2, int4), col("userId", 3, int4)}));
    s.relations.back().schema = "auth";
    auto g = generate(s);
    ASSERT_TRUE(g);
    const Schema& sc = *g->schema;
    EXPECT_EQ(g->bindings.relation_types.at(106), "Users");
    EXPECT_EQ(g->bindings.relation_types.at(200), "AuthUsers");
    EXPECT_EQ(g->bindings.relation_types.at(201), "AuthQuery");
    EXPECT_EQ(field_type(sc, "Query", "users"), "[Users!]!");
    EXPECT_EQ(field_type(sc, "Query", "authUsers"), "[AuthUsers!]!");
    EXPECT_EQ(field_type(sc, "Query", "authUserByPk"), "AuthUsers");
    EXPECT_EQ(field_type(sc, "Query", "query"), "[AuthQuery!]!");
    EXPECT_EQ(g->bindings.objects.at("Accounts").fields.at("userId").column, "user_id");
    EXPECT_EQ(g->bindings.objects.at("Accounts").fields.at("userId_2").column, "userId");
    // The same snapshot gives the same schema.
    auto again = generate(s);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->bindings.relation_types, g->bindings.relation_types);
}

TEST(GraphqlCatalogSchemaTest, UnreadableRelationsAndColumnsAreLeftOut) {
    CatalogSnapshot s = seed();
    for (auto& r : s.relations) {
        if (r.name == "items") r.readable = false;
        if (r.name == "users")
            for (auto& c : r.columns)
                if (c.name == "email") c.readable = false;
    }
    auto g = generate(s);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->schema->type("Items"), nullptr);
    EXPECT_EQ(g->schema->type("Query")->field("items"), nullptr);
    EXPECT_EQ(g->schema->type("OrderItems")->field("item"), nullptr)
        << "no field to a relation that is not exposed";
    EXPECT_EQ(g->schema->type("Users")->field("email"), nullptr);
    EXPECT_NE(g->schema->type("Users")->field("name"), nullptr);

    CatalogSnapshot none = seed();
    for (auto& r : none.relations)
        r.readable = false;
    auto empty = generate_schema(std::make_shared<const CatalogSnapshot>(none));
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, walcast::Errc::NotFound);
}

TEST(GraphqlCatalogSchemaTest, ParsesTheCatalogStatementsDocument) {
    auto snap = parse_catalog_document(
        R"({"relations":[{"oid":5,"schema":"public","name":"t","kind":"v","readable":true,
            "columns":[{"name":"a","attnum":1,"type":23,"notNull":false,"readable":true}],
            "primaryKey":[],"foreignKeys":[{"name":"f","references":6,"columns":["a"],
            "referencedColumns":["b"]}]}],
           "types":[{"oid":23,"schema":"pg_catalog","name":"int4","typtype":"b","category":"N",
            "element":0,"labels":[],"attributes":[]},
            {"oid":1007,"schema":"pg_catalog","name":"_int4","typtype":"b","category":"A",
            "element":23,"labels":[],"attributes":[]}]})",
        {"public"});
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    ASSERT_EQ(snap->relations.size(), 1u);
    EXPECT_EQ(snap->relations[0].kind, RelationKind::View);
    EXPECT_EQ(snap->relations[0].foreign_keys[0].referenced_columns[0], "b");
    EXPECT_EQ(snap->type(1007)->kind, TypeInfo::Kind::Array);
    EXPECT_EQ(snap->type(1007)->element_oid, 23u);
    EXPECT_FALSE(parse_catalog_document("[]", {}).ok());
    EXPECT_FALSE(parse_catalog_document(
                     R"({"relations":[{"oid":5,"foreignKeys":[{"references":1,"columns":["a"],
                        "referencedColumns":[]}]}],"types":[]})",
                     {})
                     .ok());
}
