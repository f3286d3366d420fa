// What the GraphQL schema generator reads of the database catalog (issue 14 "Schema from the
// catalog"): the relations of the exposed schemas with their columns, primary and foreign keys
// and readability, and the types those columns use. Plain data: read_catalog.hpp fills it from
// Postgres, tests write it by hand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace walcast::graphql::catalog {

using Oid = std::uint32_t;

/// pg_class.relkind of the relations that become object types.
enum class RelationKind : std::uint8_t {
    Table,            ///< 'r'
    PartitionedTable, ///< 'p'
    View,             ///< 'v'
    MaterializedView, ///< 'm'
    ForeignTable,     ///< 'f'
};

/// One column (pg_attribute), dropped and system columns excluded.
struct ColumnInfo {
    std::string name;
    std::int16_t attnum = 0;
    Oid type_oid = 0;
    bool not_null = false; ///< attnotnull
    /// SELECT on the column (or the table) for at least one API role.
    bool readable = true;
};

/// A foreign key (pg_constraint contype 'f'); columns pair up in order (conkey ↔ confkey).
struct ForeignKey {
    std::string name; ///< conname
    std::vector<std::string> columns;
    Oid referenced_oid = 0;
    std::vector<std::string> referenced_columns;
};

/// A table, view, materialized view or foreign table of an exposed schema.
struct RelationInfo {
    Oid oid = 0;
    std::string schema;
    std::string name;
    RelationKind kind = RelationKind::Table;
    std::vector<ColumnInfo> columns;      ///< attnum order
    std::vector<std::string> primary_key; ///< column names in index order; empty = none
    std::vector<ForeignKey> foreign_keys; ///< this relation's outgoing keys, by conname
    /// Schema USAGE and SELECT on the table or one of its columns for at least one API role.
    bool readable = true;
};

/// pg_type.typtype of the types columns use, with what the generator needs of each.
struct TypeInfo {
    enum class Kind : std::uint8_t {
        Base,      ///< 'b' (not an array), also pseudo and range types: rendered as text
        Array,     ///< a base type with typelem and typcategory 'A'
        Enum,      ///< 'e'
        Composite, ///< 'c'
        Domain,    ///< 'd'
    };
    Oid oid = 0;
    std::string schema; ///< nspname
    std::string name;   ///< typname
    Kind kind = Kind::Base;
    Oid element_oid = 0;                  ///< Array: the element type; Domain: the base type
    std::vector<std::string> enum_labels; ///< Enum: labels in enumsortorder
    struct Attribute {
        std::string name;
        Oid type_oid = 0;
    };
    std::vector<Attribute> attributes; ///< Composite: attributes in attnum order
};

/// The relations of the exposed schemas (in the order of GRAPHQL_SCHEMAS, then by name) and
/// every type they use, closed over arrays, domains and composite attributes.
struct CatalogSnapshot {
    std::vector<std::string> schemas; ///< GRAPHQL_SCHEMAS as configured, in order
    std::vector<RelationInfo> relations;
    std::map<Oid, TypeInfo> types;
    /// md5 of what the catalog query read; equal fingerprints mean the same schema.
    std::string fingerprint;

    const RelationInfo* relation(Oid oid) const {
        for (const auto& r : relations)
            if (r.oid == oid) return &r;
        return nullptr;
    }
    const TypeInfo* type(Oid oid) const {
        auto it = types.find(oid);
        return it == types.end() ? nullptr : &it->second;
    }
};

} // namespace walcast::graphql::catalog
