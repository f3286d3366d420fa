// Cross-checks against an independent JWT implementation, libjwt 1.10.2 (its own JSON,
// base64url and ECDSA R||S handling): tokens it mints verify in walcast, tokens the test minter
// makes verify in libjwt, and tampering is caught by both.
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "support/jwt_mint.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <cstring>

namespace walcast::auth {
namespace {

using testing::claims;
using testing::JwtKey;

constexpr std::int64_t now = 1'800'000'000;
const std::string secret = "libjwt-cross-check-secret-0123456789abcdef";

/// A token minted by libjwt: alg, key (secret or private PEM), kid header, claims as JSON.
std::string libjwt_mint(jwt_alg_t alg, const std::string& key, const std::string& kid,
                        const std::string& claims_json) {
    jwt_t* jwt = nullptr;
    EXPECT_EQ(jwt_new(&jwt), 0);
    EXPECT_EQ(jwt_add_grants_json(jwt, claims_json.c_str()), 0);
    if (!kid.empty()) {
        EXPECT_EQ(jwt_add_header(jwt, "kid", kid.c_str()), 0);
    }
    EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                          static_cast<int>(key.size())),
              0);
    char* text = jwt_encode_str(jwt);
    std::string token = text ? text : "";
    std::free(text);
    jwt_free(jwt);
    return token;
}

/// libjwt's verdict on token with key (secret or public PEM): 0 when it verifies.
int libjwt_verify(const std::string& token, const std::string& key) {
    jwt_t* jwt = nullptr;
    const int rc =
        jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                   static_cast<int>(key.size()));
    jwt_free(jwt);
    return rc;
}

const JwtKey& rsa() {
    static const JwtKey k = JwtKey::generate("RS256", "rsa-x");
    return k;
}
const JwtKey& ec256() {
    static const JwtKey k = JwtKey::generate("ES256", "ec-x");
    return k;
}
const JwtKey& ec384() {
    static const JwtKey k = JwtKey::generate("ES384", "ec-y");
    return k;
}

JwtVerifier verifier() {
    // The RSA JWK without "alg", so one key verifies RS256, RS384 and RS512.
    auto rsa_jwk = rsa().public_jwk();
    rsa_jwk.erase("alg");
    Config c;
    c.jwt_secret = secret;
    c.jwt_jwks = boost::json::serialize(boost::json::object{
        {"keys", boost::json::array{rsa_jwk, ec256().public_jwk(), ec384().public_jwk()}}});
    auto v = JwtVerifier::create(c);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return std::move(v).value();
}

TEST(LibjwtCrossCheckTest, WalcastVerifiesTokensMintedByLibjwt) {
    const auto v = verifier();
    const std::string payload = R"({"role":"authenticated","exp":1800003600,"sub":"u-9"})";
    struct Case {
        jwt_alg_t alg;
        std::string key;
        std::string kid;
    };
    const Case cases[] = {
        {JWT_ALG_HS256, secret, ""},
        {JWT_ALG_HS384, secret, ""},
        {JWT_ALG_HS512, secret, ""},
        {JWT_ALG_RS256, rsa().private_pem(), "rsa-x"},
        {JWT_ALG_RS384, rsa().private_pem(), "rsa-x"},
        {JWT_ALG_RS512, rsa().private_pem(), "rsa-x"},
        {JWT_ALG_ES256, ec256().private_pem(), "ec-x"},
        {JWT_ALG_ES384, ec384().private_pem(), "ec-y"},
    };
    for (const auto& c : cases) {
        const std::string token = libjwt_mint(c.alg, c.key, c.kid, payload);
        ASSERT_FALSE(token.empty()) << jwt_alg_str(c.alg);
        const auto r = v.verify(token, now);
        ASSERT_TRUE(r.ok()) << jwt_alg_str(c.alg) << ": " << r.failure().detail;
        EXPECT_EQ(r.claims().role, "authenticated");
        EXPECT_EQ(r.claims().sub, "u-9");
        EXPECT_EQ(r.claims().exp, 1800003600);
        // One changed payload character breaks it.
        std::string tampered = token;
        const auto dot = tampered.find('.');
        tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
        EXPECT_FALSE(v.verify(tampered, now).ok()) << jwt_alg_str(c.alg);
    }
}

TEST(LibjwtCrossCheckTest, LibjwtVerifiesTokensOfTheTestMinter) {
    const std::string hs = testing::mint(JwtKey::hmac(secret, "HS384"), claims("anon", now + 60));
    EXPECT_EQ(libjwt_verify(hs, secret), 0);
    EXPECT_NE(libjwt_verify(hs, "another-secret"), 0);
    for (const JwtKey* key : {&rsa(), &ec256(), &ec384()}) {
        const std::string token = testing::mint(*key, claims("anon", now + 60));
        EXPECT_EQ(libjwt_verify(token, key->public_pem()), 0) << key->alg();
        const std::string tampered = testing::replace_part(
            token, 1, boost::json::serialize(claims("service_role", now + 60)));
        EXPECT_NE(libjwt_verify(tampered, key->public_pem()), 0) << key->alg();
    }
}

} // namespace
} // namespace walcast::auth
