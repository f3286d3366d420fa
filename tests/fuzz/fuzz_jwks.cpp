// Fuzz target: JWKS parsing (auth::parse_jwks, the JWT_JWKS document) on arbitrary documents.
// Properties beyond "no crash":
//  - an error is Errc::Config and names the option JWT_JWKS;
//  - an accepted document is a {"keys":[…]} whose every entry without `use` or with use "sig"
//    became one key, in order, with that entry's kid (kids unique) and a type that fits its kty;
//  - algorithm pinning, checked against RFC 7518/8037 written out here: a key accepts only the
//    algorithms of its type and curve, and only its JWK `alg` when it names one;
//  - an oct key verifies the HMAC of its own `k` and rejects it with one bit flipped; no key
//    verifies an empty signature, and no RSA or EC key an all-zero one.
#include "auth/jwks.hpp"
#include "fuzz_support.hpp"

#include <boost/json/parse.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

using namespace walcast::auth;
using walcast::fuzz::b64url_decode;
using walcast::fuzz::check;

constexpr JwtAlg all_algs[] = {JwtAlg::HS256, JwtAlg::HS384, JwtAlg::HS512,   JwtAlg::RS256,
                               JwtAlg::RS384, JwtAlg::RS512, JwtAlg::ES256,   JwtAlg::ES384,
                               JwtAlg::ES512, JwtAlg::EdDSA, JwtAlg::Ed25519, JwtAlg::Ed448};

// Which algorithms a key type may verify (RFC 7518 §3.1, RFC 8037 §3.1, RFC 9864).
bool fits(KeyType type, JwtAlg alg) {
    switch (type) {
    case KeyType::Oct:
        return alg == JwtAlg::HS256 || alg == JwtAlg::HS384 || alg == JwtAlg::HS512;
    case KeyType::Rsa:
        return alg == JwtAlg::RS256 || alg == JwtAlg::RS384 || alg == JwtAlg::RS512;
    case KeyType::EcP256:
        return alg == JwtAlg::ES256;
    case KeyType::EcP384:
        return alg == JwtAlg::ES384;
    case KeyType::EcP521:
        return alg == JwtAlg::ES512;
    case KeyType::Ed25519:
        return alg == JwtAlg::EdDSA || alg == JwtAlg::Ed25519;
    case KeyType::Ed448:
        return alg == JwtAlg::EdDSA || alg == JwtAlg::Ed448;
    }
    return false;
}

bool kty_fits(std::string_view kty, KeyType type) {
    switch (type) {
    case KeyType::Oct:
        return kty == "oct";
    case KeyType::Rsa:
        return kty == "RSA";
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521:
        return kty == "EC";
    case KeyType::Ed25519:
    case KeyType::Ed448:
        return kty == "OKP";
    }
    return false;
}

const EVP_MD* hmac_digest(JwtAlg alg) {
    return alg == JwtAlg::HS256 ? EVP_sha256() : alg == JwtAlg::HS384 ? EVP_sha384() : EVP_sha512();
}

std::string string_member(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view document(reinterpret_cast<const char*>(data), size);
    auto keys = parse_jwks(document);
    if (!keys) {
        check(keys.error().code == walcast::Errc::Config, "error is not Errc::Config");
        check(keys.error().message.find("JWT_JWKS") != std::string::npos,
              "error does not name JWT_JWKS");
        return 0;
    }
    const auto doc = boost::json::parse(document);
    check(doc.is_object() && doc.get_object().contains("keys") &&
              doc.get_object().at("keys").is_array(),
          "accepted a document that is not {\"keys\":[…]}");
    std::vector<const boost::json::object*> used;
    for (const auto& entry : doc.get_object().at("keys").get_array()) {
        check(entry.is_object(), "accepted a JWKS entry that is not an object");
        const auto* use = entry.get_object().if_contains("use");
        if (!use || (use->is_string() && use->get_string() == "sig"))
            used.push_back(&entry.get_object());
    }
    check(keys->size() == used.size(), "not one key per signature entry");

    std::set<std::string> kids;
    static const std::string input = "eyJhbGciOiJIUzI1NiJ9.e30";
    for (std::size_t i = 0; i < keys->size(); ++i) {
        const VerifyKey& key = (*keys)[i];
        const boost::json::object& jwk = *used[i];
        check(key.kid() == string_member(jwk, "kid"), "key has another kid than its entry");
        check(key.kid().empty() || kids.insert(key.kid()).second, "duplicate kid accepted");
        check(kty_fits(string_member(jwk, "kty"), key.type()), "key type does not fit kty");
        check(!key.describe().empty(), "describe() is empty");
        if (jwk.contains("alg"))
            check(key.jwk_alg() && alg_name(*key.jwk_alg()) == string_member(jwk, "alg"),
                  "key lost its JWK alg");
        for (JwtAlg alg : all_algs) {
            const bool expected =
                fits(key.type(), alg) && (!key.jwk_alg() || *key.jwk_alg() == alg);
            check(key.accepts(alg) == expected, "algorithm pinning differs from RFC 7518/8037");
            check(!key.verify(alg, input, std::string()), "an empty signature verified");
            // (Not for Ed25519/Ed448: a small-order public key in the JWKS, the operator's
            // choice, can make an all-zero signature verify; RFC 8032 does not forbid it.)
            const bool edwards = key.type() == KeyType::Ed25519 || key.type() == KeyType::Ed448;
            if (!edwards)
                check(!key.verify(alg, input, std::string(64, '\0')), "a zero signature verified");
            if (key.type() != KeyType::Oct || !expected) continue;
            const auto secret = b64url_decode(string_member(jwk, "k"));
            check(secret.has_value(), "oct key without base64url k");
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned len = 0;
            HMAC(hmac_digest(alg), secret->data(), static_cast<int>(secret->size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
            std::string sig(reinterpret_cast<const char*>(mac), len);
            check(key.verify(alg, input, sig), "oct key does not verify the HMAC of its k");
            sig[0] = static_cast<char>(sig[0] ^ 1);
            check(!key.verify(alg, input, sig), "oct key verifies a flipped HMAC");
        }
    }
    return 0;
}
