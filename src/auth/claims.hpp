// The verified claims of a JWT: the Postgres role, the expiry, the whole claims object that
// RLS policies read through current_setting('request.jwt.claims', true), and an identity key
// for grouping subscribers whose tokens authorize the same rows (issue 4).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace walcast::auth {

/// Claims of a token that passed JwtVerifier::verify. Immutable once built; share it as
/// std::shared_ptr<const Claims> across threads.
struct Claims {
    std::string role;               ///< `role`: the Postgres role to check as (non-empty)
    std::int64_t exp = 0;           ///< `exp`, Unix seconds, rounded half away from zero
    std::optional<std::string> sub; ///< `sub` when it is a string
    boost::json::object object;     ///< every claim as in the token (duplicate keys: last wins)
    std::string json;               ///< `object` serialized: the value for request.jwt.claims
    /// Same for two tokens exactly when their claims are equal apart from `exp` and key order
    /// (canonical_json of the claims without `exp`). Why `exp` is left out: walcast itself
    /// refuses a token at its exp (joins, refreshes, and the expiry watchdog closing the
    /// channel), so two live tokens differing only in exp pass every policy alike unless a
    /// policy computes with exp itself, which we accept; tokens refreshed by the same session
    /// (new exp) then keep sharing one RLS check. `iat`, `nbf`, `jti` stay in: revocation-style
    /// policies read them (`iat > password_changed_at`, jti deny lists). Whoever groups by
    /// this key must run the check with any one member's `json` and accept that policies see
    /// that member's exp.
    std::string identity_key;

    /// Builds Claims from a claims object whose `role` and `exp` were already validated.
    /// exp: the rounded `exp` value in Unix seconds. Pure function, any thread.
    static Claims from_object(boost::json::object object, std::string role, std::int64_t exp);
};

/// Serializes v with object keys sorted by byte value at every depth and no whitespace;
/// arrays keep their order; strings and numbers as Boost.JSON serializes them (so 1 and 1.0
/// differ). Equal JSON values with different key order give equal text. Pure, any thread.
std::string canonical_json(const boost::json::value& v);

} // namespace walcast::auth
