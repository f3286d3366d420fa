// Minting JWTs for tests: HS* tokens from a secret, RS*/ES*/EdDSA tokens from generated keys
// with their public JWKS, and the broken variants attacks use (alg:none, tampered parts,
// forged headers). Independent of src/auth (own base64url, OpenSSL signing) so tests of the
// verifier cross-check it rather than mirror it.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace walcast::testing {

/// A key that signs test tokens. Copies share the key. Any thread.
class JwtKey {
public:
    /// An HS256/HS384/HS512 key; secret = the raw bytes (as JWT_SECRET). kid goes into the
    /// header when not empty.
    static JwtKey hmac(std::string secret, std::string alg = "HS256", std::string kid = {});
    /// A fresh key pair for alg: RS256/RS384/RS512 (RSA 2048), ES256 (P-256), ES384 (P-384),
    /// ES512 (P-521), EdDSA (Ed25519). Fails the test (and returns an unusable key) for any
    /// other alg. RSA generation takes ~0.1 s: reuse keys across a test binary.
    static JwtKey generate(std::string alg, std::string kid);

    const std::string& alg() const { return alg_; }
    const std::string& kid() const { return kid_; }
    const std::string& secret() const { return secret_; } ///< HS* only

    /// The JWS signature bytes of signing_input (ES*: raw R||S, RFC 7518 §3.4).
    std::string sign(std::string_view signing_input) const;

    /// The public JWK: kty, crv/x/y or n/e, plus "kid", "alg", "use":"sig". For HS* an oct JWK
    /// with the secret in "k".
    boost::json::object public_jwk() const;
    /// SubjectPublicKeyInfo PEM (empty for HS*): e.g. the "secret" of an HS/RS confusion.
    std::string public_pem() const;
    /// PKCS#8 private key PEM (empty for HS*), e.g. to sign with libjwt.
    std::string private_pem() const;

private:
    std::string alg_;
    std::string kid_;
    std::string secret_;
    std::shared_ptr<evp_pkey_st> pkey_;
};

/// {"keys":[public_jwk(), …]} as JSON text, ready for Config::jwt_jwks.
std::string jwks_json(const std::vector<const JwtKey*>& keys);

/// A signed token: header {"alg":…,"typ":"JWT"} plus "kid" when the key has one, and the
/// claims serialized as given.
std::string mint(const JwtKey& key, const boost::json::object& claims);

/// A token from exact header and payload JSON text, signed by key whatever the header says:
/// reordered claims, forged algs, duplicate keys.
std::string mint_raw(const JwtKey& key, std::string_view header_json,
                     std::string_view payload_json);

/// "<b64(header)>.<b64(payload)>.<b64(signature)>" without signing: alg:none tokens
/// (signature empty or not) and forgeries.
std::string unsigned_token(std::string_view header_json, std::string_view payload_json,
                           std::string_view signature_bytes = {});

/// token with part (0 header, 1 payload, 2 signature) replaced by base64url(bytes), the other
/// parts untouched: tampered tokens keep their original signature.
std::string replace_part(std::string_view token, int part, std::string_view bytes);

/// base64url without padding.
std::string b64url(std::string_view bytes);

/// Wall-clock Unix seconds.
std::int64_t unix_now_s();

/// {"role": role, "exp": exp} plus "sub" when not empty.
boost::json::object claims(std::string role, std::int64_t exp, std::string sub = {});

} // namespace walcast::testing
