// Parsing of a Postgres Changes `filter` string ("id=eq.1,name=not.in.(a,b)") into conditions,
// exactly as Supabase Realtime does it (spec §5.2 grammar, §5.4 error messages). No catalog
// knowledge here: binding conditions to a table's columns and types is filter.hpp's job.
#pragma once

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::core {

/// Filter operators of the current grammar (spec §5.2; RT `subscriptions.ex` @filter_types).
enum class FilterOp : unsigned char {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Like,
    Ilike,
    Is,
    Match,
    Imatch,
    IsDistinct,
};

/// The operator's wire spelling: "eq", "neq", …, "isdistinct".
std::string_view to_string(FilterOp op);

/// The operator spelled `text` (case-sensitive, as RT matches it), or nullopt.
std::optional<FilterOp> filter_op_from_string(std::string_view text);

/// One `column=[not.]op.value` segment. `value` is already unquoted for scalar operators; for
/// `in` it is the PostgreSQL array literal `{…}` built from the `(…)` list (spec §5.2).
struct FilterCondition {
    std::string column;
    FilterOp op = FilterOp::Eq;
    std::string value;
    bool negate = false; ///< the `not.` prefix

    bool operator==(const FilterCondition&) const = default;
};

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
Result<std::vector<FilterCondition>> parse_filter(std::string_view filter);

/// Elixir `String.trim/1`: strips leading and trailing Unicode whitespace (UTF-8). Exposed for
/// the binding parser, which trims the same way.
std::string_view elixir_trim(std::string_view s);

} // namespace walcast::core
