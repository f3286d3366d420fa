// Minimal JSON text building for the hot path (change payloads, frames): appends to a
// std::string without building a DOM. Parsing and anything off the hot path uses Boost.JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walcast::json {

/// Appends s as a JSON string literal (with quotes), escaping per RFC 8259: ", \, control
/// characters (\b \f \n \r \t or \u00XX). Bytes >= 0x80 are copied as they are (UTF-8).
void append_string(std::string& out, std::string_view s);

/// Appends the escaped contents of s without the surrounding quotes.
void append_escaped(std::string& out, std::string_view s);

/// Appends a signed/unsigned integer in decimal.
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);

} // namespace walcast::json
