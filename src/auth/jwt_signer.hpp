// Minting HS256 tokens: walcast's embedded mode prints a ready-to-use anon JWT signed with its
// generated secret. (Verification lives in jwt_verifier.hpp.)
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace walcast::auth {

/// A compact JWS: base64url(header {"alg":"HS256","typ":"JWT"}) "." base64url(claims) "."
/// base64url(HMAC-SHA256(secret, signing input)) (RFC 7515, RFC 7518 §3.2). Any thread.
std::string sign_hs256(const boost::json::object& claims, std::string_view secret);

/// A random secret of n bytes rendered as base64url (for JWT_SECRET). Uses OpenSSL's CSPRNG.
std::string random_secret(std::size_t n = 48);

} // namespace walcast::auth
