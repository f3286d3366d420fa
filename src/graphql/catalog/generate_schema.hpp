// The GraphQL schema generated from a catalog snapshot (issue 14 "Schema from the catalog";
// the rules, names and collision handling are in docs/graphql.md): object types for relations
// and composite types, enums, filter / orderBy inputs, root fields on Query and Subscription,
// foreign-key fields both ways — and the bindings that map every generated name back to the
// catalog, which the SQL compiler reads.
#pragma once

#include "common/result.hpp"
#include "graphql/catalog/catalog_model.hpp"
#include "graphql/schema.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace walcast::graphql::catalog {

/// What an object type's field reads.
struct FieldBinding {
    enum class Kind : std::uint8_t {
        Column, ///< a column of the relation (or an attribute of the composite type)
        ToOne,  ///< the row this relation's foreign key references (object or null)
        ToMany, ///< the rows of another relation whose foreign key references this row (list)
    };
    Kind kind = Kind::Column;
    std::string column;      ///< Column: the column / attribute name
    Oid type_oid = 0;        ///< Column: its type as declared (domains not resolved)
    Oid target = 0;          ///< ToOne / ToMany: the other relation
    std::string foreign_key; ///< ToOne / ToMany: the constraint's name
    /// ToOne / ToMany: (this relation's column, the target's column) pairs, in key order.
    std::vector<std::pair<std::string, std::string>> join;
};

/// An object type generated for a relation (relation != 0) or a composite type.
struct ObjectBinding {
    Oid relation = 0;
    Oid composite = 0;
    std::map<std::string, FieldBinding, std::less<>> fields; ///< by GraphQL field name
    std::string filter_type;   ///< relations: the `<Type>Filter` input's name
    std::string order_by_type; ///< relations: the `<Type>OrderBy` input's name; "" = none
};

/// A root field of Query and Subscription (the same names on both).
struct RootBinding {
    Oid relation = 0;
    bool by_pk = false; ///< `<singular>ByPk(<key columns>)`: one row or null; else a list
    std::string type_name;
};

/// A `<Type>Filter` or `<Type>OrderBy` input: field → column.
struct InputBinding {
    Oid relation = 0;
    std::map<std::string, std::string, std::less<>> columns;
};

/// A GraphQL enum generated for a Postgres enum: value name → label.
struct EnumBinding {
    Oid type = 0;
    std::map<std::string, std::string, std::less<>> labels;
};

struct SchemaBindings {
    std::map<std::string, ObjectBinding, std::less<>> objects; ///< by type name
    std::map<std::string, RootBinding, std::less<>> roots;     ///< by root field name
    std::map<std::string, InputBinding, std::less<>> filters;  ///< by input type name
    std::map<std::string, InputBinding, std::less<>> order_bys;
    std::map<std::string, EnumBinding, std::less<>> enums;
    std::map<Oid, std::string> relation_types; ///< relation → its object type's name
};

/// A generated schema with its bindings and the snapshot both came from. Immutable; shared
/// between threads.
struct GeneratedSchema {
    std::shared_ptr<const Schema> schema;
    std::shared_ptr<const CatalogSnapshot> catalog;
    SchemaBindings bindings;
};

/// Generates the schema. Relations that no API role can read, and columns no API role can read,
/// are left out; foreign keys become fields only when the other relation is exposed.
/// Deterministic: the same snapshot gives the same schema (names claimed in snapshot order).
/// Errors: Errc::NotFound when no relation is exposed (GraphQL needs a Query field);
/// Errc::Internal when the schema model rejects what was generated (a generator bug).
Result<std::shared_ptr<const GeneratedSchema>>
generate_schema(std::shared_ptr<const CatalogSnapshot> catalog);

/// The GraphQL scalar of a built-in Postgres type by typname (int2/int4 → Int, int8 → BigInt,
/// float4/float8 → Float, numeric → BigFloat, bool → Boolean, uuid → UUID,
/// timestamp/timestamptz → DateTime, date → Date, time/timetz → Time, json/jsonb → JSON,
/// anything else → String).
std::string scalar_for_typname(std::string_view typname);

} // namespace walcast::graphql::catalog
