// Why a JWT was refused, and the exact texts each protocol surface shows for it: the HTTP
// upgrade refusal (spec §1.4), the join error reply (§3.6) and the channel `system` message
// on refresh/expiry (§9). Spec = docs/protocol/supabase-realtime.md.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <string>

namespace walcast::auth {

/// The classes of token failure. Each maps to one row of the spec's tables.
enum class TokenError {
    Missing,        ///< no token at all (connect without `apikey`)
    Malformed,      ///< not three base64url parts of JSON objects (incl. `sb_…` keys, JWE)
    NoSigner,       ///< no key for the header: alg none/unknown, no JWT_SECRET, no kid among
                    ///< several JWKS keys, `crit` header
    UnknownKid,     ///< header `kid` names no key usable with the header's alg
    BadSignature,   ///< signature does not verify with the selected key
    Expired,        ///< `exp` <= now (and > 0)
    ExpNotPositive, ///< `exp` <= 0
    ExpNotNumber,   ///< `exp` present but not a number (or out of range)
    ClaimNotNumber, ///< `iat` or `nbf` present but not a number
    NotYetValid,    ///< `nbf` > now (spec is silent; walcast's choice)
    MissingClaims,  ///< `role` (non-empty string) or `exp` absent
    ClaimMismatch,  ///< a JWT_CLAIM_VALIDATORS value not matched
};

/// A refused token: the class, the values the messages need, and a log-only detail that
/// names the cause and the fix. Messages, per error: HTTP status, http_message (§1.4), and
/// join_reason (§3.6); system_message() (§9) is join_reason() without its "<Code>: " prefix.
///  - Missing:        401 "API key is missing"; "InvalidJWTToken: API key is missing"
///  - Malformed:      401 "The token provided is not a valid JWT"; "MalformedJWT: …" same text
///  - NoSigner:       401 "Failed to generate JWT signer, check your JWT secret or JWKS
///                    configuration"; "JwtSignerError: …" same text
///  - UnknownKid:     401 "Failed to generate JWT signer for key ID (kid) "<kid>", check your
///                    JWT secret or JWKS configuration"; "JwtSignerError: …" same text
///  - BadSignature:   401 "Failed to validate JWT signature"; "JwtSignatureError: …" same text
///  - Expired:        401 "Token has expired"; "InvalidJWTToken: Token has expired N seconds ago"
///  - ExpNotPositive: 401 "Token has expired"; "InvalidJWTToken: Token expiration time is
///                    invalid"
///  - ExpNotNumber:   500 "Error connecting to Realtime"; "InvalidJWTToken: Token expiration
///                    time is invalid"
///  - ClaimNotNumber: 500 "Error connecting to Realtime"; "UnknownErrorOnChannel: Claim `iat`
///                    must be a number" (or `nbf`)
///  - NotYetValid:    401 "Token is not valid yet"; "InvalidJWTToken: Token is not valid yet, it
///                    becomes valid in N seconds" (not in the spec: walcast's wording)
///  - MissingClaims:  401 "Fields `role` and `exp` are required in JWT"; "InvalidJWTToken: …"
///  - ClaimMismatch:  500 "Error connecting to Realtime"; "UnknownErrorOnChannel: Claim `aud`
///                    does not match JWT_CLAIM_VALIDATORS"
struct TokenFailure {
    TokenError error = TokenError::Malformed;
    std::string detail;       ///< for logs only: what exactly failed and how to fix it
    std::string kid;          ///< UnknownKid: the header's kid
    std::string claim;        ///< ClaimNotNumber, ClaimMismatch: the claim's name
    std::int64_t seconds = 0; ///< Expired: now − exp; NotYetValid: nbf − now (both >= 0)

    /// The failure for a connect without any token (`apikey` absent / not a string).
    static TokenFailure missing();
    /// The failure for a token whose exp (Unix seconds) is not after now_unix_s; used by
    /// verify() and by the expiry watchdog of a joined channel (§9: "Token has expired 0
    /// seconds ago" when it fires on time). exp <= 0 gives ExpNotPositive.
    static TokenFailure expired(std::int64_t exp, std::int64_t now_unix_s);

    /// HTTP status of the refused upgrade (spec §1.4): 401, or 500 for the "anything else"
    /// row (claim type and JWT_CLAIM_VALIDATORS failures).
    unsigned http_status() const;
    /// The `error` text of the §1.4 JSON body.
    std::string http_message() const;
    /// The whole §1.4 body: {"error":"<http_message>"}.
    std::string http_body() const;
    /// The §3.6 join error `reason`, "<Code>: <message>".
    std::string join_reason() const;
    /// The §9 `system` message text (status "error", then phx_close).
    std::string system_message() const;
    /// An Error for logs: class PermissionDenied (InvalidInput for Malformed/Missing),
    /// message "JWT refused (<http_message>): <detail>".
    Error to_error() const;
};

} // namespace walcast::auth
