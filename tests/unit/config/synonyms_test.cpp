// The Supabase Realtime server's environment names walcast accepts: API_JWT_SECRET for
// JWT_SECRET, PUBLICATIONS (a JSON array) for PUBLICATION, and DB_SSL as a libpq sslmode.
#include "app/connect_params.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace walcast {
namespace {

TEST(ConfigSynonymsTest, ApiJwtSecretBecomesTheJwtSecret) {
    Config c;
    c.api_jwt_secret = "from-supabase-env";
    ASSERT_TRUE(resolve_synonyms(c));
    EXPECT_EQ(c.jwt_secret, "from-supabase-env");
}

TEST(ConfigSynonymsTest, DifferentJwtSecretAndApiJwtSecretAreRefusedNamingBoth) {
    Config c;
    c.jwt_secret = "one";
    c.api_jwt_secret = "two";
    auto st = resolve_synonyms(c);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("JWT_SECRET"), std::string::npos);
    EXPECT_NE(st.error().message.find("API_JWT_SECRET"), std::string::npos);
    c.api_jwt_secret = "one";
    EXPECT_TRUE(resolve_synonyms(c)) << "the same value twice is fine";
}

TEST(ConfigSynonymsTest, PublicationsArrayWithOneNameBecomesThePublication) {
    Config c;
    c.publications_json = R"(["my_pub"])";
    ASSERT_TRUE(resolve_synonyms(c));
    EXPECT_EQ(c.publication, "my_pub");
}

TEST(ConfigSynonymsTest, PublicationsThatIsNotAOneNameArrayIsRefusedWithTheShape) {
    for (const char* bad : {"my_pub", "[]", R"(["a","b"])", "[1]", R"([""])", "{}"}) {
        Config c;
        c.publications_json = bad;
        auto st = resolve_synonyms(c);
        ASSERT_FALSE(st) << bad;
        EXPECT_NE(st.error().message.find("[\"supabase_realtime\"]"), std::string::npos) << bad;
    }
    Config two;
    two.publications_json = R"(["a","b"])";
    EXPECT_NE(resolve_synonyms(two).error().message.find("streams one publication"),
              std::string::npos);
}

TEST(ConfigSynonymsTest, PublicationAndPublicationsNamingDifferentOnesAreRefused) {
    Config c;
    c.publication = "a";
    c.publications_json = R"(["b"])";
    EXPECT_FALSE(resolve_synonyms(c));
}

TEST(ConfigSynonymsTest, DbSslMapsToSslmodeOverTheUrl) {
    Config c;
    c.database_url = "postgresql://u@db.example.com/app?sslmode=disable";
    EXPECT_EQ(app::connect_params_from(c).sslmode, "") << "unset: the URL's sslmode stands";
    c.db_ssl = "true";
    EXPECT_EQ(app::connect_params_from(c).sslmode, "require");
    c.db_ssl = "false";
    EXPECT_EQ(app::connect_params_from(c).sslmode, "disable");
    c.db_ssl = "verify-full";
    c.database_url.clear();
    c.db_host = "db.example.com";
    EXPECT_EQ(app::connect_params_from(c).sslmode, "verify-full");
}

} // namespace
} // namespace walcast
