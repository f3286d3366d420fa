// Creating the verifier from JWT_SECRET / JWT_JWKS / JWT_CLAIM_VALIDATORS: supported keys load,
// and every bad configuration is a start-up error naming the option and the fix.
#include "auth/jwks.hpp"
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "support/jwt_mint.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace walcast::auth {
namespace {

using testing::claims;
using testing::jwks_json;
using testing::JwtKey;
using testing::mint;

constexpr std::int64_t now = 1'800'000'000;

Result<JwtVerifier> create(std::string secret, std::string jwks, std::string validators = {}) {
    Config c;
    c.jwt_secret = std::move(secret);
    c.jwt_jwks = std::move(jwks);
    c.jwt_claim_validators = std::move(validators);
    return JwtVerifier::create(c);
}

/// The error message of a failed creation, "" when it succeeded.
std::string create_error(std::string secret, std::string jwks, std::string validators = {}) {
    auto v = create(std::move(secret), std::move(jwks), std::move(validators));
    if (v.ok()) return "";
    EXPECT_EQ(v.error().code, Errc::Config);
    return v.error().message;
}

std::string jwks_with(const boost::json::object& jwk) {
    return boost::json::serialize(boost::json::object{{"keys", boost::json::array{jwk}}});
}

const JwtKey& rsa_key() {
    static const JwtKey k = JwtKey::generate("RS256", "rsa-1");
    return k;
}

TEST(JwksTest, RequiresASecretOrAJwks) {
    const std::string msg = create_error("", "");
    EXPECT_NE(msg.find("JWT_SECRET"), std::string::npos) << msg;
    EXPECT_NE(msg.find("JWT_JWKS"), std::string::npos) << msg;
}

TEST(JwksTest, LoadsJwksFromAFilePath) {
    char path[] = "/tmp/walcast_jwks_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    { std::ofstream(path) << jwks_json({&rsa_key()}); }
    auto v = create("", path);
    std::remove(path);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_TRUE(v->verify(mint(rsa_key(), claims("anon", now + 60)), now).ok());
    EXPECT_EQ(v->describe(), "JWT_JWKS: kid \"rsa-1\" (RSA, 2048 bits, RS256)");
}

TEST(JwksTest, UnreadablePathNamesOptionAndPath) {
    const std::string msg = create_error("", "/nonexistent/jwks.json");
    EXPECT_NE(msg.find("--jwt-jwks (JWT_JWKS)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/nonexistent/jwks.json"), std::string::npos) << msg;
}

TEST(JwksTest, BadJsonAndWrongShapeNameTheOption) {
    for (const char* doc : {"{not json", "{\"kty\":\"RSA\"}", "{\"keys\":{}}", "{\"keys\":[1]}"}) {
        const std::string msg = create_error("", doc);
        EXPECT_NE(msg.find("--jwt-jwks (JWT_JWKS)"), std::string::npos) << doc << ": " << msg;
    }
}

TEST(JwksTest, RefusesUnsupportedKeyTypesAndCurves) {
    for (const auto& jwk : {
             boost::json::object{{"kty", "RSA-PSS"}, {"kid", "a"}},
             boost::json::object{{"kty", "EC"}, {"crv", "secp256k1"}, {"x", "AA"}, {"y", "AA"}},
             boost::json::object{{"kty", "OKP"}, {"crv", "X25519"}, {"x", "AA"}},
         }) {
        const std::string msg = create_error("", jwks_with(jwk));
        EXPECT_NE(msg.find("unsupported key type"), std::string::npos) << msg;
        EXPECT_NE(msg.find("key 0"), std::string::npos) << msg;
    }
}

TEST(JwksTest, RefusesJwkAlgThatDoesNotFitTheKey) {
    auto jwk = rsa_key().public_jwk();
    jwk["alg"] = "ES256";
    const std::string msg = create_error("", jwks_with(jwk));
    EXPECT_NE(msg.find("does not fit a RSA key"), std::string::npos) << msg;
    EXPECT_NE(msg.find("kid \"rsa-1\""), std::string::npos) << msg;
    jwk["alg"] = "none";
    EXPECT_NE(create_error("", jwks_with(jwk)), "");
}

TEST(JwksTest, RefusesShortRsaKeysAndPointsOffTheCurve) {
    // 1024-bit modulus (any odd number of that size will do for the size check).
    auto rsa = rsa_key().public_jwk();
    rsa["n"] = testing::b64url(std::string(128, '\xC5'));
    const std::string rsa_msg = create_error("", jwks_with(rsa));
    EXPECT_NE(rsa_msg.find("2048 bits"), std::string::npos) << rsa_msg;

    auto ec = JwtKey::generate("ES256", "ec").public_jwk();
    std::string y = testing::b64url(std::string(32, '\x01'));
    ec["y"] = y;
    const std::string ec_msg = create_error("", jwks_with(ec));
    EXPECT_NE(ec_msg.find("on the curve"), std::string::npos) << ec_msg;

    auto ed = JwtKey::generate("EdDSA", "ed").public_jwk();
    ed["x"] = testing::b64url(std::string(31, '\x01'));
    EXPECT_NE(create_error("", jwks_with(ed)).find("32 bytes"), std::string::npos);
    ed["x"] = "not base64url!";
    EXPECT_NE(create_error("", jwks_with(ed)).find("base64url"), std::string::npos);
}

TEST(JwksTest, RefusesDuplicateKids) {
    const JwtKey other = JwtKey::generate("ES256", "rsa-1");
    const std::string msg = create_error("", jwks_json({&rsa_key(), &other}));
    EXPECT_NE(msg.find("kid is used by an earlier key"), std::string::npos) << msg;
}

TEST(JwksTest, SkipsEncryptionKeysAndIgnoresPrivateMembers) {
    auto enc = JwtKey::generate("ES256", "enc-1").public_jwk();
    enc["use"] = "enc";
    auto sig = rsa_key().public_jwk();
    sig["d"] = "AQAB"; // private exponent must not matter
    const std::string doc =
        boost::json::serialize(boost::json::object{{"keys", boost::json::array{enc, sig}}});
    auto v = create("", doc);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->describe(), "JWT_JWKS: kid \"rsa-1\" (RSA, 2048 bits, RS256)");
    EXPECT_EQ(v->verify(mint(JwtKey::generate("ES256", "enc-1"), claims("anon", now + 60)), now)
                  .failure()
                  .error,
              TokenError::UnknownKid);
}

TEST(JwksTest, JwkWithoutAlgIsPinnedByItsTypeOnly) {
    // (libjwt_cross_check_test signs RS256/384/512 with one key for the same JWK.)
    const JwtKey rs512 = JwtKey::generate("RS512", "rsa-512");
    auto jwk = rs512.public_jwk();
    jwk.erase("alg");
    auto v = create("", jwks_with(jwk));
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_TRUE(v->verify(mint(rs512, claims("anon", now + 60)), now).ok());
    // Still never an HS or ES token.
    const std::string payload = boost::json::serialize(claims("anon", now + 60));
    EXPECT_FALSE(
        v->verify(testing::mint_raw(rs512, R"({"alg":"ES512","kid":"rsa-512"})", payload), now)
            .ok());
}

TEST(JwksTest, SecretAndJwksTogetherAndDescribe) {
    const JwtKey ed = JwtKey::generate("EdDSA", "ed-1");
    auto v = create("0123456789abcdef0123456789abcdef", jwks_json({&ed}));
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->describe(), "JWT_SECRET; JWT_JWKS: kid \"ed-1\" (OKP Ed25519, 256 bits, EdDSA)");
}

TEST(JwksTest, ClaimValidatorsMustBeAJsonObject) {
    for (const char* bad : {"[1]", "\"iss\"", "{oops"}) {
        const std::string msg = create_error("secret-secret-secret-secret-secret!", "", bad);
        EXPECT_NE(msg.find("--jwt-claim-validators (JWT_CLAIM_VALIDATORS)"), std::string::npos)
            << msg;
    }
}

} // namespace
} // namespace walcast::auth
