#include "auth/jwt_alg.hpp"

#include <array>
#include <utility>

namespace walcast::auth {
namespace {

constexpr std::array<std::pair<std::string_view, JwtAlg>, 12> names{{
    {"HS256", JwtAlg::HS256},
    {"HS384", JwtAlg::HS384},
    {"HS512", JwtAlg::HS512},
    {"RS256", JwtAlg::RS256},
    {"RS384", JwtAlg::RS384},
    {"RS512", JwtAlg::RS512},
    {"ES256", JwtAlg::ES256},
    {"ES384", JwtAlg::ES384},
    {"ES512", JwtAlg::ES512},
    {"EdDSA", JwtAlg::EdDSA},
    {"Ed25519", JwtAlg::Ed25519},
    {"Ed448", JwtAlg::Ed448},
}};

} // namespace

std::optional<JwtAlg> alg_from_name(std::string_view name) {
    for (const auto& [n, alg] : names)
        if (n == name) return alg;
    return std::nullopt;
}

std::string_view alg_name(JwtAlg alg) {
    for (const auto& [n, a] : names)
        if (a == alg) return n;
    return "?";
}

} // namespace walcast::auth
