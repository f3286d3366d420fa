// Fuzz target: the JWT verifier (auth::JwtVerifier::verify) with a fixed JWT_SECRET and a JWKS
// holding one oct key (kid "k-oct"). Input: byte 0 picks how the rest becomes a token:
//   0  the rest is the token, verbatim;
//   1  the rest is "<header JSON>\0<claims JSON>", signed here with the right key (the oct JWK
//      for kid "k-oct", else JWT_SECRET) with the header's HS256/384/512 (HS256 otherwise);
//   2  as 1, but signed with a key the verifier does not have.
// Properties beyond "no crash":
//  - the verifier never accepts a token not signed with the key: whatever the mode, an accepted
//    token, cleaned as spec §1.3 says (percent-decoding, ASCII whitespace dropped), has an
//    HS256/384/512 header and a third part that is the HMAC, computed here with OpenSSL, of its
//    first two parts under the key its kid selects; a mode-2 token is never accepted;
//  - a token signed with the right key never fails as BadSignature;
//  - an accepted token has a non-empty string `role` and an `exp` after now;
//  - JWT_CLAIM_VALIDATORS only narrows: the verifier that also requires {"iss":"walcast-fuzz"}
//    accepts exactly the tokens the plain one accepts whose `iss` is that string.
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "fuzz_support.hpp"

#include <boost/json/parse.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using walcast::fuzz::b64url;
using walcast::fuzz::b64url_decode;
using walcast::fuzz::check;
using namespace walcast;
using namespace walcast::auth;

constexpr std::int64_t now = 1'800'000'000;
constexpr std::string_view secret = "walcast-fuzz-jwt-secret-0123456789abcdef";
constexpr std::string_view oct_key = "walcast-fuzz-jwks-oct-key-0123456789abcd";
constexpr std::string_view wrong_key = "walcast-fuzz-wrong-key-0123456789abcdef0";
// base64url of oct_key
constexpr std::string_view oct_key_b64 = "d2FsY2FzdC1mdXp6LWp3a3Mtb2N0LWtleS0wMTIzNDU2Nzg5YWJjZA";

const JwtVerifier& verifier(bool with_validators) {
    static const JwtVerifier plain = [] {
        Config c;
        c.jwt_secret = std::string(secret);
        c.jwt_jwks =
            R"({"keys":[{"kty":"oct","kid":"k-oct","k":")" + std::string(oct_key_b64) + R"("}]})";
        auto v = JwtVerifier::create(c);
        check(v.ok(), "the verifier can be created");
        return std::move(v).value();
    }();
    static const JwtVerifier narrowed = [] {
        Config c;
        c.jwt_secret = std::string(secret);
        c.jwt_jwks =
            R"({"keys":[{"kty":"oct","kid":"k-oct","k":")" + std::string(oct_key_b64) + R"("}]})";
        c.jwt_claim_validators = R"({"iss":"walcast-fuzz"})";
        auto v = JwtVerifier::create(c);
        check(v.ok(), "the verifier can be created");
        return std::move(v).value();
    }();
    return with_validators ? narrowed : plain;
}

const EVP_MD* digest_for(std::string_view alg) {
    if (alg == "HS256") return EVP_sha256();
    if (alg == "HS384") return EVP_sha384();
    if (alg == "HS512") return EVP_sha512();
    return nullptr;
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view input) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
    return std::string(reinterpret_cast<const char*>(out), len);
}

struct Header {
    std::string alg;
    std::string kid;
};

// The header's string alg and kid ("" when absent or not strings).
Header read_header(std::string_view json) {
    Header h;
    boost::system::error_code ec;
    auto v = boost::json::parse(json, ec);
    if (ec || !v.is_object()) return h;
    if (const auto* a = v.get_object().if_contains("alg"); a && a->is_string())
        h.alg = std::string(a->get_string());
    if (const auto* k = v.get_object().if_contains("kid"); k && k->is_string())
        h.kid = std::string(k->get_string());
    return h;
}

std::string_view key_for(const Header& h) {
    return h.kid == "k-oct" ? oct_key : secret;
}

// Spec §1.3 cleaning, written independently: %XX decoded, then ASCII whitespace dropped.
std::string clean(std::string_view in) {
    auto hex = [](char c) {
        return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; // an accepted token's escapes are valid
    };
    std::string decoded;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size()) {
            decoded += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
            i += 2;
        } else {
            decoded += in[i];
        }
    }
    std::string out;
    for (char c : decoded)
        if (c != ' ' && (c < '\t' || c > '\r')) out += c;
    return out;
}

// An accepted token must carry the HMAC of its signing input under the key its header selects.
void check_accepted(std::string_view token, const Claims& claims) {
    const std::string t = clean(token);
    const auto dot1 = t.find('.');
    const auto dot2 = t.find('.', dot1 + 1);
    check(dot1 != std::string::npos && dot2 != std::string::npos, "accepted token lacks parts");
    auto header_json = b64url_decode(std::string_view(t).substr(0, dot1));
    check(header_json.has_value(), "accepted token's header is not base64url");
    const Header h = read_header(*header_json);
    const EVP_MD* md = digest_for(h.alg);
    check(md != nullptr, "accepted token without an HS256/384/512 header");
    const std::string expected = b64url(hmac(md, key_for(h), std::string_view(t).substr(0, dot2)));
    check(std::string_view(t).substr(dot2 + 1) == expected,
          "accepted a token that is not signed with the key");
    check(!claims.role.empty(), "accepted token without a role");
    check(claims.exp > now, "accepted an expired token");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int mode = data[0] % 3;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string token;
    if (mode == 0) {
        token = std::string(rest);
    } else {
        const auto nul = rest.find('\0');
        const std::string_view header = rest.substr(0, nul);
        const std::string_view claims =
            nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
        const Header h = read_header(header);
        const EVP_MD* md = digest_for(h.alg);
        const std::string input = b64url(header) + "." + b64url(claims);
        token = input + "." +
                b64url(hmac(md ? md : EVP_sha256(), mode == 1 ? key_for(h) : wrong_key, input));
    }

    const VerifyResult plain = verifier(false).verify(token, now);
    const VerifyResult narrowed = verifier(true).verify(token, now);
    if (plain.ok()) check_accepted(token, plain.claims());
    if (mode == 2) check(!plain.ok() && !narrowed.ok(), "accepted a token signed with another key");
    if (mode == 1)
        check(plain.ok() || plain.failure().error != TokenError::BadSignature,
              "a token signed with the right key failed as BadSignature");
    if (narrowed.ok()) check(plain.ok(), "JWT_CLAIM_VALIDATORS widened what is accepted");
    if (plain.ok()) {
        const auto* iss = plain.claims().object.if_contains("iss");
        const bool required_iss = iss && iss->is_string() && iss->get_string() == "walcast-fuzz";
        check(narrowed.ok() == required_iss, "JWT_CLAIM_VALIDATORS did not decide by iss alone");
    }
    return 0;
}
