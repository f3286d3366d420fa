// Supabase Realtime's `postgres_changes` binding: the join payload's binding objects
// (`{event, schema, table, filter, select}`) parsed into core::BindingSpec exactly as Supabase
// Realtime parses them (spec §5.1, §5.4, §5.6), and their stable ids (spec §3.2).
#pragma once

#include "common/result.hpp"
#include "core/subscription/binding_spec.hpp"

#include <boost/json/object.hpp>

#include <cstdint>

namespace walcast::protocol::supabase {

/// Parses one binding object as RT's `parse_subscription_params/1` (spec §5.1):
///  * `event`: "*", or any case of insert/update/delete; anything else (or absent) = all;
///  * accepted shapes: schema+table+filter, schema+table, schema alone (table "*"), table alone
///    (schema "public"); all present values must be strings; a `filter` key with a non-string
///    value (even null) fits no shape;
///  * `filter`: the string grammar of filter_grammar.hpp;
///  * `select`: a list (non-strings dropped, [] = nil), a string is an error, other values nil.
/// Errors (Errc::InvalidInput), message exactly as RT sends it in the `system` error:
///  * select is a string → "Error parsing `select` params: expected a list of column name
///    strings, e.g. select: [\"col1\", \"col2\"]" (checked first);
///  * the filter's parse error (filter_grammar.hpp);
///  * no accepted shape → "No subscription params provided. Please provide at least a `schema`
///    or `table` to subscribe to: " + Elixir inspect of the object (keys sorted), or
///    "<redacted>" when it has a `user_token` or `auth_token` key;
///  * select with schema or table "*" → "Column selection is not supported for wildcard
///    subscriptions. Provide an explicit schema and table name."
/// Pure function, any thread.
Result<core::BindingSpec> parse_binding(const boost::json::object& params);

/// The stable id of one binding object (spec §3.2): a 27-bit hash of its canonical JSON (equal
/// objects, equal ids), never 0. Any thread.
std::int64_t binding_id(const boost::json::object& binding);

} // namespace walcast::protocol::supabase
