// Identity: who a channel reads as — the JWT role and the full claims policies see through
// request.jwt.claims. Subscribers with equal identities share authorization work.
#pragma once

#include "auth/claims.hpp"

#include <memory>
#include <string>

namespace walcast::core {

/// A role plus claims. Immutable; compared by key.
struct Identity {
    std::string role;        ///< Postgres role (claims.role)
    std::string claims_json; ///< the claims object as JSON text, set as request.jwt.claims
    std::string key;         ///< canonical (role, claims) key: equal identities, equal keys
};
using IdentityPtr = std::shared_ptr<const Identity>;

/// The identity a verified token reads as: its role, its claims JSON and its identity key
/// (auth::Claims::identity_key: equal apart from `exp`).
inline IdentityPtr identity_of(const auth::Claims& claims) {
    return std::make_shared<const Identity>(
        Identity{claims.role, claims.json, claims.identity_key});
}

} // namespace walcast::core
