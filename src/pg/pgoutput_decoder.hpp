// Decoder for the pgoutput logical replication messages (protocol version 1): turns the bytes of
// one XLogData payload into a message struct. A pure function of its input: no I/O, no state.
#pragma once

#include "common/result.hpp"
#include "pg/lsn.hpp"
#include "pg/pg_type.hpp"
#include "pg/tuple.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace walcast::pg::pgoutput {

/// 'B': a transaction starts. final_lsn is the LSN of its commit record.
struct Begin {
    Lsn final_lsn;
    std::int64_t commit_time_pg_us = 0; ///< µs since 2000-01-01 UTC
    std::uint32_t xid = 0;
};

/// 'C': the transaction committed. end_lsn is the position just past the commit record (what a
/// client confirms).
struct Commit {
    std::uint8_t flags = 0;
    Lsn commit_lsn;
    Lsn end_lsn;
    std::int64_t commit_time_pg_us = 0;
};

/// 'O': the transaction originated on another node (replication origin).
struct Origin {
    Lsn commit_lsn;
    std::string name;
};

/// One column of a Relation message.
struct RelationColumn {
    bool is_identity_key = false; ///< flag bit 1: part of the replica identity key
    std::string name;
    Oid type_oid = 0;
    std::int32_t type_modifier = -1;
};

/// 'R': the shape of a table, sent before its first change in a session and after each change
/// of its definition. namespace_name is "pg_catalog" when the wire sends an empty string.
struct Relation {
    Oid oid = 0;
    std::string namespace_name;
    std::string name;
    char replica_identity = 'd'; ///< pg_class.relreplident: d, n, f, i
    std::vector<RelationColumn> columns;
};

/// 'Y': a non-built-in type used by a following Relation. namespace_name as in Relation.
struct Type {
    Oid oid = 0;
    std::string namespace_name;
    std::string name;
};

/// 'I': a row was inserted.
struct Insert {
    Oid relation_oid = 0;
    Tuple new_tuple;
};

/// 'U': a row was updated. old_tuple is present when the replica identity sent one: 'K' (key
/// columns only; the other columns are NULL) or 'O' (every column, REPLICA IDENTITY FULL).
struct Update {
    Oid relation_oid = 0;
    std::optional<Tuple> old_tuple;
    bool old_is_full = false; ///< old_tuple came as 'O'
    Tuple new_tuple;
};

/// 'D': a row was deleted; old_tuple as for Update ('K' or 'O').
struct Delete {
    Oid relation_oid = 0;
    Tuple old_tuple;
    bool old_is_full = false;
};

/// 'T': one TRUNCATE statement over one or more relations.
struct Truncate {
    bool cascade = false;          ///< option bit 1
    bool restart_identity = false; ///< option bit 2
    std::vector<Oid> relation_oids;
};

/// 'M': a message written with pg_logical_emit_message (only sent when requested).
struct Message {
    bool transactional = false;
    Lsn lsn;
    std::string prefix;
    std::string content;
};

using Msg =
    std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, Message>;

/// Decodes one pgoutput message (the payload of one XLogData, first byte = message type).
/// Source: PostgreSQL docs, "Logical Replication Message Formats" (protocol version 1; the
/// streaming/two-phase messages of versions 2–3 are rejected as unsupported).
/// Errors (Errc::Protocol): unknown message type, truncated input, trailing bytes, invalid
/// tuple kinds, strings without terminator, lengths past the end — each message names the
/// message type and the byte offset. Never reads outside bytes.
Result<Msg> decode(std::string_view bytes);

/// Name of a message type byte for messages ("Insert" for 'I'; "0x7f" when unknown).
std::string message_name(char type);

} // namespace walcast::pg::pgoutput
