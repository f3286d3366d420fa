// UTF-8 as RFC 3629 defines it, the one codec every part of walcast uses: the WebSocket
// transport (a text message must be well-formed, RFC 6455 §8.1), the GraphQL lexer and
// printer (source text and string escapes), and protocol/supabase's Elixir inspect (which
// prints a binary as a string only when Erlang's `::utf8` matches every code point; the
// same rules).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace walcast::utf8 {

/// The largest Unicode code point.
constexpr char32_t max_code_point = 0x10FFFF;

/// Whether cp is a Unicode scalar value: ≤ U+10FFFF and not a UTF-16 surrogate
/// (U+D800–U+DFFF) — exactly what UTF-8 may encode (RFC 3629 §3).
constexpr bool is_scalar_value(char32_t cp) {
    return cp <= max_code_point && (cp < 0xD800 || cp > 0xDFFF);
}

/// Decodes the code point that starts at s[i] (i < s.size()). Returns its length in bytes
/// (1–4) and sets cp; returns 0 and leaves cp unspecified when the bytes at i are not a
/// well-formed sequence (RFC 3629 §4): a continuation byte or C0, C1, F5–FF first, a missing
/// or bad continuation byte, the sequence cut by the end of s, an overlong form, a surrogate,
/// or a value above U+10FFFF.
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp);

/// Appends cp as UTF-8 (1–4 bytes). cp must be a scalar value (is_scalar_value); callers
/// check it where cp comes from input (a surrogate would be written as the ill-formed
/// 3-byte sequence).
void append(std::string& out, char32_t cp);

/// Whether all of text is well-formed UTF-8 (decode() accepts every code point). ASCII runs
/// are checked 8 bytes at a time.
bool is_valid(std::string_view text);

/// `at` moved forward past continuation bytes (10xxxxxx) to the next byte that starts a code
/// point, or to s.size(); `at` itself when it is at or past the end. Cutting well-formed text
/// there does not split a character.
std::size_t next_boundary(std::string_view s, std::size_t at);

} // namespace walcast::utf8
