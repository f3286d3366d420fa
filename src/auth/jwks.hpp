// Verification keys: JWT_SECRET and the keys of a JWKS document (RFC 7517), parsed once at
// start-up into ready OpenSSL keys, each pinned to the algorithms of its type and curve.
#pragma once

#include "auth/jwt_alg.hpp"
#include "common/result.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st; // OpenSSL's EVP_PKEY

namespace walcast::auth {

/// Key type and, for EC/OKP, curve: what decides the algorithms a key may verify.
enum class KeyType {
    Oct,     ///< shared secret: HS256/384/512 only
    Rsa,     ///< RS256/384/512 only
    EcP256,  ///< ES256 only
    EcP384,  ///< ES384 only
    EcP521,  ///< ES512 only
    Ed25519, ///< EdDSA or Ed25519
    Ed448,   ///< EdDSA or Ed448
};

/// One verification key. Immutable after creation; verify() may run on any number of threads
/// at once. Copies share the OpenSSL key.
class VerifyKey {
public:
    /// A shared secret (the bytes of JWT_SECRET, or the decoded `k` of an oct JWK).
    static VerifyKey secret(std::string bytes, std::string kid = {},
                            std::optional<JwtAlg> jwk_alg = std::nullopt);

    /// A key from one JWK object (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2); see parse_jwks
    /// for what is supported. Errors (Errc::Config) say what is wrong with this key and how
    /// to fix it, without naming the option (parse_jwks adds that). Start-up only.
    static Result<VerifyKey> from_jwk(const boost::json::object& jwk);

    KeyType type() const { return type_; }
    /// The JWK `kid`; empty for JWT_SECRET and JWKs without one.
    const std::string& kid() const { return kid_; }
    /// The JWK `alg` when the JWK names one.
    std::optional<JwtAlg> jwk_alg() const { return jwk_alg_; }

    /// True when alg belongs to this key's type/curve (see KeyType) and equals the JWK `alg`
    /// if there is one. This is the algorithm pinning: an HS* token never reaches a public
    /// key, an RS* token never a secret, ES256 never a P-384 key.
    bool accepts(JwtAlg alg) const;

    /// Checks a JWS signature: signing_input is the ASCII "<header>.<payload>" of the token,
    /// signature the base64url-decoded third part (ES*: raw R||S of RFC 7518 §3.4). False
    /// when accepts(alg) is false or the signature does not verify. HMAC comparison is
    /// constant-time. No allocation beyond OpenSSL's per-call digest context.
    bool verify(JwtAlg alg, std::string_view signing_input, std::string_view signature) const;

    /// For logs: `kid "k1" (RSA 2048 bits)`, `JWT_SECRET (32 bytes)`.
    std::string describe() const;

private:
    KeyType type_ = KeyType::Oct;
    std::string kid_;
    std::optional<JwtAlg> jwk_alg_;
    std::string secret_;                ///< Oct only
    std::shared_ptr<evp_pkey_st> pkey_; ///< all other types
    int bits_ = 0;
};

/// Parses a JWKS document {"keys":[JWK, …]}. Supported: kty RSA (n, e; >= 2048 bits), EC
/// (crv P-256/P-384/P-521; x, y checked to be on the curve), OKP (crv Ed25519/Ed448; x), oct
/// (k). Keys with `use` other than "sig" are skipped (they are not for signatures); private
/// members (`d`, …) are ignored, only the public part is kept. Errors (Errc::Config) name the
/// option, the key by index and kid, and the fix: bad JSON, no `keys` array, unsupported
/// kty/crv, a JWK `alg` that does not fit its key, bad key material, duplicate kid. Start-up
/// only; any thread.
Result<std::vector<VerifyKey>> parse_jwks(std::string_view document);

/// Loads the JWT_JWKS option: a JWKS JSON document when its first non-blank character is
/// '{', else the path of a file holding one (read now, at most 1 MiB). Errors as parse_jwks,
/// plus an unreadable path.
Result<std::vector<VerifyKey>> load_jwks(std::string_view option_value);

} // namespace walcast::auth
