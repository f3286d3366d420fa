// JwtVerifier: valid tokens of every supported alg, and every token attack of issue 4, each
// refused with the spec's exact connect (§1.4) and join (§3.6) messages.
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "support/jwt_mint.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace walcast::auth {
namespace {

using testing::b64url;
using testing::claims;
using testing::jwks_json;
using testing::JwtKey;
using testing::mint;
using testing::mint_raw;
using testing::replace_part;
using testing::unsigned_token;

constexpr std::int64_t now = 1'800'000'000; // fixed clock: tests do not depend on the date
constexpr std::int64_t later = now + 3600;
const std::string secret = "super-secret-jwt-token-with-at-least-32-characters-long";

const std::string signer_msg =
    "Failed to generate JWT signer, check your JWT secret or JWKS configuration";

/// Asymmetric keys, generated once per binary (RSA generation is slow under ASan).
struct Keys {
    JwtKey rs256 = JwtKey::generate("RS256", "rsa-256");
    JwtKey rs384 = JwtKey::generate("RS384", "rsa-384");
    JwtKey rs512 = JwtKey::generate("RS512", "rsa-512");
    JwtKey es256 = JwtKey::generate("ES256", "ec-256");
    JwtKey es384 = JwtKey::generate("ES384", "ec-384");
    JwtKey es512 = JwtKey::generate("ES512", "ec-521");
    JwtKey eddsa = JwtKey::generate("EdDSA", "ed-1");
    JwtKey oct = JwtKey::hmac("an-oct-key-from-the-jwks-document-0123456789", "HS256", "oct-1");
    std::vector<const JwtKey*> all() const {
        return {&rs256, &rs384, &rs512, &es256, &es384, &es512, &eddsa, &oct};
    }
};
const Keys& keys() {
    static const Keys k;
    return k;
}

JwtVerifier make_verifier(std::string jwt_secret, std::string jwks, std::string validators = {}) {
    Config c;
    c.jwt_secret = std::move(jwt_secret);
    c.jwt_jwks = std::move(jwks);
    c.jwt_claim_validators = std::move(validators);
    auto v = JwtVerifier::create(c);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return std::move(v).value();
}

const JwtVerifier& full_verifier() {
    static const JwtVerifier v = make_verifier(secret, jwks_json(keys().all()));
    return v;
}

/// Checks a refusal: its class, the §1.4 status and body text, the §3.6 join reason.
::testing::AssertionResult refused(const VerifyResult& r, TokenError error, unsigned status,
                                   const std::string& http, const std::string& join) {
    if (r.ok())
        return ::testing::AssertionFailure() << "token was accepted, role " << r.claims().role;
    const auto& f = r.failure();
    if (f.error != error || f.http_status() != status || f.http_message() != http ||
        f.join_reason() != join)
        return ::testing::AssertionFailure()
               << "got error " << static_cast<int>(f.error) << ", " << f.http_status() << " \""
               << f.http_message() << "\", join \"" << f.join_reason() << "\" (detail: " << f.detail
               << ")";
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult bad_signature(const VerifyResult& r) {
    return refused(r, TokenError::BadSignature, 401, "Failed to validate JWT signature",
                   "JwtSignatureError: Failed to validate JWT signature");
}

::testing::AssertionResult no_signer(const VerifyResult& r) {
    return refused(r, TokenError::NoSigner, 401, signer_msg, "JwtSignerError: " + signer_msg);
}

::testing::AssertionResult unknown_kid(const VerifyResult& r, const std::string& kid) {
    const std::string msg = "Failed to generate JWT signer for key ID (kid) \"" + kid +
                            "\", check your JWT secret or JWKS configuration";
    return refused(r, TokenError::UnknownKid, 401, msg, "JwtSignerError: " + msg);
}

::testing::AssertionResult malformed(const VerifyResult& r) {
    return refused(r, TokenError::Malformed, 401, "The token provided is not a valid JWT",
                   "MalformedJWT: The token provided is not a valid JWT");
}

::testing::AssertionResult missing_claims(const VerifyResult& r) {
    return refused(r, TokenError::MissingClaims, 401, "Fields `role` and `exp` are required in JWT",
                   "InvalidJWTToken: Fields `role` and `exp` are required in JWT");
}

// --- valid tokens ---

TEST(JwtVerifierTest, AcceptsHs256Hs384Hs512SignedWithJwtSecret) {
    const auto v = make_verifier(secret, "");
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
        const auto r =
            v.verify(mint(JwtKey::hmac(secret, alg), claims("authenticated", later, "u-1")), now);
        ASSERT_TRUE(r.ok()) << alg << ": " << r.failure().detail;
        EXPECT_EQ(r.claims().role, "authenticated");
        EXPECT_EQ(r.claims().exp, later);
        EXPECT_EQ(r.claims().sub, "u-1");
        EXPECT_EQ(r.claims().json, "{\"role\":\"authenticated\",\"exp\":" + std::to_string(later) +
                                       ",\"sub\":\"u-1\"}");
    }
}

TEST(JwtVerifierTest, AcceptsEveryAsymmetricAlgViaJwksKid) {
    for (const JwtKey* key : keys().all()) {
        const auto r = full_verifier().verify(mint(*key, claims("anon", later)), now);
        ASSERT_TRUE(r.ok()) << key->alg() << " kid " << key->kid() << ": " << r.failure().detail;
        EXPECT_EQ(r.claims().role, "anon");
        EXPECT_FALSE(r.claims().sub.has_value());
    }
}

TEST(JwtVerifierTest, HsTokenWithKidNotInJwksUsesJwtSecret) {
    // Supabase Auth signs HS256 tokens with a kid whose secret is never published.
    const auto r = full_verifier().verify(
        mint(JwtKey::hmac(secret, "HS256", "supabase-auth-kid"), claims("anon", later)), now);
    ASSERT_TRUE(r.ok()) << r.failure().detail;
}

TEST(JwtVerifierTest, HsTokenWithOctKidUsesThatKeyNotJwtSecret) {
    const auto& oct = keys().oct;
    EXPECT_TRUE(full_verifier().verify(mint(oct, claims("anon", later)), now).ok());
    // Same kid, signed with JWT_SECRET: the oct key is chosen, so the signature fails.
    EXPECT_TRUE(bad_signature(full_verifier().verify(
        mint(JwtKey::hmac(secret, "HS256", oct.kid()), claims("anon", later)), now)));
    // The oct JWK says alg HS256: an HS512 token naming it has no signer.
    EXPECT_TRUE(unknown_kid(
        full_verifier().verify(
            mint(JwtKey::hmac(oct.secret(), "HS512", oct.kid()), claims("anon", later)), now),
        oct.kid()));
}

TEST(JwtVerifierTest, TokenWithoutKidUsesTheOnlyKeyForItsAlg) {
    const JwtKey& rs = keys().rs256;
    const auto v = make_verifier("", jwks_json({&rs, &keys().es256}));
    const std::string token = mint_raw(rs, R"({"alg":"RS256","typ":"JWT"})",
                                       boost::json::serialize(claims("anon", later)));
    ASSERT_TRUE(v.verify(token, now).ok());
}

TEST(JwtVerifierTest, RefusesTokenWithoutKidWhenSeveralKeysFitItsAlg) {
    const JwtKey other = JwtKey::generate("ES256", "ec-other");
    const auto v = make_verifier("", jwks_json({&keys().es256, &other}));
    const std::string token = mint_raw(keys().es256, R"({"alg":"ES256","typ":"JWT"})",
                                       boost::json::serialize(claims("anon", later)));
    EXPECT_TRUE(no_signer(v.verify(token, now)));
    // With its kid the same signature verifies.
    EXPECT_TRUE(v.verify(mint(keys().es256, claims("anon", later)), now).ok());
}

TEST(JwtVerifierTest, AcceptsWhitespaceNewlinesAndUrlEncoding) {
    const std::string token = mint(JwtKey::hmac(secret), claims("anon", later));
    std::string spaced = " " + token + "\n";
    spaced.insert(20, "\r\n\t ");
    EXPECT_TRUE(full_verifier().verify(spaced, now).ok());

    std::string encoded;
    for (char c : token)
        encoded += (c == '.')   ? std::string("%2E")
                   : (c == '-') ? std::string("%2d")
                                : std::string(1, c);
    encoded += "%0A";
    EXPECT_TRUE(full_verifier().verify(encoded, now).ok());
    EXPECT_TRUE(malformed(full_verifier().verify(token + "%zz", now)));
    EXPECT_TRUE(malformed(full_verifier().verify(token + "%4", now)));
}

TEST(JwtVerifierTest, RoundsDecimalExpHalfAwayFromZero) {
    const JwtKey hs = JwtKey::hmac(secret);
    const auto up =
        full_verifier().verify(mint_raw(hs, R"({"alg":"HS256"})",
                                        R"({"role":"anon","exp":)" + std::to_string(now) + ".5}"),
                               now);
    ASSERT_TRUE(up.ok()) << up.failure().detail;
    EXPECT_EQ(up.claims().exp, now + 1);
    EXPECT_EQ(up.claims().json, R"({"role":"anon","exp":1.8000000005E9})");

    const auto down =
        full_verifier().verify(mint_raw(hs, R"({"alg":"HS256"})",
                                        R"({"role":"anon","exp":)" + std::to_string(now) + ".4}"),
                               now);
    EXPECT_TRUE(refused(down, TokenError::Expired, 401, "Token has expired",
                        "InvalidJWTToken: Token has expired 0 seconds ago"));
}

TEST(JwtVerifierTest, DuplicateClaimKeysLastOneWins) {
    // RFC 7515 §4 allows "lexically last"; policies then see the same value we checked.
    const auto r = full_verifier().verify(
        mint_raw(JwtKey::hmac(secret), R"({"alg":"HS256"})",
                 R"({"role":"service_role","exp":)" + std::to_string(later) + R"(,"role":"anon"})"),
        now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.claims().role, "anon");
    EXPECT_EQ(r.claims().json, R"({"role":"anon","exp":)" + std::to_string(later) + "}");
}

// --- attacks ---

TEST(JwtVerifierTest, RefusesTokenSignedWithAnotherKey) {
    EXPECT_TRUE(bad_signature(full_verifier().verify(
        mint(JwtKey::hmac("not-the-secret-not-the-secret-not-the-secret"), claims("anon", later)),
        now)));
    // A different key pair claiming the kid of a configured key.
    const JwtKey impostor = JwtKey::generate("ES256", keys().es256.kid());
    EXPECT_TRUE(bad_signature(full_verifier().verify(mint(impostor, claims("anon", later)), now)));
    const JwtKey impostor_ed = JwtKey::generate("EdDSA", keys().eddsa.kid());
    EXPECT_TRUE(
        bad_signature(full_verifier().verify(mint(impostor_ed, claims("anon", later)), now)));
}

TEST(JwtVerifierTest, RefusesAlgNoneWithAndWithoutSignature) {
    const std::string payload = boost::json::serialize(claims("service_role", later));
    for (const char* header :
         {R"({"alg":"none","typ":"JWT"})", R"({"alg":"None"})", R"({"alg":"NONE","kid":"rsa-256"})",
          R"({"typ":"JWT"})", R"({"alg":null})"}) {
        EXPECT_TRUE(no_signer(full_verifier().verify(unsigned_token(header, payload), now)))
            << header;
        EXPECT_TRUE(no_signer(
            full_verifier().verify(unsigned_token(header, payload, "forged-signature"), now)))
            << header;
    }
    // Re-using a genuine HS256 signature under alg none does not help either.
    const std::string genuine = mint(JwtKey::hmac(secret), claims("anon", later));
    EXPECT_TRUE(
        no_signer(full_verifier().verify(replace_part(genuine, 0, R"({"alg":"none"})"), now)));
}

TEST(JwtVerifierTest, RefusesHsTokenSignedWithAPublicKey) {
    // HS/RS confusion: the attacker signs HS256 with the public key (PEM or JWK text) as the
    // HMAC secret, hoping the verifier feeds its public key to HMAC.
    const JwtKey& rs = keys().rs256;
    const std::string pem = rs.public_pem();
    const std::string jwk = boost::json::serialize(rs.public_jwk());
    const std::string n = std::string(rs.public_jwk().at("n").as_string());
    for (const std::string& fake : {pem, jwk, n}) {
        // kid of the RSA key, JWT_SECRET configured: HS goes to JWT_SECRET and fails.
        EXPECT_TRUE(bad_signature(full_verifier().verify(
            mint(JwtKey::hmac(fake, "HS256", rs.kid()), claims("service_role", later)), now)));
        // JWKS only: no secret for HS, with or without the RSA key's kid.
        const auto jwks_only = make_verifier("", jwks_json({&rs}));
        EXPECT_TRUE(unknown_kid(
            jwks_only.verify(
                mint(JwtKey::hmac(fake, "HS256", rs.kid()), claims("service_role", later)), now),
            rs.kid()));
        EXPECT_TRUE(no_signer(jwks_only.verify(
            mint(JwtKey::hmac(fake, "HS256"), claims("service_role", later)), now)));
    }
}

TEST(JwtVerifierTest, RefusesAlgThatDoesNotFitTheKeyOfTheKid) {
    const std::string payload = boost::json::serialize(claims("anon", later));
    // RS256 naming an EC key, ES256 naming the P-384 key, RS384 naming a JWK pinned to RS256,
    // EdDSA naming an RSA key: never verified with a key of the wrong type.
    EXPECT_TRUE(
        unknown_kid(full_verifier().verify(
                        mint_raw(keys().rs256, R"({"alg":"RS256","kid":"ec-256"})", payload), now),
                    "ec-256"));
    EXPECT_TRUE(
        unknown_kid(full_verifier().verify(
                        mint_raw(keys().es384, R"({"alg":"ES256","kid":"ec-384"})", payload), now),
                    "ec-384"));
    EXPECT_TRUE(
        unknown_kid(full_verifier().verify(
                        mint_raw(keys().rs256, R"({"alg":"RS384","kid":"rsa-256"})", payload), now),
                    "rsa-256"));
    EXPECT_TRUE(
        unknown_kid(full_verifier().verify(
                        mint_raw(keys().eddsa, R"({"alg":"EdDSA","kid":"rsa-256"})", payload), now),
                    "rsa-256"));
    // Unsupported algs are refused outright.
    for (const char* alg : {"PS256", "ES256K", "hs256", "RS1"})
        EXPECT_TRUE(no_signer(full_verifier().verify(
            mint_raw(keys().rs256, std::string(R"({"alg":")") + alg + R"(","kid":"rsa-256"})",
                     payload),
            now)))
            << alg;
}

TEST(JwtVerifierTest, RefusesKidNotInJwks) {
    const JwtKey stranger = JwtKey::generate("ES256", "kid-nobody-knows");
    EXPECT_TRUE(unknown_kid(full_verifier().verify(mint(stranger, claims("anon", later)), now),
                            "kid-nobody-knows"));
}

TEST(JwtVerifierTest, RefusesHsTokenWhenNoSecretIsConfigured) {
    const auto jwks_only = make_verifier("", jwks_json({&keys().rs256}));
    EXPECT_TRUE(
        no_signer(jwks_only.verify(mint(JwtKey::hmac(secret), claims("anon", later)), now)));
}

TEST(JwtVerifierTest, RefusesExpiredTokenWithSecondsAgo) {
    const JwtKey hs = JwtKey::hmac(secret);
    EXPECT_TRUE(refused(full_verifier().verify(mint(hs, claims("anon", now - 12)), now),
                        TokenError::Expired, 401, "Token has expired",
                        "InvalidJWTToken: Token has expired 12 seconds ago"));
    const auto at_exp = full_verifier().verify(mint(hs, claims("anon", now)), now);
    EXPECT_TRUE(refused(at_exp, TokenError::Expired, 401, "Token has expired",
                        "InvalidJWTToken: Token has expired 0 seconds ago"));
    EXPECT_EQ(at_exp.failure().system_message(), "Token has expired 0 seconds ago");
    EXPECT_TRUE(full_verifier().verify(mint(hs, claims("anon", now + 1)), now).ok());
}

TEST(JwtVerifierTest, RefusesExpAtOrBeforeEpochAsInvalid) {
    for (std::int64_t exp : {0, -5}) {
        const auto r = full_verifier().verify(mint(JwtKey::hmac(secret), claims("anon", exp)), now);
        EXPECT_TRUE(refused(r, TokenError::ExpNotPositive, 401, "Token has expired",
                            "InvalidJWTToken: Token expiration time is invalid"))
            << exp;
    }
}

TEST(JwtVerifierTest, RefusesNotYetValidToken) {
    auto c = claims("anon", later);
    c["nbf"] = now + 30;
    const auto r = full_verifier().verify(mint(JwtKey::hmac(secret), c), now);
    EXPECT_TRUE(refused(r, TokenError::NotYetValid, 401, "Token is not valid yet",
                        "InvalidJWTToken: Token is not valid yet, it becomes valid in 30 seconds"));
    c["nbf"] = now;
    EXPECT_TRUE(full_verifier().verify(mint(JwtKey::hmac(secret), c), now).ok());
}

TEST(JwtVerifierTest, RefusesMissingOrNonStringRoleAndMissingExp) {
    const JwtKey hs = JwtKey::hmac(secret);
    EXPECT_TRUE(missing_claims(full_verifier().verify(mint(hs, {{"exp", later}}), now)));
    EXPECT_TRUE(missing_claims(full_verifier().verify(mint(hs, {{"role", "anon"}}), now)));
    EXPECT_TRUE(
        missing_claims(full_verifier().verify(mint(hs, {{"role", 7}, {"exp", later}}), now)));
    EXPECT_TRUE(
        missing_claims(full_verifier().verify(mint(hs, {{"role", ""}, {"exp", later}}), now)));
    EXPECT_TRUE(missing_claims(full_verifier().verify(mint(hs, boost::json::object{}), now)));
}

TEST(JwtVerifierTest, RefusesNonNumericTimeClaims) {
    const JwtKey hs = JwtKey::hmac(secret);
    EXPECT_TRUE(
        refused(full_verifier().verify(mint(hs, {{"role", "anon"}, {"exp", "2099-01-01"}}), now),
                TokenError::ExpNotNumber, 500, "Error connecting to Realtime",
                "InvalidJWTToken: Token expiration time is invalid"));
    EXPECT_TRUE(
        refused(full_verifier().verify(
                    mint_raw(hs, R"({"alg":"HS256"})", R"({"role":"anon","exp":1e300})"), now),
                TokenError::ExpNotNumber, 500, "Error connecting to Realtime",
                "InvalidJWTToken: Token expiration time is invalid"));
    auto c = claims("anon", later);
    c["iat"] = "yesterday";
    EXPECT_TRUE(refused(full_verifier().verify(mint(hs, c), now), TokenError::ClaimNotNumber, 500,
                        "Error connecting to Realtime",
                        "UnknownErrorOnChannel: Claim `iat` must be a number"));
    c["iat"] = now - 10.6;
    EXPECT_TRUE(full_verifier().verify(mint(hs, c), now).ok());
}

TEST(JwtVerifierTest, RefusesTamperedPayloadHeaderAndSignature) {
    for (const JwtKey* key : {&keys().rs256, &keys().es256, &keys().eddsa}) {
        const std::string token = mint(*key, claims("anon", later, "user-1"));
        ASSERT_TRUE(full_verifier().verify(token, now).ok());
        // Payload: promote to service_role, keep the signature.
        EXPECT_TRUE(bad_signature(full_verifier().verify(
            replace_part(token, 1, boost::json::serialize(claims("service_role", later, "user-1"))),
            now)))
            << key->alg();
        // Header: same alg and kid, one extra member.
        boost::json::object header{
            {"alg", key->alg()}, {"kid", key->kid()}, {"typ", "JWT"}, {"x", 1}};
        EXPECT_TRUE(bad_signature(
            full_verifier().verify(replace_part(token, 0, boost::json::serialize(header)), now)))
            << key->alg();
        // Signature: one bit flipped, and cut short.
        std::string flipped = token;
        flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
        EXPECT_TRUE(bad_signature(full_verifier().verify(flipped, now))) << key->alg();
        std::string shortened = token; // three bytes fewer, still canonical base64url
        shortened.erase(shortened.rfind('.') + 1, 4);
        EXPECT_TRUE(bad_signature(full_verifier().verify(shortened, now))) << key->alg();
    }
    // An HS256 header swapped for HS512 keeps the HS256 MAC: refused.
    const std::string hs = mint(JwtKey::hmac(secret), claims("anon", later));
    EXPECT_TRUE(bad_signature(
        full_verifier().verify(replace_part(hs, 0, R"({"alg":"HS512","typ":"JWT"})"), now)));
}

TEST(JwtVerifierTest, RefusesMalformedTokens) {
    const std::string good = mint(JwtKey::hmac(secret), claims("anon", later));
    const std::string payload = boost::json::serialize(claims("anon", later));
    const std::vector<std::string> bad = {
        "",
        "   \n",
        "sb_publishable_abcdefghijklmnop",
        "not-a-jwt",
        good.substr(0, good.rfind('.')),                                         // two parts
        good + ".extra",                                                         // four parts
        "a.b.c.d.e",                                                             // JWE shape
        good.substr(0, good.find('.')) + "=." + good.substr(good.find('.') + 1), // padding
        b64url("not json") + "." + b64url(payload) + ".c2ln",
        b64url(R"({"alg":"HS256"})") + "." + b64url("[1,2]") + ".c2ln",
        b64url(R"(["HS256"])") + "." + b64url(payload) + ".c2ln",
        b64url(R"({"alg":"HS256",})") + "." + b64url(payload) + ".c2ln", // trailing comma
        b64url(R"({"alg":"HS256"})") + "." + b64url(payload) + ".!!",    // signature alphabet
        std::string(JwtVerifier::max_token_bytes + 1, 'a'),
    };
    for (const auto& token : bad)
        EXPECT_TRUE(malformed(full_verifier().verify(token, now))) << token.substr(0, 80);
}

TEST(JwtVerifierTest, RefusesCritHeaderAndNonStringKid) {
    const std::string payload = boost::json::serialize(claims("anon", later));
    const JwtKey hs = JwtKey::hmac(secret);
    EXPECT_TRUE(no_signer(full_verifier().verify(
        mint_raw(hs, R"({"alg":"HS256","crit":["b64"],"b64":false})", payload), now)));
    EXPECT_TRUE(no_signer(
        full_verifier().verify(mint_raw(hs, R"({"alg":"HS256","kid":42})", payload), now)));
}

TEST(JwtVerifierTest, ClaimValidatorsRequireEqualValues) {
    const auto v =
        make_verifier(secret, "", R"({"iss":"https://auth.example.com","aud":"authenticated"})");
    const JwtKey hs = JwtKey::hmac(secret);
    auto c = claims("authenticated", later);
    c["iss"] = "https://auth.example.com";
    c["aud"] = "authenticated";
    EXPECT_TRUE(v.verify(mint(hs, c), now).ok());

    c["aud"] = boost::json::array{"other", "authenticated"}; // aud may be an array (RFC 7519)
    EXPECT_TRUE(v.verify(mint(hs, c), now).ok());

    const std::string mismatch_http = "Error connecting to Realtime";
    c["aud"] = "anon-app";
    EXPECT_TRUE(refused(v.verify(mint(hs, c), now), TokenError::ClaimMismatch, 500, mismatch_http,
                        "UnknownErrorOnChannel: Claim `aud` does not match JWT_CLAIM_VALIDATORS"));
    c["aud"] = boost::json::array{"other"};
    EXPECT_TRUE(refused(v.verify(mint(hs, c), now), TokenError::ClaimMismatch, 500, mismatch_http,
                        "UnknownErrorOnChannel: Claim `aud` does not match JWT_CLAIM_VALIDATORS"));
    c["aud"] = "authenticated";
    c["iss"] = "https://evil.example.com";
    EXPECT_TRUE(refused(v.verify(mint(hs, c), now), TokenError::ClaimMismatch, 500, mismatch_http,
                        "UnknownErrorOnChannel: Claim `iss` does not match JWT_CLAIM_VALIDATORS"));
    c.erase("iss"); // a missing claim does not pass its validator
    EXPECT_TRUE(refused(v.verify(mint(hs, c), now), TokenError::ClaimMismatch, 500, mismatch_http,
                        "UnknownErrorOnChannel: Claim `iss` does not match JWT_CLAIM_VALIDATORS"));
}

TEST(JwtVerifierTest, ClaimValidatorsCompareNumbersByValueAndObjectsByContent) {
    const auto v = make_verifier(secret, "", R"({"tier":2,"org":{"id":1,"k":"x"}})");
    const JwtKey hs = JwtKey::hmac(secret);
    const std::string base = R"("role":"anon","exp":)" + std::to_string(later);
    EXPECT_TRUE(v.verify(mint_raw(hs, R"({"alg":"HS256"})",
                                  "{" + base + R"(,"tier":2.0,"org":{"k":"x","id":1}})"),
                         now)
                    .ok());
    EXPECT_FALSE(v.verify(mint_raw(hs, R"({"alg":"HS256"})",
                                   "{" + base + R"(,"tier":"2","org":{"k":"x","id":1}})"),
                          now)
                     .ok());
    EXPECT_FALSE(v.verify(mint_raw(hs, R"({"alg":"HS256"})",
                                   "{" + base + R"(,"tier":2,"org":{"k":"x","id":1,"z":0}})"),
                          now)
                     .ok());
}

TEST(JwtVerifierTest, VerifiesConcurrentlyFromSeveralThreads) {
    std::vector<std::string> tokens;
    for (const JwtKey* key : keys().all())
        tokens.push_back(mint(*key, claims("anon", later)));
    tokens.push_back(mint(JwtKey::hmac(secret), claims("anon", later)));
    std::atomic<int> accepted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 25; ++i)
                for (const auto& token : tokens)
                    if (full_verifier().verify(token, now).ok()) ++accepted;
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(accepted.load(), 4 * 25 * static_cast<int>(tokens.size()));
}

} // namespace
} // namespace walcast::auth
