#include "auth/jwt_verifier.hpp"

#include "auth/base64url.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <optional>

namespace walcast::auth {
namespace {

constexpr std::size_t recommended_secret_bytes = 32;
/// Largest magnitude accepted for a fractional time claim: beyond 2^53 doubles are not exact.
constexpr double max_fractional_seconds = 9007199254740992.0;

TokenFailure fail(TokenError error, std::string detail) {
    TokenFailure f;
    f.error = error;
    f.detail = std::move(detail);
    return f;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// Spec §1.3: URL-decode, then strip whitespace. False on a broken %-escape.
bool clean_token(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    std::string decoded;
    if (in.find('%') != std::string_view::npos) {
        decoded.reserve(in.size());
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (in[i] != '%') {
                decoded += in[i];
                continue;
            }
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            decoded += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        in = decoded;
    }
    for (char c : in)
        if (!is_blank(c)) out += c;
    return true;
}

/// Parses base64url text holding a JSON object.
std::optional<boost::json::object> decode_json_object(std::string_view part) {
    auto bytes = base64url_decode(part);
    if (!bytes) return std::nullopt;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(*bytes, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.get_object());
}

/// A NumericDate claim (RFC 7519 §2) as whole seconds, rounded half away from zero like the
/// reference (spec §1.3 "Decimal exp/iat are rounded"). nullopt if not a number or too big.
std::optional<std::int64_t> numeric_date(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(v.get_uint64());
    }
    if (v.is_double()) {
        const double d = v.get_double();
        if (!std::isfinite(d) || std::fabs(d) > max_fractional_seconds) return std::nullopt;
        return static_cast<std::int64_t>(std::llround(d));
    }
    return std::nullopt;
}

bool json_equal(const boost::json::value& a, const boost::json::value& b);

bool numbers_equal(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_double() || b.is_double()) return a.to_number<double>() == b.to_number<double>();
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const std::int64_t s = a.is_int64() ? a.get_int64() : b.get_int64();
    const std::uint64_t u = a.is_uint64() ? a.get_uint64() : b.get_uint64();
    return s >= 0 && static_cast<std::uint64_t>(s) == u;
}

bool json_equal(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_number() && b.is_number()) return numbers_equal(a, b);
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case boost::json::kind::object: {
        const auto& oa = a.get_object();
        const auto& ob = b.get_object();
        if (oa.size() != ob.size()) return false;
        for (const auto& kv : oa) {
            const auto* other = ob.if_contains(kv.key());
            if (!other || !json_equal(kv.value(), *other)) return false;
        }
        return true;
    }
    case boost::json::kind::array: {
        const auto& xa = a.get_array();
        const auto& xb = b.get_array();
        if (xa.size() != xb.size()) return false;
        for (std::size_t i = 0; i < xa.size(); ++i)
            if (!json_equal(xa[i], xb[i])) return false;
        return true;
    }
    default:
        return a == b;
    }
}

/// JWT_CLAIM_VALIDATORS rule for one claim (see verify()).
bool claim_matches(std::string_view name, const boost::json::value& claim,
                   const boost::json::value& required) {
    if (json_equal(claim, required)) return true;
    if (name == "aud" && claim.is_array() && required.is_string())
        for (const auto& e : claim.get_array())
            if (json_equal(e, required)) return true;
    return false;
}

} // namespace

Result<JwtVerifier> JwtVerifier::create(const Config& config) {
    JwtVerifier v;
    if (!config.jwt_secret.empty()) {
        v.keys_.push_back(VerifyKey::secret(config.jwt_secret));
        v.has_secret_ = true;
        if (config.jwt_secret.size() < recommended_secret_bytes)
            log::warn("--jwt-secret (JWT_SECRET) is {} bytes; use at least {} random bytes "
                      "(RFC 7518 §3.2) so HS256 tokens cannot be brute-forced",
                      config.jwt_secret.size(), recommended_secret_bytes);
    }
    if (!config.jwt_jwks.empty()) {
        auto keys = load_jwks(config.jwt_jwks);
        if (!keys) return std::move(keys).error();
        for (auto& k : *keys)
            v.keys_.push_back(std::move(k));
    }
    if (v.keys_.empty())
        return make_error(Errc::Config,
                          "no JWT key configured: set --jwt-secret (JWT_SECRET) to the HS256 "
                          "secret your tokens are signed with, and/or --jwt-jwks (JWT_JWKS) to "
                          "a JWKS document or file with the public keys");
    if (!config.jwt_claim_validators.empty()) {
        boost::system::error_code ec;
        auto parsed = boost::json::parse(config.jwt_claim_validators, ec);
        if (ec || !parsed.is_object())
            return make_error(Errc::Config,
                              "--jwt-claim-validators (JWT_CLAIM_VALIDATORS) must be a JSON "
                              "object of required claim values, e.g. "
                              "{\"iss\":\"https://example.com\",\"aud\":\"authenticated\"}");
        v.claim_validators_ = std::move(parsed.get_object());
    }
    return v;
}

JwtVerifier::Selected JwtVerifier::select_key(JwtAlg alg, const std::string* kid) const {
    Selected s;
    const std::size_t first_jwk = has_secret_ ? 1 : 0;
    const VerifyKey* secret = has_secret_ ? &keys_[0] : nullptr;
    const std::string alg_text(alg_name(alg));
    auto unknown_kid = [&](std::string detail) {
        s.failure = fail(TokenError::UnknownKid, std::move(detail));
        s.failure.kid = *kid;
    };

    if (kid) {
        const VerifyKey* found = nullptr;
        for (std::size_t i = first_jwk; i < keys_.size(); ++i)
            if (keys_[i].kid() == *kid && (!is_hmac(alg) || keys_[i].type() == KeyType::Oct))
                found = &keys_[i];
        if (found && found->accepts(alg)) {
            s.key = found;
        } else if (found) {
            unknown_kid("JWT_JWKS key " + found->describe() + " does not accept alg " + alg_text +
                        ": sign with the key's algorithm or fix its \"alg\"");
        } else if (is_hmac(alg) && secret) {
            s.key = secret; // Supabase Auth: HS* tokens with a kid signed by JWT_SECRET
        } else {
            // The kid comes from the token: JSON-quoted so it cannot break a log line.
            unknown_kid("no key with kid " +
                        boost::json::serialize(boost::json::string_view(*kid)) + " for alg " +
                        alg_text + " in JWT_JWKS" + (is_hmac(alg) ? " and no JWT_SECRET" : "") +
                        ": add the issuer's public key to JWT_JWKS");
        }
        return s;
    }

    if (is_hmac(alg) && secret) {
        s.key = secret;
        return s;
    }
    std::size_t candidates = 0;
    for (std::size_t i = first_jwk; i < keys_.size(); ++i)
        if (keys_[i].accepts(alg)) {
            ++candidates;
            s.key = &keys_[i];
        }
    if (candidates == 1) return s;
    s.key = nullptr;
    if (candidates == 0)
        s.failure = fail(TokenError::NoSigner, "no key for alg " + alg_text + ": " +
                                                   (is_hmac(alg) ? "set JWT_SECRET"
                                                                 : "add the issuer's public key to "
                                                                   "JWT_JWKS"));
    else
        s.failure = fail(TokenError::NoSigner,
                         "token has no kid and JWT_JWKS holds " + std::to_string(candidates) +
                             " keys for alg " + alg_text +
                             ": issue tokens with a kid header naming their key");
    return s;
}

VerifyResult JwtVerifier::verify(std::string_view token, std::int64_t now_unix_s) const {
    std::string cleaned;
    if (!clean_token(token, cleaned))
        return fail(TokenError::Malformed, "broken %-escape in the token");
    if (cleaned.size() > max_token_bytes)
        return fail(TokenError::Malformed,
                    "token longer than " + std::to_string(max_token_bytes) + " bytes");
    const auto dot1 = cleaned.find('.');
    const auto dot2 = dot1 == std::string::npos ? dot1 : cleaned.find('.', dot1 + 1);
    if (dot2 == std::string::npos || cleaned.find('.', dot2 + 1) != std::string::npos)
        return fail(TokenError::Malformed,
                    "not three '.'-separated parts (an sb_ API key or a JWE is not a JWS): "
                    "pass a signed JWT");
    const std::string_view text(cleaned);
    auto claims = decode_json_object(text.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!claims) return fail(TokenError::Malformed, "payload is not base64url of a JSON object");
    auto header = decode_json_object(text.substr(0, dot1));
    if (!header) return fail(TokenError::Malformed, "header is not base64url of a JSON object");
    auto signature = base64url_decode(text.substr(dot2 + 1));
    if (!signature) return fail(TokenError::Malformed, "signature is not base64url");

    // --- the key, pinned to the header's alg ---
    if (header->contains("crit"))
        return fail(TokenError::NoSigner, "header has \"crit\"; no JWS extension is supported");
    const auto* alg_value = header->if_contains("alg");
    if (!alg_value || !alg_value->is_string())
        return fail(TokenError::NoSigner, "header has no string \"alg\"");
    const auto alg = alg_from_name(alg_value->get_string());
    if (!alg)
        return fail(TokenError::NoSigner,
                    "alg " + boost::json::serialize(*alg_value) +
                        " is refused: sign with HS256/384/512 (JWT_SECRET) or RS256/384/512, "
                        "ES256/384/512, EdDSA (JWT_JWKS)");
    std::optional<std::string> kid;
    if (const auto* k = header->if_contains("kid")) {
        if (!k->is_string()) return fail(TokenError::NoSigner, "header \"kid\" is not a string");
        if (!k->get_string().empty()) kid = std::string(k->get_string());
    }
    Selected selected = select_key(*alg, kid ? &*kid : nullptr);
    if (!selected.key) return std::move(selected.failure);
    if (!selected.key->verify(*alg, text.substr(0, dot2), *signature))
        return fail(TokenError::BadSignature,
                    "signature does not verify with " +
                        (has_secret_ && selected.key == &keys_[0] ? std::string("JWT_SECRET")
                                                                  : selected.key->describe()) +
                        ": the token was signed with another key or altered");

    // --- claims ---
    std::optional<std::int64_t> exp;
    if (const auto* v = claims->if_contains("exp")) {
        exp = numeric_date(*v);
        if (!exp)
            return fail(TokenError::ExpNotNumber,
                        "exp " + boost::json::serialize(*v) +
                            " is not a number of seconds since the epoch");
        if (*exp <= 0 || *exp <= now_unix_s) return TokenFailure::expired(*exp, now_unix_s);
    }
    for (std::string_view name : {"iat", "nbf"}) {
        const auto* v = claims->if_contains(name);
        if (!v) continue;
        const auto seconds = numeric_date(*v);
        if (!seconds) {
            auto f = fail(TokenError::ClaimNotNumber,
                          std::string(name) + " " + boost::json::serialize(*v) +
                              " is not a number of seconds since the epoch");
            f.claim = std::string(name);
            return f;
        }
        if (name == "nbf" && *seconds > now_unix_s) {
            auto f = fail(TokenError::NotYetValid,
                          "nbf is " + std::to_string(*seconds - now_unix_s) +
                              " s in the future: check the issuer's and this host's clocks");
            f.seconds = *seconds - now_unix_s;
            return f;
        }
    }
    for (const auto& required : claim_validators_) {
        const auto* v = claims->if_contains(required.key());
        if (!v || !claim_matches(required.key(), *v, required.value())) {
            auto f = fail(TokenError::ClaimMismatch,
                          "claim " + std::string(required.key()) + " is " +
                              (v ? boost::json::serialize(*v) : std::string("missing")) +
                              ", JWT_CLAIM_VALIDATORS requires " +
                              boost::json::serialize(required.value()));
            f.claim = std::string(required.key());
            return f;
        }
    }
    const auto* role = claims->if_contains("role");
    if (!exp || !role || !role->is_string() || role->get_string().empty())
        return fail(TokenError::MissingClaims,
                    "the token needs a non-empty string \"role\" (the Postgres role) and a "
                    "numeric \"exp\"");
    std::string role_text(role->get_string());
    return Claims::from_object(std::move(*claims), std::move(role_text), *exp);
}

std::string JwtVerifier::describe() const {
    std::string s = has_secret_ ? "JWT_SECRET" : "";
    for (std::size_t i = has_secret_ ? 1 : 0; i < keys_.size(); ++i) {
        const bool first_jwk = i == (has_secret_ ? 1u : 0u);
        s += first_jwk ? (s.empty() ? "JWT_JWKS: " : "; JWT_JWKS: ") : ", ";
        s += keys_[i].describe();
    }
    return s;
}

} // namespace walcast::auth
