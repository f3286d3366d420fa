// JwtVerifier: checks the socket token (`apikey`) and channel tokens (`access_token`, join and
// refresh) of spec §1.3 and turns them into Claims or a TokenFailure with the spec's messages.
// Keys come from JWT_SECRET and JWT_JWKS, parsed once at creation.
#pragma once

#include "auth/claims.hpp"
#include "auth/jwks.hpp"
#include "auth/token_error.hpp"
#include "common/result.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace walcast {
struct Config;
}

namespace walcast::auth {

/// Claims or the reason the token was refused.
class [[nodiscard]] VerifyResult {
public:
    VerifyResult(Claims claims) : v_(std::move(claims)) {}
    VerifyResult(TokenFailure failure) : v_(std::move(failure)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    /// Precondition ok().
    const Claims& claims() const& { return std::get<0>(v_); }
    Claims&& claims() && { return std::get<0>(std::move(v_)); }
    /// Precondition !ok().
    const TokenFailure& failure() const& { return std::get<1>(v_); }

private:
    std::variant<Claims, TokenFailure> v_;
};

/// Verifies JWTs against the configured keys. Immutable after create(); verify() is const and
/// safe to call from any number of threads at once.
class JwtVerifier {
public:
    /// Longest token accepted (after cleaning); longer ones are Malformed.
    static constexpr std::size_t max_token_bytes = 64 * 1024;

    /// Builds the verifier from config.jwt_secret (raw bytes, HS256/384/512), config.jwt_jwks
    /// (see load_jwks) and config.jwt_claim_validators (a JSON object of required claim
    /// values, "" = none). At least one of JWT_SECRET and JWT_JWKS must give a key. Errors are
    /// start-up errors (Errc::Config) naming the option and the fix. Logs a warning for a
    /// JWT_SECRET shorter than 32 bytes.
    static Result<JwtVerifier> create(const Config& config);

    /// Verifies token at time now_unix_s (Unix seconds) and returns its claims or why it was
    /// refused. Steps, in this order (spec §1.3, RT jwt_verification.ex where the spec is
    /// silent):
    ///  1. Clean: percent-decode (%XX; a broken escape is Malformed), then drop ASCII
    ///     whitespace (space, \t, \n, \v, \f, \r).
    ///  2. Parse: exactly three '.'-separated base64url parts (no padding); header and payload
    ///     JSON objects (Boost.JSON, strict; duplicate keys: the last wins). Else Malformed.
    ///     A `crit` header is refused (NoSigner): no JWS extension is supported.
    ///  3. Choose the key, pinned to the header `alg` (never trusting jku/x5u/jwk headers):
    ///     - alg "none" or unsupported → NoSigner.
    ///     - HS256/384/512: with a `kid`, the oct JWK of that kid, else JWT_SECRET (Supabase
    ///       Auth tokens carry a kid whose secret is not in the JWKS). Without a kid,
    ///       JWT_SECRET, else the only oct JWK. Never an RSA/EC/OKP key.
    ///     - RS*, ES*, EdDSA/Ed25519/Ed448: with a `kid`, the JWK of that kid; it must accept
    ///       the alg (kty/crv, and the JWK's own `alg`), else UnknownKid. Without a kid: the
    ///       one JWKS key that accepts the alg, if exactly one does; with several → NoSigner
    ///       (the token must name its kid), with none → NoSigner.
    ///     - A non-string `kid` → NoSigner; an empty-string `kid` counts as no kid.
    ///  4. Signature over "<header>.<payload>" → BadSignature.
    ///  5. Claims: `exp` if present must be a number (else ExpNotNumber), rounded half away
    ///     from zero; <= 0 → ExpNotPositive; <= now → Expired. `iat` and `nbf` if present must
    ///     be numbers (ClaimNotNumber); rounded `nbf` > now → NotYetValid (no leeway, as for
    ///     exp). Each JWT_CLAIM_VALIDATORS entry must be present and equal (JSON equality,
    ///     numbers by value, objects regardless of key order); for `aud` a claim array
    ///     containing the required string also matches (RFC 7519 §4.1.3) → else
    ///     ClaimMismatch. A missing claim fails (the reference skips it; we do not).
    ///  6. `role` (a non-empty string) and `exp` required → else MissingClaims.
    /// Never throws for any input; costs one JSON parse of header and payload and one
    /// signature check, no key parsing.
    VerifyResult verify(std::string_view token, std::int64_t now_unix_s) const;

    /// For the start-up log: which keys are loaded, e.g. `JWT_SECRET; JWT_JWKS: kid "k1" (RSA,
    /// 2048 bits, RS256), kid "k2" (EC P-256, 256 bits)`. Never the secret itself.
    std::string describe() const;

private:
    JwtVerifier() = default;

    struct Selected {
        const VerifyKey* key = nullptr;
        TokenFailure failure;
    };
    Selected select_key(JwtAlg alg, const std::string* kid) const;

    std::vector<VerifyKey> keys_;          ///< JWT_SECRET first (if set), then the JWKS keys
    bool has_secret_ = false;              ///< keys_[0] is JWT_SECRET
    boost::json::object claim_validators_; ///< JWT_CLAIM_VALIDATORS
};

} // namespace walcast::auth
