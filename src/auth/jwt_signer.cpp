#include "auth/jwt_signer.hpp"

#include "auth/base64url.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace walcast::auth {

std::string sign_hs256(const boost::json::object& claims, std::string_view secret) {
    std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
    input += '.';
    input += base64url_encode(boost::json::serialize(claims));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    input += '.';
    input += base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
    return input;
}

std::string random_secret(std::size_t n) {
    std::string bytes(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("OpenSSL could not produce random bytes for a JWT secret");
    return base64url_encode(bytes);
}

} // namespace walcast::auth
