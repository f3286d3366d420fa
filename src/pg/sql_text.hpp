// SQL text for statements built at run time (the GraphQL compiler, the catalog reads): quoted
// identifiers and string literals, and array literals for `= ANY($n)` parameters (PostgreSQL
// docs, "Lexical Structure" 4.1.1 and 4.1.2.1; "Arrays" 8.15.2, array value input).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

/// "name" with embedded double quotes doubled.
std::string quote_identifier(std::string_view name);

/// 'text' with embedded single quotes doubled (standard_conforming_strings on, Postgres's
/// default since 9.1).
std::string quote_literal(std::string_view text);

/// The array input form of the strings: {"a","b\"c"} (each element double-quoted, backslash
/// and double quote escaped), to pass as one text parameter cast to an array type.
std::string array_literal(const std::vector<std::string>& items);

} // namespace walcast::pg
