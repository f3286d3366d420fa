// `walcast token --role … [--sub …] [--exp …]`: signs a JWT (HS256) with the configured
// JWT_SECRET (or API_JWT_SECRET; without either, the embedded data directory's secret, the one
// the banner's keys are signed with) and prints it — the anon or service_role key of a real
// deployment, or a user token for testing policies.
#include "auth/jwt_signer.hpp"
#include "cli/command.hpp"
#include "common/clock.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace walcast::cli {

namespace {

struct TokenOptions {
    std::string role;
    std::string sub;
    std::string exp;
    std::string issuer = "walcast";
};

/// "3600", "90s", "15m", "12h", "30d", "10y" → seconds; nullopt when it is none of these.
std::optional<std::int64_t> parse_duration(const std::string& text) {
    if (text.empty() || text.size() > 12) return std::nullopt;
    std::int64_t n = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
        n = n * 10 + (text[i] - '0');
    if (i == 0 || n == 0) return std::nullopt;
    const std::string unit = text.substr(i);
    const std::int64_t scale = unit.empty() || unit == "s" ? 1
                               : unit == "m"               ? 60
                               : unit == "h"               ? 3600
                               : unit == "d"               ? 86400
                               : unit == "y"               ? 365 * 86400
                                                           : 0;
    if (scale == 0) return std::nullopt;
    return n * scale;
}

int run_token(const Config& config, const TokenOptions& o) {
    const std::string secret = signing_secret(config);
    if (secret.empty()) {
        std::fprintf(stderr,
                     "walcast token: no secret to sign with; set JWT_SECRET (or "
                     "API_JWT_SECRET) to the secret walcast serve verifies with%s\n",
                     config.jwt_jwks.empty()
                         ? ""
                         : " (JWT_JWKS keys are public keys: tokens for them are signed by "
                           "your auth server)");
        return 2;
    }
    // Project keys live long, as a Supabase project's anon and service_role keys; a user's
    // token an hour.
    std::string exp_text = !o.exp.empty()                                 ? o.exp
                           : o.role == "anon" || o.role == "service_role" ? "10y"
                                                                          : "1h";
    auto lifetime = parse_duration(exp_text);
    if (!lifetime) {
        std::fprintf(stderr,
                     "walcast token: --exp \"%s\" is not a duration; use seconds or a number "
                     "with s, m, h, d or y (e.g. 3600, 12h, 30d)\n",
                     exp_text.c_str());
        return 2;
    }
    const std::int64_t now = now_unix_us() / 1'000'000;
    boost::json::object claims;
    claims["iss"] = o.issuer;
    claims["role"] = o.role;
    if (o.role == "authenticated") claims["aud"] = "authenticated"; // as Supabase Auth's
    if (!o.sub.empty()) claims["sub"] = o.sub;
    claims["iat"] = now;
    claims["exp"] = now + *lifetime;
    std::printf("%s\n", auth::sign_hs256(claims, secret).c_str());
    return 0;
}

} // namespace

std::string signing_secret(const Config& config) {
    std::string secret = config.jwt_secret;
    if (secret.empty() && config.embedded()) {
        const auto file = std::filesystem::absolute(config.data_dir).parent_path() / "jwt_secret";
        if (std::ifstream in(file); in) std::getline(in, secret);
    }
    return secret;
}

void register_token(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand(
        "token", "print a JWT (HS256, signed with JWT_SECRET) for a role: the anon or "
                 "service_role key of a deployment, or a user's token");
    add_config_options(*cmd, config, ConfigOptions::Auth | ConfigOptions::Embedded);
    auto opts = std::make_shared<TokenOptions>();
    cmd->add_option("--role", opts->role,
                    "the role claim: anon (public key), service_role (bypasses row-level "
                    "security; keep it on servers), authenticated (a signed-in user), or "
                    "another database role")
        ->required()
        ->check([](const std::string& r) {
            return r.empty() ? std::string("the role must not be empty") : std::string();
        })
        ->group("Token");
    cmd->add_option("--sub", opts->sub, "the sub claim (the user id auth.uid() returns)")
        ->group("Token");
    cmd->add_option("--exp", opts->exp,
                    "lifetime: seconds or a number with s, m, h, d, y; default 10y for anon "
                    "and service_role, 1h otherwise")
        ->group("Token");
    cmd->add_option("--iss", opts->issuer, "the iss claim")->capture_default_str()->group("Token");
    cmd->callback([selected, &config, opts] {
        *selected = [&config, opts] { return run_token(config, *opts); };
    });
}

} // namespace walcast::cli
