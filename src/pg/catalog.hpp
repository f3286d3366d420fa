// Catalog: what walcast asks Postgres about its schema on a normal (non-replication)
// connection — column types (pg_type), primary keys (pg_index), collations — and the
// configuration checks whose failures must name the fix (wal_level, publication, privileges,
// slots).
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"
#include "pg/pg_type.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::pg {

/// Facts about one column of a table as the catalog holds them now.
struct CatalogColumn {
    std::string name;
    Oid type_oid = 0;
    std::int32_t type_modifier = -1; ///< pg_attribute.atttypmod
    bool is_primary_key = false;     ///< member of the pg_index.indisprimary index
    bool in_identity_index = false;  ///< member of the pg_index.indisreplident index
    std::string collation;           ///< pg_collation.collname; "" for the database default or none
};

/// A table as the catalog holds it now.
struct CatalogTable {
    Oid oid = 0;
    std::string schema;
    std::string name;
    char replica_identity = 'd';        ///< pg_class.relreplident: d, n, f, i
    std::vector<CatalogColumn> columns; ///< attnum order, dropped columns excluded
};

/// A replication slot as pg_replication_slots shows it.
struct SlotState {
    std::string plugin;
    std::string slot_type; ///< "logical" or "physical"
    std::string database;
    bool temporary = false;
    int active_pid = 0; ///< 0 when no walsender uses it
    /// pg_replication_slots.wal_status (PG13+): "reserved", "extended", "unreserved", or
    /// "lost" — the slot was invalidated (max_slot_wal_keep_size) and cannot be streamed.
    std::string wal_status;
};

/// Type cache and catalog queries over one connection. Not thread-safe: owned by the capture
/// thread. The connection is borrowed and must outlive the Catalog.
class Catalog {
public:
    explicit Catalog(const Connection& conn) : conn_(&conn) {}

    /// Resolves type OIDs (cached; one query for all unknown ones, plus their element and
    /// domain base types). Kinds: typtype 'e' → Enum; arrays (typelem != 0, typlen = -1) →
    /// Array with element kind and element typdelim; domains → the kind of their base type
    /// (the name stays the domain's); built-in pg_catalog types by name (pg_type.hpp); anything
    /// else Other. An OID the catalog does not know yields {oid, "unknown", Other}.
    /// Errors: the query failed (Unavailable when the connection broke).
    Result<std::vector<PgType>> types(const std::vector<Oid>& oids);

    /// One resolved type (as types()).
    Result<PgType> type(Oid oid);

    /// The table as the catalog describes it now (one query): schema, name, replica identity,
    /// columns in attnum order (dropped ones excluded) with type OID, typmod, primary-key and
    /// identity-index membership and collation names. nullopt when the relation no longer
    /// exists. Errors: the query failed.
    Result<std::optional<CatalogTable>> table(Oid relation_oid);

    /// Forgets cached types (e.g. after a reconnect, or when a type may have changed).
    void clear() { types_.clear(); }

    // --- configuration checks; each error message says how to fix it ---

    /// Errc::Config "wal_level is replica; run ALTER SYSTEM SET wal_level = logical and
    /// restart Postgres" unless wal_level is logical.
    Status check_wal_level();

    /// Errc::Config with the CREATE PUBLICATION statement to run when the publication does not
    /// exist in the connected database.
    Status check_publication(const std::string& publication);

    /// Errc::Config (ALTER ROLE … WITH REPLICATION) when the connected role has neither
    /// REPLICATION nor SUPERUSER.
    Status check_replication_privilege();

    /// The slot's state, or nullopt when no such slot exists.
    Result<std::optional<SlotState>> slot(const std::string& slot_name);

private:
    struct Entry {
        std::string name;
        std::string namespace_name;
        char typtype = 'b';
        Oid element = 0; ///< arrays only
        Oid base = 0;    ///< domains only
        char delimiter = ',';
    };
    Status load(const std::vector<Oid>& oids);
    PgType resolve(Oid oid) const;
    TypeKind kind_of(Oid oid, int depth) const;

    const Connection* conn_;
    std::unordered_map<Oid, Entry> types_;
};

} // namespace walcast::pg
