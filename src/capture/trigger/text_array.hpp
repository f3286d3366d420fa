// Reading what the event table's text[] columns hold: Postgres's array output (array_out) of
// a one-dimensional text array — `{a,"b c",NULL,"NULL","x\"y"}` — into a pg::Tuple.
#pragma once

#include "common/result.hpp"
#include "pg/tuple.hpp"

#include <string_view>

namespace walcast::capture::trigger {

/// Appends every element of text, array_out's rendering of a one-dimensional text[], to tuple:
/// an unquoted NULL as SQL NULL, anything else as its text (quotes removed, backslash escapes
/// undone). Returns the number of elements. Errors (InvalidInput, naming the byte offset):
/// anything array_out does not produce for a text[] (no braces, an unterminated quote, a
/// nested array, bytes after the closing brace); tuple then holds the elements before it.
Result<std::size_t> append_text_array(std::string_view text, pg::Tuple& tuple);

} // namespace walcast::capture::trigger
