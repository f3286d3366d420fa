// Supabase's `filter` string grammar: a Postgres Changes filter ("id=eq.1,name=not.in.(a,b)")
// parsed into core::FilterConditions exactly as Supabase Realtime does it (spec §5.2 grammar,
// §5.4 error messages). No catalog knowledge here: binding conditions to a table's columns and
// types is core/filter's job.
#pragma once

#include "common/result.hpp"
#include "core/filter/condition.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::protocol::supabase {

/// Parses a filter string with the grammar of spec §5.2 (RT ≥ v2.112 `parse_filters/1`):
/// top-level commas separate segments that are ANDed (commas inside `( … )` or a quoted run do
/// not split), each segment is trimmed, `not.` negates, a quoted scalar value is unquoted with
/// backslash escapes unless it is not exactly one quoted string (then it is kept verbatim),
/// `in.(a,b)` becomes the array literal `{a,b}`. An empty or whitespace-only string yields no
/// conditions. Conditions are returned in input order.
///
/// Errors (Errc::InvalidInput) carry the complete user-facing message of spec §5.4, e.g.
/// "Error parsing `filter` params: [\"wrong\"]" — it is sent to the client unchanged.
/// Pure function, any thread.
Result<std::vector<core::FilterCondition>> parse_filter(std::string_view filter);

/// Elixir `String.trim/1`: strips leading and trailing Unicode whitespace (UTF-8). Exposed for
/// the binding parser, which trims the same way.
std::string_view elixir_trim(std::string_view s);

} // namespace walcast::protocol::supabase
