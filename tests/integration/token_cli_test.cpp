// `walcast token`: the printed JWT verifies with the secret walcast serve is configured with
// (JWT_SECRET or API_JWT_SECRET) and carries the role, sub, exp asked for; bad input is refused
// with the fix. (No Postgres needed.)
#include "auth/jwt_verifier.hpp"
#include "common/clock.hpp"
#include "common/process.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace walcast::testing {
namespace {

const std::string kSecret = "a-test-secret-that-is-at-least-32-bytes-long";

Result<std::string> token(const std::vector<std::string>& args, const std::string& env) {
    std::vector<std::string> argv{WALCAST_BIN, "token"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.env = {env};
    return run_program(argv, o);
}

auth::Claims verify(const std::string& printed) {
    Config c;
    c.jwt_secret = kSecret;
    auto verifier = auth::JwtVerifier::create(c);
    EXPECT_TRUE(verifier);
    std::string t = printed.substr(0, printed.find('\n'));
    auto r = verifier->verify(t, now_unix_us() / 1'000'000);
    EXPECT_TRUE(r.ok()) << printed;
    return r.ok() ? r.claims() : auth::Claims{};
}

TEST(TokenCliTest, SignsTheRoleSubAndExpiryWithJwtSecret) {
    auto out = token({"--role", "authenticated", "--sub", "8d0fb0d6-3f2a-4c4b-9a57-7f5c2f0d1e2a",
                      "--exp", "15m"},
                     "JWT_SECRET=" + kSecret);
    ASSERT_TRUE(out) << out.error().message;
    auto claims = verify(*out);
    EXPECT_EQ(claims.role, "authenticated");
    EXPECT_EQ(claims.object.at("sub").as_string(), "8d0fb0d6-3f2a-4c4b-9a57-7f5c2f0d1e2a");
    EXPECT_EQ(claims.object.at("aud").as_string(), "authenticated");
    const auto exp = claims.object.at("exp").to_number<std::int64_t>();
    const auto iat = claims.object.at("iat").to_number<std::int64_t>();
    EXPECT_EQ(exp - iat, 15 * 60);
}

TEST(TokenCliTest, ServiceRoleKeyFromApiJwtSecretLivesTenYears) {
    auto out = token({"--role", "service_role"}, "API_JWT_SECRET=" + kSecret);
    ASSERT_TRUE(out) << out.error().message;
    auto claims = verify(*out);
    EXPECT_EQ(claims.role, "service_role");
    EXPECT_FALSE(claims.object.contains("sub"));
    EXPECT_EQ(claims.object.at("exp").to_number<std::int64_t>() -
                  claims.object.at("iat").to_number<std::int64_t>(),
              10LL * 365 * 86400);
}

TEST(TokenCliTest, BadExpiryAndMissingSecretAreRefusedWithTheFix) {
    auto bad = token({"--role", "anon", "--exp", "soon"}, "JWT_SECRET=" + kSecret);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("exited with status 2"), std::string::npos);
    EXPECT_NE(bad.error().message.find("e.g. 3600, 12h, 30d"), std::string::npos)
        << bad.error().message;
    auto none =
        token({"--role", "anon", "--data-dir", "/nonexistent/walcast/pgdata"}, "LOG_LEVEL=info");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("set JWT_SECRET"), std::string::npos)
        << none.error().message;
    auto no_role = token({}, "JWT_SECRET=" + kSecret);
    ASSERT_FALSE(no_role);
    EXPECT_NE(no_role.error().message.find("--role"), std::string::npos);
}

} // namespace
} // namespace walcast::testing
