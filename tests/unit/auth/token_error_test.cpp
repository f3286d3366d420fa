// The message table of TokenFailure: exact strings of spec §1.4 (connect), §3.6 (join) and §9
// (system message on refresh/expiry).
#include "auth/token_error.hpp"

#include <gtest/gtest.h>

namespace walcast::auth {
namespace {

TokenFailure of(TokenError e) {
    TokenFailure f;
    f.error = e;
    return f;
}

TEST(TokenErrorTest, MissingTokenIsApiKeyMissing) {
    const auto f = TokenFailure::missing();
    EXPECT_EQ(f.http_status(), 401u);
    EXPECT_EQ(f.http_message(), "API key is missing");
    EXPECT_EQ(f.http_body(), R"({"error":"API key is missing"})");
}

TEST(TokenErrorTest, ExpiredCountsSecondsForJoinAndSystemButNotConnect) {
    const auto f = TokenFailure::expired(1000, 1012);
    EXPECT_EQ(f.error, TokenError::Expired);
    EXPECT_EQ(f.http_status(), 401u);
    EXPECT_EQ(f.http_message(), "Token has expired");
    EXPECT_EQ(f.join_reason(), "InvalidJWTToken: Token has expired 12 seconds ago");
    EXPECT_EQ(f.system_message(), "Token has expired 12 seconds ago");
    // The expiry watchdog firing exactly at exp.
    EXPECT_EQ(TokenFailure::expired(1000, 1000).system_message(),
              "Token has expired 0 seconds ago");
}

TEST(TokenErrorTest, NonPositiveExpIsAnInvalidExpirationTime) {
    const auto f = TokenFailure::expired(0, 1000);
    EXPECT_EQ(f.error, TokenError::ExpNotPositive);
    EXPECT_EQ(f.http_message(), "Token has expired");
    EXPECT_EQ(f.join_reason(), "InvalidJWTToken: Token expiration time is invalid");
    EXPECT_EQ(f.system_message(), "Token expiration time is invalid");
}

TEST(TokenErrorTest, SignerAndSignatureMessages) {
    EXPECT_EQ(of(TokenError::NoSigner).join_reason(),
              "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS "
              "configuration");
    auto kid = of(TokenError::UnknownKid);
    kid.kid = "k\"1";
    EXPECT_EQ(kid.http_message(), "Failed to generate JWT signer for key ID (kid) \"k\"1\", "
                                  "check your JWT secret or JWKS configuration");
    EXPECT_EQ(kid.http_body(),
              R"({"error":"Failed to generate JWT signer for key ID (kid) \"k\"1\", )"
              R"(check your JWT secret or JWKS configuration"})");
    EXPECT_EQ(of(TokenError::BadSignature).join_reason(),
              "JwtSignatureError: Failed to validate JWT signature");
    EXPECT_EQ(of(TokenError::BadSignature).system_message(), "Failed to validate JWT signature");
    EXPECT_EQ(of(TokenError::Malformed).join_reason(),
              "MalformedJWT: The token provided is not a valid JWT");
    EXPECT_EQ(of(TokenError::Malformed).system_message(), "The token provided is not a valid JWT");
    EXPECT_EQ(of(TokenError::MissingClaims).system_message(),
              "Fields `role` and `exp` are required in JWT");
}

TEST(TokenErrorTest, ValidatorAndClaimTypeFailuresAre500AtConnect) {
    auto f = of(TokenError::ClaimMismatch);
    f.claim = "iss";
    EXPECT_EQ(f.http_status(), 500u);
    EXPECT_EQ(f.http_body(), R"({"error":"Error connecting to Realtime"})");
    EXPECT_EQ(f.join_reason(),
              "UnknownErrorOnChannel: Claim `iss` does not match JWT_CLAIM_VALIDATORS");
    f = of(TokenError::ClaimNotNumber);
    f.claim = "nbf";
    EXPECT_EQ(f.http_status(), 500u);
    EXPECT_EQ(f.system_message(), "Claim `nbf` must be a number");
    EXPECT_EQ(of(TokenError::ExpNotNumber).http_status(), 500u);
}

TEST(TokenErrorTest, ToErrorKeepsTheDetailForLogs) {
    auto f = of(TokenError::BadSignature);
    f.detail = "signature does not verify with JWT_SECRET";
    const Error e = f.to_error();
    EXPECT_EQ(e.code, Errc::PermissionDenied);
    EXPECT_EQ(e.message,
              "JWT refused (Failed to validate JWT signature): signature does not verify with "
              "JWT_SECRET");
    EXPECT_EQ(of(TokenError::Malformed).to_error().code, Errc::InvalidInput);
}

} // namespace
} // namespace walcast::auth
