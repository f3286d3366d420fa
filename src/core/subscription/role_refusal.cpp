#include "core/subscription/role_refusal.hpp"

namespace walcast::core {

std::string describe_role_refusal(const SubscribeError& e) {
    using Kind = SubscribeError::Kind;
    switch (e.kind) {
    case Kind::PrivilegedRole:
        return "role \"" + e.role + "\" has " + e.attribute +
               ", which bypasses row-level security: tokens naming it are refused. Fix: sign the "
               "token with a role row-level security applies to, or add this role to "
               "JWT_ALLOWED_ROLES";
    case Kind::UnknownRole:
        return "role \"" + e.role + "\" of this token does not exist";
    case Kind::CannotAssumeRole:
        return "the server cannot assume role \"" + e.role +
               "\" of this token (its database user \"" + e.user +
               "\" is not a member of it). Fix: " + e.fix;
    default:
        return "the token's role could not be checked: " + e.message;
    }
}

} // namespace walcast::core
