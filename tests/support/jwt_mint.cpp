#include "support/jwt_mint.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>

namespace walcast::testing {
namespace {

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const EVP_MD* digest_for(std::string_view alg) {
    if (alg.ends_with("256")) return EVP_sha256();
    if (alg.ends_with("384")) return EVP_sha384();
    if (alg.ends_with("512")) return EVP_sha512();
    return nullptr;
}

std::string bn_bytes(const BIGNUM* bn, std::size_t pad_to = 0) {
    const std::size_t n = static_cast<std::size_t>(BN_num_bytes(bn));
    std::string out(std::max(n, pad_to), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()) + (out.size() - n));
    return out;
}

std::string bn_param(EVP_PKEY* pkey, const char* name, std::size_t pad_to = 0) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        ADD_FAILURE() << "OpenSSL: no key parameter " << name;
        return {};
    }
    std::string out = bn_bytes(bn, pad_to);
    BN_free(bn);
    return out;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
}

std::size_t ec_field_bytes(std::string_view alg) {
    return alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
}

} // namespace

std::string b64url(std::string_view bytes) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += b64_alphabet[(acc >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += b64_alphabet[(acc << (6 - bits)) & 0x3F];
    return out;
}

JwtKey JwtKey::hmac(std::string secret, std::string alg, std::string kid) {
    JwtKey k;
    k.alg_ = std::move(alg);
    k.kid_ = std::move(kid);
    k.secret_ = std::move(secret);
    return k;
}

JwtKey JwtKey::generate(std::string alg, std::string kid) {
    JwtKey k;
    k.alg_ = std::move(alg);
    k.kid_ = std::move(kid);
    EVP_PKEY* raw = nullptr;
    if (k.alg_ == "RS256" || k.alg_ == "RS384" || k.alg_ == "RS512")
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    else if (k.alg_ == "ES256")
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    else if (k.alg_ == "ES384")
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    else if (k.alg_ == "ES512")
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
    else if (k.alg_ == "EdDSA")
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!raw) ADD_FAILURE() << "JwtKey::generate: cannot make a key for alg " << k.alg_;
    k.pkey_ = std::shared_ptr<EVP_PKEY>(raw, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
    return k;
}

std::string JwtKey::sign(std::string_view input) const {
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    if (!pkey_) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        HMAC(digest_for(alg_), secret_.data(), static_cast<int>(secret_.size()), data, input.size(),
             mac, &len);
        return std::string(reinterpret_cast<char*>(mac), len);
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = alg_ == "EdDSA" ? nullptr : digest_for(alg_);
    std::size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_.get()) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, data, input.size()) == 1) {
        sig.resize(len);
        if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                           input.size()) == 1)
            sig.resize(len);
        else
            sig.clear();
    }
    EVP_MD_CTX_free(ctx);
    if (sig.empty()) {
        ADD_FAILURE() << "JwtKey::sign failed for alg " << alg_;
        return sig;
    }
    if (!alg_.starts_with("ES")) return sig;
    // DER ECDSA-Sig-Value → R || S, each left-padded to the field size (RFC 7518 §3.4).
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    const std::size_t field = ec_field_bytes(alg_);
    std::string raw = bn_bytes(ECDSA_SIG_get0_r(es), field) + bn_bytes(ECDSA_SIG_get0_s(es), field);
    ECDSA_SIG_free(es);
    return raw;
}

boost::json::object JwtKey::public_jwk() const {
    boost::json::object jwk;
    if (!pkey_) {
        jwk["kty"] = "oct";
        jwk["k"] = b64url(secret_);
    } else if (alg_.starts_with("RS")) {
        jwk["kty"] = "RSA";
        jwk["n"] = b64url(bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N));
        jwk["e"] = b64url(bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E));
    } else if (alg_.starts_with("ES")) {
        const std::size_t field = ec_field_bytes(alg_);
        jwk["kty"] = "EC";
        jwk["crv"] = alg_ == "ES256" ? "P-256" : alg_ == "ES384" ? "P-384" : "P-521";
        jwk["x"] = b64url(bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, field));
        jwk["y"] = b64url(bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, field));
    } else {
        unsigned char x[32];
        std::size_t len = sizeof x;
        EVP_PKEY_get_raw_public_key(pkey_.get(), x, &len);
        jwk["kty"] = "OKP";
        jwk["crv"] = "Ed25519";
        jwk["x"] = b64url(std::string_view(reinterpret_cast<char*>(x), len));
    }
    if (!kid_.empty()) jwk["kid"] = kid_;
    jwk["alg"] = alg_;
    jwk["use"] = "sig";
    return jwk;
}

std::string JwtKey::public_pem() const {
    if (!pkey_) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey_.get());
    return bio_text(bio);
}

std::string JwtKey::private_pem() const {
    if (!pkey_) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return bio_text(bio);
}

std::string jwks_json(const std::vector<const JwtKey*>& keys) {
    boost::json::array arr;
    for (const auto* k : keys)
        arr.push_back(k->public_jwk());
    return boost::json::serialize(boost::json::object{{"keys", std::move(arr)}});
}

std::string unsigned_token(std::string_view header_json, std::string_view payload_json,
                           std::string_view signature_bytes) {
    return b64url(header_json) + "." + b64url(payload_json) + "." + b64url(signature_bytes);
}

std::string mint_raw(const JwtKey& key, std::string_view header_json,
                     std::string_view payload_json) {
    const std::string input = b64url(header_json) + "." + b64url(payload_json);
    return input + "." + b64url(key.sign(input));
}

std::string mint(const JwtKey& key, const boost::json::object& claims) {
    boost::json::object header{{"alg", key.alg()}, {"typ", "JWT"}};
    if (!key.kid().empty()) header["kid"] = key.kid();
    return mint_raw(key, boost::json::serialize(header), boost::json::serialize(claims));
}

std::string replace_part(std::string_view token, int part, std::string_view bytes) {
    std::string parts[3];
    int i = 0;
    for (char c : token) {
        if (c == '.' && i < 2)
            ++i;
        else
            parts[i] += c;
    }
    parts[part] = b64url(bytes);
    return parts[0] + "." + parts[1] + "." + parts[2];
}

std::int64_t unix_now_s() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

boost::json::object claims(std::string role, std::int64_t exp, std::string sub) {
    boost::json::object c{{"role", std::move(role)}, {"exp", exp}};
    if (!sub.empty()) c["sub"] = std::move(sub);
    return c;
}

} // namespace walcast::testing
