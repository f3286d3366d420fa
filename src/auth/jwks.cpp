#include "auth/jwks.hpp"

#include "auth/base64url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <fstream>
#include <set>
#include <sstream>

namespace walcast::auth {
namespace {

constexpr int min_rsa_bits = 2048;
constexpr std::size_t max_jwks_file_bytes = 1u << 20;

struct BnFree {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) {
    return std::shared_ptr<EVP_PKEY>(p, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

Error config_error(std::string message) {
    return make_error(Errc::Config, std::move(message));
}

/// A base64url member of a JWK, decoded; an error names the member.
Result<std::string> b64_member(const boost::json::object& jwk, std::string_view name) {
    const auto* v = jwk.if_contains(name);
    if (!v || !v->is_string())
        return config_error("member \"" + std::string(name) + "\" is missing or not a string");
    auto bytes = base64url_decode(v->get_string());
    if (!bytes || bytes->empty())
        return config_error("member \"" + std::string(name) +
                            "\" is not non-empty base64url without padding (RFC 7515 §2)");
    return std::move(*bytes);
}

std::string string_member(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

Result<std::shared_ptr<EVP_PKEY>> from_params(const char* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !raw)
        return config_error(std::string("OpenSSL refused the ") + type +
                            " public key: check its members (an EC point must lie on the curve)");
    auto pkey = share(raw);
    // fromdata does not check that an EC point lies on the curve; this does.
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
        EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1)
        return config_error(std::string("the ") + type +
                            " public key fails OpenSSL's validity check (an RSA modulus with "
                            "small factors, an EC point not on the curve): check its members");
    return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> rsa_key(const boost::json::object& jwk) {
    auto n = b64_member(jwk, "n");
    if (!n) return std::move(n).error();
    auto e = b64_member(jwk, "e");
    if (!e) return std::move(e).error();
    auto to_bn = [](const std::string& s) {
        return std::unique_ptr<BIGNUM, BnFree>(BN_bin2bn(
            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()), nullptr));
    };
    auto bn_n = to_bn(*n);
    auto bn_e = to_bn(*e);
    if (bn_n && BN_num_bits(bn_n.get()) < min_rsa_bits)
        return config_error("RSA key has " + std::to_string(BN_num_bits(bn_n.get())) +
                            " bits; keys shorter than 2048 bits are refused, issue a longer one");
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
        return config_error("OpenSSL could not hold the RSA modulus/exponent");
    return from_params("RSA", bld.get());
}

Result<std::shared_ptr<EVP_PKEY>> ec_key(const boost::json::object& jwk, const char* group,
                                         std::size_t field_bytes) {
    auto x = b64_member(jwk, "x");
    if (!x) return std::move(x).error();
    auto y = b64_member(jwk, "y");
    if (!y) return std::move(y).error();
    if (x->size() > field_bytes || y->size() > field_bytes)
        return config_error("coordinates \"x\"/\"y\" are longer than the curve's " +
                            std::to_string(field_bytes) + " bytes");
    // Uncompressed point 0x04 || X || Y, coordinates left-padded to the field size.
    std::string point(1 + 2 * field_bytes, '\0');
    point[0] = 0x04;
    point.replace(1 + field_bytes - x->size(), x->size(), *x);
    point.replace(1 + 2 * field_bytes - y->size(), y->size(), *y);
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
        return config_error("OpenSSL could not hold the EC point");
    return from_params("EC", bld.get());
}

Result<std::shared_ptr<EVP_PKEY>> okp_key(const boost::json::object& jwk, const char* type,
                                          std::size_t key_bytes) {
    auto x = b64_member(jwk, "x");
    if (!x) return std::move(x).error();
    if (x->size() != key_bytes)
        return config_error("member \"x\" must be " + std::to_string(key_bytes) + " bytes");
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key_ex(
        nullptr, type, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (!raw) return config_error("OpenSSL refused the key material");
    return share(raw);
}

const EVP_MD* digest_for(JwtAlg alg) {
    switch (alg) {
    case JwtAlg::HS256:
    case JwtAlg::RS256:
    case JwtAlg::ES256:
        return EVP_sha256();
    case JwtAlg::HS384:
    case JwtAlg::RS384:
    case JwtAlg::ES384:
        return EVP_sha384();
    case JwtAlg::HS512:
    case JwtAlg::RS512:
    case JwtAlg::ES512:
        return EVP_sha512();
    default:
        return nullptr; // EdDSA hashes internally
    }
}

bool digest_verify(const EVP_MD* md, EVP_PKEY* pkey, std::string_view input, std::string_view sig) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

/// RFC 7518 §3.4: the JWS signature is R || S, each exactly the field size; OpenSSL wants DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view sig, std::size_t field_bytes) {
    if (sig.size() != 2 * field_bytes) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    BIGNUM* r = BN_bin2bn(p, static_cast<int>(field_bytes), nullptr);
    BIGNUM* s = BN_bin2bn(p + field_bytes, static_cast<int>(field_bytes), nullptr);
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> es(ECDSA_SIG_new());
    if (!r || !s || !es || ECDSA_SIG_set0(es.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return std::nullopt;
    }
    const int len = i2d_ECDSA_SIG(es.get(), nullptr);
    if (len <= 0) return std::nullopt;
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(es.get(), &out) != len) return std::nullopt;
    return der;
}

std::string_view type_name(KeyType t) {
    switch (t) {
    case KeyType::Oct:
        return "oct";
    case KeyType::Rsa:
        return "RSA";
    case KeyType::EcP256:
        return "EC P-256";
    case KeyType::EcP384:
        return "EC P-384";
    case KeyType::EcP521:
        return "EC P-521";
    case KeyType::Ed25519:
        return "OKP Ed25519";
    case KeyType::Ed448:
        return "OKP Ed448";
    }
    return "?";
}

bool type_accepts(KeyType t, JwtAlg alg) {
    switch (t) {
    case KeyType::Oct:
        return is_hmac(alg);
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

} // namespace

VerifyKey VerifyKey::secret(std::string bytes, std::string kid, std::optional<JwtAlg> jwk_alg) {
    VerifyKey k;
    k.type_ = KeyType::Oct;
    k.secret_ = std::move(bytes);
    k.kid_ = std::move(kid);
    k.jwk_alg_ = jwk_alg;
    k.bits_ = static_cast<int>(k.secret_.size() * 8);
    return k;
}

Result<VerifyKey> VerifyKey::from_jwk(const boost::json::object& jwk) {
    const std::string kty = string_member(jwk, "kty");
    const std::string crv = string_member(jwk, "crv");
    VerifyKey k;
    if (const auto* kid = jwk.if_contains("kid")) {
        if (!kid->is_string()) return config_error("\"kid\" must be a string");
        k.kid_ = std::string(kid->get_string());
    }
    Result<std::shared_ptr<EVP_PKEY>> pkey = std::shared_ptr<EVP_PKEY>();
    if (kty == "oct") {
        auto bytes = b64_member(jwk, "k");
        if (!bytes) return std::move(bytes).error();
        k = secret(std::move(*bytes), std::move(k.kid_));
    } else if (kty == "RSA") {
        k.type_ = KeyType::Rsa;
        pkey = rsa_key(jwk);
    } else if (kty == "EC" && crv == "P-256") {
        k.type_ = KeyType::EcP256;
        pkey = ec_key(jwk, "prime256v1", 32);
    } else if (kty == "EC" && crv == "P-384") {
        k.type_ = KeyType::EcP384;
        pkey = ec_key(jwk, "secp384r1", 48);
    } else if (kty == "EC" && crv == "P-521") {
        k.type_ = KeyType::EcP521;
        pkey = ec_key(jwk, "secp521r1", 66);
    } else if (kty == "OKP" && crv == "Ed25519") {
        k.type_ = KeyType::Ed25519;
        pkey = okp_key(jwk, "ED25519", 32);
    } else if (kty == "OKP" && crv == "Ed448") {
        k.type_ = KeyType::Ed448;
        pkey = okp_key(jwk, "ED448", 57);
    } else {
        return config_error("unsupported key type kty \"" + kty + "\"" +
                            (crv.empty() ? std::string() : " crv \"" + crv + "\"") +
                            ": use RSA, EC (P-256, P-384, P-521), OKP (Ed25519, Ed448) or oct "
                            "keys, or remove this key");
    }
    if (!pkey) return std::move(pkey).error();
    if (k.type_ != KeyType::Oct) {
        k.pkey_ = std::move(*pkey);
        k.bits_ = EVP_PKEY_get_bits(k.pkey_.get());
    }
    if (const auto* alg = jwk.if_contains("alg")) {
        std::optional<JwtAlg> a;
        if (alg->is_string()) a = alg_from_name(alg->get_string());
        if (!a || !type_accepts(k.type_, *a))
            return config_error("\"alg\" " + boost::json::serialize(*alg) + " does not fit a " +
                                std::string(type_name(k.type_)) +
                                " key (or is not supported): correct or remove \"alg\"");
        k.jwk_alg_ = a;
    }
    return k;
}

bool VerifyKey::accepts(JwtAlg alg) const {
    return type_accepts(type_, alg) && (!jwk_alg_ || *jwk_alg_ == alg);
}

bool VerifyKey::verify(JwtAlg alg, std::string_view signing_input,
                       std::string_view signature) const {
    if (!accepts(alg)) return false;
    switch (type_) {
    case KeyType::Oct: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (!HMAC(digest_for(alg), secret_.data(), static_cast<int>(secret_.size()),
                  reinterpret_cast<const unsigned char*>(signing_input.data()),
                  signing_input.size(), mac, &mac_len))
            return false;
        return signature.size() == mac_len && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
    }
    case KeyType::Rsa:
        return digest_verify(digest_for(alg), pkey_.get(), signing_input, signature);
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521: {
        const std::size_t field_bytes = type_ == KeyType::EcP256   ? 32
                                        : type_ == KeyType::EcP384 ? 48
                                                                   : 66;
        auto der = ecdsa_raw_to_der(signature, field_bytes);
        return der && digest_verify(digest_for(alg), pkey_.get(), signing_input, *der);
    }
    case KeyType::Ed25519:
    case KeyType::Ed448:
        return digest_verify(nullptr, pkey_.get(), signing_input, signature);
    }
    return false;
}

std::string VerifyKey::describe() const {
    std::string s = kid_.empty() ? std::string("key without kid") : "kid \"" + kid_ + "\"";
    s += " (" + std::string(type_name(type_)) + ", " + std::to_string(bits_) + " bits";
    if (jwk_alg_) s += ", " + std::string(alg_name(*jwk_alg_));
    s += ")";
    return s;
}

Result<std::vector<VerifyKey>> parse_jwks(std::string_view document) {
    constexpr std::string_view option = "--jwt-jwks (JWT_JWKS)";
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(document, ec);
    if (ec)
        return config_error(std::string(option) + " is not valid JSON (" + ec.message() +
                            "): give a JWKS document {\"keys\":[…]} or the path of a file "
                            "holding one");
    const boost::json::array* keys = nullptr;
    if (doc.is_object())
        if (const auto* k = doc.get_object().if_contains("keys"); k && k->is_array())
            keys = &k->get_array();
    if (!keys)
        return config_error(std::string(option) +
                            " must be a JWKS document {\"keys\":[…]}; wrap a single JWK as "
                            "{\"keys\":[<jwk>]}");
    std::vector<VerifyKey> out;
    std::set<std::string> kids;
    for (std::size_t i = 0; i < keys->size(); ++i) {
        const auto& v = (*keys)[i];
        std::string where = std::string(option) + ": key " + std::to_string(i);
        if (!v.is_object()) return config_error(where + " is not a JSON object");
        const auto& jwk = v.get_object();
        const std::string kid = string_member(jwk, "kid");
        if (!kid.empty()) where += " (kid \"" + kid + "\")";
        if (const auto* use = jwk.if_contains("use");
            use && !(use->is_string() && use->get_string() == "sig"))
            continue; // an encryption key: never used to verify signatures
        auto key = VerifyKey::from_jwk(jwk);
        if (!key) return std::move(key).error().context(where);
        if (!key->kid().empty() && !kids.insert(key->kid()).second)
            return config_error(where + ": kid is used by an earlier key too; give every key "
                                        "its own kid (RFC 7517 §4.5)");
        out.push_back(std::move(*key));
    }
    return out;
}

Result<std::vector<VerifyKey>> load_jwks(std::string_view option_value) {
    const auto first = option_value.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && option_value[first] == '{')
        return parse_jwks(option_value);
    const std::string path(option_value);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return config_error("--jwt-jwks (JWT_JWKS): cannot read \"" + path +
                            "\": give a readable file or the JWKS JSON document itself");
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > max_jwks_file_bytes)
        return config_error("--jwt-jwks (JWT_JWKS): \"" + path +
                            "\" is larger than 1 MiB; is it the right file?");
    auto keys = parse_jwks(text.str());
    if (!keys) return std::move(keys).error().context("reading \"" + path + "\"");
    return keys;
}

} // namespace walcast::auth
