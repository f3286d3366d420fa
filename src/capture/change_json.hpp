// JSON rendering of changes for the wire: column values by type exactly as Supabase Realtime
// sends them (spec §6.7), the `columns` list, and the `record`/`old_record` objects (§6.4–§6.6).
// Hot path: appends into a caller's std::string, no DOM, no per-value allocation.
#pragma once

#include "capture/change.hpp"
#include "pg/pg_type.hpp"
#include "pg/tuple.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::capture {

/// Which columns to render, by column index of the Relation (true = render). A null pointer
/// means every column. Indexes past the mask's end are not rendered.
using ColumnMask = std::vector<bool>;

/// Appends the JSON value of one non-NULL column value given as Postgres text output (as
/// pgoutput sends it under walcast's session settings: DateStyle ISO, TimeZone UTC).
/// Rules (spec §6.7; each verified against to_jsonb on PostgreSQL 15):
///  - int2/int4/int8/oid → number; numeric → number, NaN/Infinity/-Infinity → string;
///    float4/float8 → number as Postgres prints it (e.g. 1e+20), NaN/±Infinity → string;
///  - bool t/f → true/false; json/jsonb → embedded as is;
///  - arrays (any dimension, bounds decoration dropped, NULL elements, quoted/escaped elements)
///    → JSON arrays whose elements follow these rules (bytea elements keep their "\x…" text);
///  - timestamp "2024-01-02 03:04:05.1" → "2024-01-02T03:04:05.1"; timestamptz additionally
///    gets a +HH:MM offset ("…+00" → "…+00:00"); infinity/-infinity and BC stay as to_jsonb
///    prints them;
///  - bytea "\x0102ff" → "0102ff" (wal2json's form);
///  - everything else (text, uuid, enum, date, time, timetz, interval, money, inet, ranges, …)
///    → a JSON string of the text.
/// Text that does not parse for its type (never sent by Postgres) is rendered as a JSON string,
/// so the output is valid JSON for any input bytes.
void append_value_json(std::string& out, const pg::PgType& type, std::string_view text);

/// Appends `[{"name":"id","type":"int4"},…]` for the masked columns in column order (spec
/// §4.1 `columns`; type = pg_type.typname).
void append_columns_json(std::string& out, const Relation& relation, const ColumnMask* mask);

/// Appends the record object `{"id":1,…}` of tuple (columns matched by index to relation) for
/// the masked columns, in column order.
///  - NULL → null; unchanged TOAST → the value from old_tuple_for_toast when it holds one for
///    that column (REPLICA IDENTITY FULL), else the key is absent (spec §6.6);
///  - max_value_bytes = 0: no limit. Otherwise the Error 413 reduction (spec §6.5): only fields
///    whose JSON-encoded value is at most max_value_bytes bytes are kept, and nulls are dropped.
void append_record_json(std::string& out, const Relation& relation, const pg::Tuple& tuple,
                        const ColumnMask* mask, const pg::Tuple* old_tuple_for_toast,
                        std::size_t max_value_bytes);

/// Appends the old_record object of an UPDATE or DELETE (spec §6.4): an 'O' old tuple (FULL)
/// renders every masked column; a 'K' old tuple only the replica identity key columns; an
/// UPDATE without old tuple (default or index identity: the key did not change) the key
/// columns of the new tuple; otherwise `{}`. mask and max_value_bytes as append_record_json.
/// RLS reductions (PK only for DELETE) are the caller's mask.
void append_old_record_json(std::string& out, const Change& change, const ColumnMask* mask,
                            std::size_t max_value_bytes);

/// Appends the `record` of an INSERT/UPDATE: the new tuple with unchanged TOAST filled from an
/// 'O' old tuple (spec §6.6). `{}` when the change has no new tuple.
void append_new_record_json(std::string& out, const Change& change, const ColumnMask* mask,
                            std::size_t max_value_bytes);

} // namespace walcast::capture
