// Base64url without padding (RFC 4648 §5), the encoding of the three parts of a JWS
// (RFC 7515 §2) and of the binary members of a JWK (RFC 7518 §6).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace walcast::auth {

/// Decodes base64url text without padding. Strict: only the alphabet A–Z a–z 0–9 - _, no
/// '=' padding, no whitespace, a length that is not 1 mod 4 and zero unused trailing bits
/// (so each byte string has exactly one accepted encoding). Returns nullopt on any violation.
/// Pure function, any thread.
std::optional<std::string> base64url_decode(std::string_view text);

/// Encodes bytes as base64url without padding. Pure function, any thread.
std::string base64url_encode(std::string_view bytes);

} // namespace walcast::auth
