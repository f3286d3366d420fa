// The JWS `alg` values walcast verifies (RFC 7518 §3.1, RFC 8037 §3.1 and the fully specified
// Ed25519/Ed448 names of RFC 9864), with their names as they appear in token headers.
#pragma once

#include <optional>
#include <string_view>

namespace walcast::auth {

enum class JwtAlg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
    EdDSA,   ///< Ed25519 or Ed448, by the key's curve (RFC 8037)
    Ed25519, ///< EdDSA pinned to Ed25519
    Ed448,   ///< EdDSA pinned to Ed448
};

/// The alg for a header/JWK `alg` string; case-sensitive (RFC 7515 §4.1.1). nullopt for
/// "none" and everything unsupported (PS*, ES256K, …).
std::optional<JwtAlg> alg_from_name(std::string_view name);

/// The header name of alg ("HS256", …, "EdDSA").
std::string_view alg_name(JwtAlg alg);

/// True for HS256/384/512 (shared-secret algorithms).
constexpr bool is_hmac(JwtAlg alg) {
    return alg == JwtAlg::HS256 || alg == JwtAlg::HS384 || alg == JwtAlg::HS512;
}

} // namespace walcast::auth
