#include "auth/token_error.hpp"

#include "common/json_writer.hpp"

namespace walcast::auth {
namespace {

constexpr std::string_view signer_suffix = "check your JWT secret or JWKS configuration";

std::string expired_text(std::int64_t seconds) {
    return "Token has expired " + std::to_string(seconds) + " seconds ago";
}

std::string claim_text(const TokenFailure& f) {
    if (f.error == TokenError::ClaimNotNumber) return "Claim `" + f.claim + "` must be a number";
    return "Claim `" + f.claim + "` does not match JWT_CLAIM_VALIDATORS";
}

} // namespace

TokenFailure TokenFailure::missing() {
    TokenFailure f;
    f.error = TokenError::Missing;
    f.detail = "no token: pass the JWT as the apikey query parameter or the x-api-key header";
    return f;
}

TokenFailure TokenFailure::expired(std::int64_t exp, std::int64_t now_unix_s) {
    TokenFailure f;
    if (exp <= 0) {
        f.error = TokenError::ExpNotPositive;
        f.detail = "exp is " + std::to_string(exp) + ": issue tokens with exp in the future";
        return f;
    }
    f.error = TokenError::Expired;
    f.seconds = now_unix_s > exp ? now_unix_s - exp : 0;
    f.detail = "exp " + std::to_string(exp) + " is " + std::to_string(f.seconds) +
               " s in the past: refresh the token (access_token event) before it expires";
    return f;
}

unsigned TokenFailure::http_status() const {
    switch (error) {
    case TokenError::ExpNotNumber:
    case TokenError::ClaimNotNumber:
    case TokenError::ClaimMismatch:
        return 500;
    default:
        return 401;
    }
}

std::string TokenFailure::http_message() const {
    switch (error) {
    case TokenError::Missing:
        return "API key is missing";
    case TokenError::Malformed:
        return "The token provided is not a valid JWT";
    case TokenError::NoSigner:
        return "Failed to generate JWT signer, " + std::string(signer_suffix);
    case TokenError::UnknownKid:
        return "Failed to generate JWT signer for key ID (kid) \"" + kid + "\", " +
               std::string(signer_suffix);
    case TokenError::BadSignature:
        return "Failed to validate JWT signature";
    case TokenError::Expired:
    case TokenError::ExpNotPositive:
        return "Token has expired";
    case TokenError::NotYetValid:
        return "Token is not valid yet";
    case TokenError::MissingClaims:
        return "Fields `role` and `exp` are required in JWT";
    case TokenError::ExpNotNumber:
    case TokenError::ClaimNotNumber:
    case TokenError::ClaimMismatch:
        return "Error connecting to Realtime";
    }
    return "Error connecting to Realtime";
}

std::string TokenFailure::http_body() const {
    std::string body = "{\"error\":";
    json::append_string(body, http_message());
    body += '}';
    return body;
}

std::string TokenFailure::system_message() const {
    switch (error) {
    case TokenError::Expired:
        return expired_text(seconds);
    case TokenError::ExpNotPositive:
    case TokenError::ExpNotNumber:
        return "Token expiration time is invalid";
    case TokenError::NotYetValid:
        return "Token is not valid yet, it becomes valid in " + std::to_string(seconds) +
               " seconds";
    case TokenError::ClaimNotNumber:
    case TokenError::ClaimMismatch:
        return claim_text(*this);
    default:
        return http_message();
    }
}

std::string TokenFailure::join_reason() const {
    std::string_view code;
    switch (error) {
    case TokenError::Malformed:
        code = "MalformedJWT";
        break;
    case TokenError::NoSigner:
    case TokenError::UnknownKid:
        code = "JwtSignerError";
        break;
    case TokenError::BadSignature:
        code = "JwtSignatureError";
        break;
    case TokenError::ClaimNotNumber:
    case TokenError::ClaimMismatch:
        code = "UnknownErrorOnChannel";
        break;
    default:
        code = "InvalidJWTToken";
        break;
    }
    return std::string(code) + ": " + system_message();
}

Error TokenFailure::to_error() const {
    const Errc code = (error == TokenError::Malformed || error == TokenError::Missing)
                          ? Errc::InvalidInput
                          : Errc::PermissionDenied;
    return make_error(code, "JWT refused (" + http_message() + "): " + detail);
}

} // namespace walcast::auth
