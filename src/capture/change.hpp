// The change model: one committed row change (or truncate) with its relation, tuples and
// commit position — what every consumer (tail, router, authorizer) works from, whatever the
// capture source.
#pragma once

#include "capture/position.hpp"
#include "pg/pg_type.hpp"
#include "pg/relation_loader.hpp"
#include "pg/tuple.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::capture {

/// A column of a relation, in attnum order (dropped columns excluded).
struct Column {
    std::string name;
    pg::PgType type;
    std::int32_t type_modifier = -1;
    bool is_primary_key = false;  ///< from pg_index (indisprimary), looked up once per relation
    bool is_identity_key = false; ///< part of the replica identity key (pgoutput flag 1)
    std::string collation;        ///< collation name for text-like columns; "" = default
};

/// Replica identity of a table (pg_class.relreplident).
enum class ReplicaIdentity : char { Default = 'd', Nothing = 'n', Full = 'f', Index = 'i' };

/// A table as of a point in the stream. Immutable once published; a new Relation message
/// (ALTER TABLE) produces a new Relation object, changes keep the one they were decoded with.
struct Relation {
    pg::Oid oid = 0;
    std::string schema;
    std::string table;
    ReplicaIdentity replica_identity = ReplicaIdentity::Default;
    std::vector<Column> columns;

    bool has_primary_key() const {
        for (const auto& c : columns)
            if (c.is_primary_key) return true;
        return false;
    }
    /// Index of the column named name, or -1.
    int column_index(std::string_view name) const {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i].name == name) return static_cast<int>(i);
        return -1;
    }
};
using RelationPtr = std::shared_ptr<const Relation>;

/// The immutable Relation of a description from pg::RelationLoader (every source builds its
/// relations this way: the row-value contract of docs/architecture.md).
RelationPtr make_relation(pg::RelationDescription description);

enum class ChangeKind : std::uint8_t { Insert, Update, Delete, Truncate };

/// "INSERT", "UPDATE", "DELETE", "TRUNCATE" (spec §4.1 data.type).
const char* to_string(ChangeKind kind);

/// Commit-level facts shared by every change of one transaction.
struct TransactionInfo {
    /// The transaction id: a full xid8 (epoch << 32 | xid) when xid_has_epoch, else the 32-bit
    /// xid alone (pgoutput sends only that; its epoch is inferred where it matters).
    std::uint64_t xid = 0;
    bool xid_has_epoch = false;
    /// The transaction's place in the source's commit order (logical: the LSN of the commit
    /// record, pgoutput Begin final_lsn). Equal for every change of a transaction.
    Position commit_position;
    std::int64_t commit_time_pg_us = 0; ///< commit time, µs since 2000-01-01 UTC
};

/// One row change. INSERT: new_tuple. UPDATE: new_tuple, old_tuple when the replica identity
/// sent one (key columns only unless old_is_full). DELETE: old_tuple (same rule).
/// TRUNCATE: relations lists every truncated table; relation is the first of them.
struct Change {
    ChangeKind kind = ChangeKind::Insert;
    RelationPtr relation;
    std::optional<pg::Tuple> new_tuple;
    std::optional<pg::Tuple> old_tuple;
    bool old_is_full = false; ///< old_tuple holds every column ('O'), not only the key ('K')
    std::vector<RelationPtr> truncated; ///< TRUNCATE only
    bool truncate_cascade = false;
    bool truncate_restart_identity = false;
    TransactionInfo txn;
    std::uint64_t sequence = 0; ///< position in the stream, strictly increasing per process
};
using ChangePtr = std::shared_ptr<const Change>;

} // namespace walcast::capture
