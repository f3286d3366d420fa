// Claims: what policies read (request.jwt.claims) and the identity key subscribers are grouped
// by (issue 4): equal for the same claims in any key order, different for any other claim.
#include "auth/claims.hpp"
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "support/jwt_mint.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace walcast::auth {
namespace {

constexpr std::int64_t now = 1'800'000'000;
const std::string secret = "claims-test-secret-claims-test-secret-0123";

Claims verified(const std::string& payload_json) {
    Config c;
    c.jwt_secret = secret;
    static const auto v = JwtVerifier::create(c);
    const auto r = v->verify(
        testing::mint_raw(testing::JwtKey::hmac(secret), R"({"alg":"HS256"})", payload_json), now);
    EXPECT_TRUE(r.ok()) << payload_json << ": " << (r.ok() ? "" : r.failure().detail);
    return r.ok() ? r.claims() : Claims{};
}

TEST(ClaimsTest, IdentityKeyIgnoresKeyOrderAtEveryDepth) {
    const Claims a =
        verified(R"({"role":"authenticated","exp":1800003600,"sub":"u1",)"
                 R"("app_metadata":{"provider":"email","teams":["t1","t2"]},"aal":"aal1"})");
    const Claims b =
        verified(R"({"aal":"aal1","app_metadata":{"teams":["t1","t2"],"provider":"email"},)"
                 R"("sub":"u1","exp":1800003600,"role":"authenticated"})");
    EXPECT_EQ(a.identity_key, b.identity_key);
    EXPECT_NE(a.json, b.json); // the text policies read keeps the token's own order
    EXPECT_EQ(a.identity_key,
              R"({"aal":"aal1","app_metadata":{"provider":"email","teams":["t1","t2"]},)"
              R"("role":"authenticated","sub":"u1"})");
}

TEST(ClaimsTest, IdentityKeySharedAcrossExpButNotAcrossOtherClaims) {
    const Claims base = verified(R"({"role":"authenticated","exp":1800003600,"sub":"u1","iat":1})");
    // Same session, refreshed: only exp differs → same identity.
    EXPECT_EQ(
        base.identity_key,
        verified(R"({"role":"authenticated","exp":1800007200,"sub":"u1","iat":1})").identity_key);
    for (const char* other : {
             R"({"role":"anon","exp":1800003600,"sub":"u1","iat":1})",
             R"({"role":"authenticated","exp":1800003600,"sub":"u2","iat":1})",
             R"({"role":"authenticated","exp":1800003600,"sub":"u1","iat":2})",
             R"({"role":"authenticated","exp":1800003600,"sub":"u1","iat":1,"x":null})",
             R"({"role":"authenticated","exp":1800003600,"sub":"u1"})",
             R"({"role":"authenticated","exp":1800003600,"sub":["u1"],"iat":1})",
         })
        EXPECT_NE(base.identity_key, verified(other).identity_key) << other;
}

TEST(ClaimsTest, ExposesRoleExpSubAndTheClaimsText) {
    const Claims c =
        verified(R"({"sub":"abc","role":"authenticated","exp":1800003600,"n":[1,2.5]})");
    EXPECT_EQ(c.role, "authenticated");
    EXPECT_EQ(c.exp, 1800003600);
    EXPECT_EQ(c.sub, "abc");
    EXPECT_EQ(c.json, R"({"sub":"abc","role":"authenticated","exp":1800003600,"n":[1,2.5E0]})");
    EXPECT_EQ(boost::json::parse(c.json), boost::json::value(c.object));
    // A non-string sub stays in the claims but is not a subject string.
    EXPECT_FALSE(verified(R"({"sub":7,"role":"anon","exp":1800003600})").sub.has_value());
}

TEST(ClaimsTest, CanonicalJsonSortsKeysAndEscapesStrings) {
    EXPECT_EQ(canonical_json(boost::json::parse(R"({"b":[{"z":1,"a":"\u0001\""}],"a":null})")),
              R"({"a":null,"b":[{"a":"\u0001\"","z":1}]})");
    EXPECT_NE(canonical_json(boost::json::parse("1")), canonical_json(boost::json::parse("1.0")));
}

} // namespace
} // namespace walcast::auth
