// What row-level security failures may log: Postgres's error texts quote the values a policy
// failed on, and those are often the token's claims (a `sub` that is an e-mail address, cast
// to uuid by auth.uid()). Logs carry a short hash in their place, never the personal data.
#pragma once

#include "core/identity.hpp"

#include <string>
#include <string_view>

namespace walcast::core {

/// "<claim #xxxxxxxx>": the FNV-1a hash of a claim value (hex), what logs show in its place.
std::string claim_placeholder(std::string_view value);

/// text with every string value of identity's claims (at any depth, 3 characters or more,
/// other than the role) replaced by its claim_placeholder, so that
/// the same value reads the same in every line without being readable. Claims that are not
/// valid JSON leave text unchanged.
std::string redact_claims(std::string_view text, const Identity& identity);

} // namespace walcast::core
