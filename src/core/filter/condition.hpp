// The filter model every protocol builds: conditions on one column each (operator, value,
// negation), ANDed. Supabase's `filter` string grammar (protocol/supabase/filter_grammar) and,
// later, GraphQL `where` arguments produce these; filter.hpp binds them to a relation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace walcast::core {

/// Filter operators (the PostgREST / Supabase Realtime set, spec §5.2).
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

/// The operator's name: "eq", "neq", …, "isdistinct".
std::string_view to_string(FilterOp op);

/// The operator named `text` (case-sensitive), or nullopt.
std::optional<FilterOp> filter_op_from_string(std::string_view text);

/// One condition `column [not] op value`. `value` is the text Postgres casts to the column type;
/// for `in` a PostgreSQL array literal `{…}`; for `is` one of null, true, false, unknown.
struct FilterCondition {
    std::string column;
    FilterOp op = FilterOp::Eq;
    std::string value;
    bool negate = false;

    bool operator==(const FilterCondition&) const = default;
};

} // namespace walcast::core
