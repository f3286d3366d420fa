// tests/data/graphql/seed.sql as the catalog statement reads it, written by hand, and the
// schema generated from it: shared by the catalog schema and SQL compiler unit tests.
#pragma once

#include "graphql/catalog/generate_schema.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace walcast::graphql::catalog::seed_catalog {

inline constexpr Oid bool_ = 16, int8 = 20, int4 = 23, text = 25, numeric = 1700,
                     timestamptz = 1184, uuid = 2950, text_array = 1009, date = 1082, jsonb = 3802;
inline constexpr Oid priority = 9001, product_sales = 9002, product_sales_array = 9003,
                     email = 9004;

inline TypeInfo& add_type(CatalogSnapshot& s, Oid oid, std::string schema, std::string name,
                          TypeInfo::Kind kind = TypeInfo::Kind::Base, Oid element = 0) {
    TypeInfo t;
    t.oid = oid;
    t.schema = std::move(schema);
    t.name = std::move(name);
    t.kind = kind;
    t.element_oid = element;
    return s.types[oid] = std::move(t);
}

inline ColumnInfo col(std::string name, std::int16_t attnum, Oid type, bool not_null = false) {
    ColumnInfo c;
    c.name = std::move(name);
    c.attnum = attnum;
    c.type_oid = type;
    c.not_null = not_null;
    return c;
}

inline RelationInfo rel(Oid oid, std::string name, std::vector<ColumnInfo> cols,
                        std::vector<std::string> pk = {"id"},
                        RelationKind kind = RelationKind::Table) {
    RelationInfo r;
    r.oid = oid;
    r.schema = "public";
    r.name = std::move(name);
    r.kind = kind;
    r.columns = std::move(cols);
    r.primary_key = std::move(pk);
    return r;
}

inline ForeignKey fk(std::string name, std::vector<std::string> cols, Oid target,
                     std::vector<std::string> target_cols) {
    return {std::move(name), std::move(cols), target, std::move(target_cols)};
}

/// tests/data/graphql/seed.sql as the catalog statement reads it.
inline CatalogSnapshot seed() {
    CatalogSnapshot s;
    s.schemas = {"public"};
    for (auto [oid, name] :
         std::initializer_list<std::pair<Oid, const char*>>{{bool_, "bool"},
                                                            {int8, "int8"},
                                                            {int4, "int4"},
                                                            {text, "text"},
                                                            {numeric, "numeric"},
                                                            {timestamptz, "timestamptz"},
                                                            {uuid, "uuid"},
                                                            {date, "date"},
                                                            {jsonb, "jsonb"}})
        add_type(s, oid, "pg_catalog", name);
    using K = TypeInfo::Kind;
    add_type(s, text_array, "pg_catalog", "_text", K::Array, text);
    add_type(s, priority, "public", "order_priority", K::Enum).enum_labels = {
        "low", "normal", "high", "in progress", "true"};
    add_type(s, product_sales, "public", "product_sales", K::Composite).attributes = {
        {"name", text}, {"sales_count", int8}};
    add_type(s, product_sales_array, "public", "_product_sales", K::Array, product_sales);
    add_type(s, email, "public", "email_address", K::Domain, text);

    s.relations.push_back(rel(100, "customers",
                              {col("id", 1, int8, true), col("name", 2, text, true),
                               col("email", 3, email), col("owner_id", 4, uuid)}));
    s.relations.back().foreign_keys.push_back(
        fk("customers_owner_id_fkey", {"owner_id"}, 106, {"id"}));
    s.relations.push_back(rel(
        101, "items",
        {col("id", 1, int4, true), col("name", 2, text, true), col("price", 3, numeric, true)}));
    s.relations.push_back(rel(102, "order_items",
                              {col("order_id", 1, int8, true), col("item_id", 2, int4, true),
                               col("quantity", 3, int4, true)},
                              {"order_id", "item_id"}));
    s.relations.back().foreign_keys = {fk("order_items_item_id_fkey", {"item_id"}, 101, {"id"}),
                                       fk("order_items_order_id_fkey", {"order_id"}, 103, {"id"})};
    s.relations.push_back(rel(103, "orders",
                              {col("id", 1, int8, true), col("customer_id", 2, int8, true),
                               col("status", 3, text, true), col("priority", 4, priority, true),
                               col("total", 5, numeric, true), col("tags", 6, text_array),
                               col("created_at", 7, timestamptz, true), col("meta", 8, jsonb)}));
    s.relations.back().foreign_keys = {fk("orders_customer_id_fkey", {"customer_id"}, 100, {"id"})};
    s.relations.push_back(
        rel(104, "sales_dashboard",
            {col("total_revenue", 1, numeric), col("order_count", 2, int8),
             col("average_order_value", 3, numeric), col("top_products", 4, product_sales_array)},
            {}, RelationKind::View));
    s.relations.push_back(rel(105, "shipments",
                              {col("id", 1, int4, true), col("order_id", 2, int8, true),
                               col("item_id", 3, int4, true), col("shipped_on", 4, date)}));
    s.relations.back().foreign_keys = {fk("shipments_order_id_item_id_fkey",
                                          {"order_id", "item_id"}, 102, {"order_id", "item_id"})};
    s.relations.push_back(
        rel(106, "users",
            {col("id", 1, uuid, true), col("name", 2, text, true), col("email", 3, text, true),
             col("updated_at", 4, timestamptz, true), col("active", 5, bool_)}));
    return s;
}

inline std::shared_ptr<const GeneratedSchema> generate(CatalogSnapshot s) {
    auto g = generate_schema(std::make_shared<const CatalogSnapshot>(std::move(s)));
    EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
    return g.ok() ? g.value() : nullptr;
}

} // namespace walcast::graphql::catalog::seed_catalog
