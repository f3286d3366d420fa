// RelationLoader: the one place relation metadata is built from the catalog — column types and
// kinds, primary keys, replica identity keys, collations — for a capture source's relation
// messages and for the tables a subscription names at join time, so both see the same facts.
#pragma once

#include "common/result.hpp"
#include "pg/catalog.hpp"
#include "pg/pg_type.hpp"
#include "pg/pgoutput_decoder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace walcast::pg {

/// One column of a described relation.
struct ColumnDescription {
    std::string name;
    PgType type;
    std::int32_t type_modifier = -1;
    bool is_primary_key = false;  ///< pg_index.indisprimary
    bool is_identity_key = false; ///< part of the replica identity key, as pgoutput flags it
    std::string collation;        ///< pg_collation.collname; "" = the database default or none
};

/// A table: what capture::Relation is made from (capture::make_relation).
struct RelationDescription {
    Oid oid = 0;
    std::string schema;
    std::string table;
    char replica_identity = 'd';            ///< pg_class.relreplident: d, n, f, i
    std::vector<ColumnDescription> columns; ///< attnum order, dropped columns excluded
};

/// Builds RelationDescriptions over a Catalog (borrowed; its connection's thread only).
class RelationLoader {
public:
    explicit RelationLoader(Catalog& catalog) : catalog_(&catalog) {}

    /// The table as the catalog describes it now: columns in attnum order with their types
    /// (Catalog::types), typmods, primary-key flags, collations, and identity-key flags as
    /// pgoutput sets them (REPLICA IDENTITY DEFAULT: the primary key's columns; INDEX: the
    /// index's columns; FULL: every column; NOTHING: none). Two queries at most (the table,
    /// unknown types). Errors: NotFound when no such table exists; failed queries.
    Result<RelationDescription> load(Oid relation_oid);

    /// The relation of a pgoutput Relation message: its columns, names, typmods and identity-key
    /// flags as the message has them (the message describes the table as of its WAL
    /// position), with types from the catalog and primary-key flags and collations from the
    /// catalog's current table matched by column name (a column the catalog no longer has keeps
    /// is_primary_key = false and the default collation). Errors: failed queries.
    Result<RelationDescription> describe(const pgoutput::Relation& message);

private:
    Catalog* catalog_;
};

} // namespace walcast::pg
