// Why a token's role was refused, in the words of the front ends that run queries or policies as
// the role (live queries, GraphQL, private Broadcast/Presence channels); Postgres Changes words
// it as the reference does (protocol/supabase).
#pragma once

#include "core/subscription/subscribe.hpp"

#include <string>

namespace walcast::core {

/// UnknownRole, CannotAssumeRole and PrivilegedRole with the fix named; any other kind: "the
/// token's role could not be checked: <message>". Callers prefix what was refused.
std::string describe_role_refusal(const SubscribeError& e);

} // namespace walcast::core
