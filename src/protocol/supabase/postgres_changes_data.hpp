// The `data` object of a Supabase Realtime postgres_changes message (spec §4.1, §6.4–§6.6):
// type, schema, table, commit_timestamp, columns, record, old_record, errors — and the error
// rows' texts (§6.5). The core::PayloadFormat every Phoenix channel's sink asks for.
#pragma once

#include "core/subscription/payload.hpp"

#include <string>

namespace walcast::protocol::supabase {

/// Renders the data object for a change and variant. too_big selects the §6.5 413 reduction
/// (fields whose JSON value is at most 64 bytes survive, nulls are dropped, errors
/// ["Error 413: Payload Too Large"]). Shapes: commit_timestamp UTC "…T…Z" with milliseconds
/// (null on error rows), columns [{name,type}], record (INSERT/UPDATE), old_record
/// (UPDATE/DELETE), errors (null or one string: "Error 400: Bad Request, no primary key",
/// "Error 401: Unauthorized", "Error 500: row-level security check failed; …").
std::string render_change_data(const capture::Change& change, const core::PayloadVariant& variant,
                               bool too_big);

/// The postgres_changes format (render_change_data), one instance for the process.
const core::PayloadFormat& postgres_changes_format();

} // namespace walcast::protocol::supabase
