// The embedded inspector assets and what /inspector/config.json tells the page: the files the
// build produced are in the binary and reference each other, caching follows the content
// hashes, and an anon JWT is handed out only in embedded mode.
#include "app/dev_environment.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"
#include "server/static_files.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <regex>

namespace walcast::server {
namespace {

std::shared_ptr<const StaticFiles> embedded_files() {
    auto files = std::make_shared<StaticFiles>();
    files->add_embedded(inspector_files());
    return files;
}

pg::ConnectParams local_params() {
    pg::ConnectParams p;
    p.host = "127.0.0.1";
    p.port = "54321";
    p.user = "postgres";
    p.dbname = "postgres";
    return p;
}

TEST(StaticFilesTest, RootServesTheInspectorPage) {
    auto files = embedded_files();
    const StaticFile* index = files->find("/");
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(index->cache_control, "no-cache");
    EXPECT_NE(index->body.find("<title>walcast inspector</title>"), std::string::npos);
    EXPECT_EQ(files->find("/index.html"), index);
}

TEST(StaticFilesTest, PageReferencesBundleAndStylesThatAreEmbedded) {
    auto files = embedded_files();
    const std::string& html = files->find("/")->body;
    std::smatch js, css;
    ASSERT_TRUE(
        std::regex_search(html, js, std::regex(R"re(src="(inspector-[A-Z0-9]{8}\.js)")re")));
    ASSERT_TRUE(
        std::regex_search(html, css, std::regex(R"re(href="(inspector-[A-Z0-9]{8}\.css)")re")));
    const StaticFile* bundle = files->find("/" + js[1].str());
    const StaticFile* styles = files->find("/" + css[1].str());
    ASSERT_NE(bundle, nullptr);
    ASSERT_NE(styles, nullptr);
    EXPECT_EQ(bundle->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(styles->content_type, "text/css; charset=utf-8");
    EXPECT_EQ(bundle->cache_control, "public, max-age=31536000, immutable");
    // The real realtime-js client is in the bundle: its Phoenix join event and its 2.x V2
    // serializer version.
    EXPECT_NE(bundle->body.find("phx_join"), std::string::npos);
    EXPECT_NE(bundle->body.find("2.0.0"), std::string::npos);
}

TEST(StaticFilesTest, PageLoadsNothingFromElsewhere) {
    auto files = embedded_files();
    const std::string& html = files->find("/")->body;
    EXPECT_EQ(html.find("src=\"http"), std::string::npos);
    EXPECT_EQ(html.find("href=\"http"), std::string::npos);
    EXPECT_EQ(html.find("src=\"//"), std::string::npos);
    EXPECT_EQ(html.find("href=\"//"), std::string::npos);
}

TEST(StaticFilesTest, UnknownAndTraversalPathsAreNotFound) {
    auto files = embedded_files();
    EXPECT_EQ(files->find("/nope.js"), nullptr);
    EXPECT_EQ(files->find("/../index.html"), nullptr);
    EXPECT_EQ(files->find("//index.html"), nullptr);
    EXPECT_EQ(files->find(""), nullptr);
    EXPECT_EQ(files->find("/etc/passwd"), nullptr);
    ASSERT_NE(files->find("/"), nullptr);
    EXPECT_EQ(files->find("/")->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(files->find("/"), files->find("/index.html"));
}

TEST(StaticFilesTest, EtagFollowsContent) {
    StaticFiles files;
    files.add("/a.txt", "text/plain", "no-cache", "one");
    files.add("/b.txt", "text/plain", "no-cache", "two");
    files.add("/c.txt", "text/plain", "no-cache", "one");
    EXPECT_EQ(files.find("/a.txt")->etag, files.find("/c.txt")->etag);
    EXPECT_NE(files.find("/a.txt")->etag, files.find("/b.txt")->etag);
    EXPECT_EQ(files.find("/a.txt")->etag.front(), '"');
    EXPECT_EQ(files.find("/a.txt")->etag.back(), '"');
}

TEST(StaticFilesTest, ContentTypesAndHashes) {
    EXPECT_EQ(content_type_for("x.json"), "application/json");
    EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("x"), "application/octet-stream");
    EXPECT_EQ(content_type_for("x.js.gz"), "application/octet-stream");
    EXPECT_TRUE(has_content_hash("inspector-DAQZ6THZ.js"));
    EXPECT_TRUE(has_content_hash("assets/inspector-W5T3SSTA.css"));
    EXPECT_FALSE(has_content_hash("index.html"));
    EXPECT_FALSE(has_content_hash("inspector-daqz6thz.js"));
    EXPECT_FALSE(has_content_hash("inspector-DAQZ6TH.js"));
    EXPECT_FALSE(has_content_hash("inspectorXDAQZ6THZ.js"));
    EXPECT_FALSE(has_content_hash("-DAQZ6THZ"));
}

TEST(StaticFilesTest, EmbeddedModeHandsThePageAnAnonTokenTheServerAccepts) {
    Config config; // no DATABASE_URL / DB_HOST: embedded
    config.jwt_secret = "an-embedded-secret-of-enough-length-0123456789";
    auto files = app::app_static_files(config, local_params());
    const StaticFile* cfg = files->find("/inspector/config.json");
    ASSERT_NE(cfg, nullptr);
    EXPECT_EQ(cfg->content_type, "application/json");
    EXPECT_EQ(cfg->cache_control, "no-store");
    auto doc = boost::json::parse(cfg->body).as_object();
    const std::string token(doc.at("anon_jwt").as_string());
    auto verifier = auth::JwtVerifier::create(config);
    ASSERT_TRUE(verifier) << verifier.error().message;
    auto verified = verifier->verify(token, now_unix_us() / 1'000'000);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified.claims().role, "anon");
    EXPECT_EQ(doc.at("tables").as_array().at(0).as_string(), "todos");
    EXPECT_EQ(doc.at("insert_example").as_string(),
              "psql \"postgresql://postgres@127.0.0.1:54321/postgres\" -c \"insert into todos "
              "(task) values ('Change!')\"");
}

TEST(StaticFilesTest, ExternalDatabaseHandsOutNoToken) {
    Config config;
    config.database_url = "postgresql://app@db.internal/app";
    config.jwt_secret = "a-project-secret-of-enough-length-0123456789";
    auto files = app::app_static_files(config, local_params());
    auto doc = boost::json::parse(files->find("/inspector/config.json")->body).as_object();
    EXPECT_TRUE(doc.at("anon_jwt").is_null());
    EXPECT_TRUE(doc.at("insert_example").is_null());
    EXPECT_TRUE(doc.at("tables").as_array().empty());
    EXPECT_EQ(files->find("/inspector/config.json")->body.find("eyJ"), std::string::npos);
}

TEST(StaticFilesTest, EmbeddedModeWithoutAnHsSecretHandsOutNoToken) {
    Config config; // embedded, but the keys are a JWKS: walcast cannot mint a token
    auto files = app::app_static_files(config, local_params());
    auto doc = boost::json::parse(files->find("/inspector/config.json")->body).as_object();
    EXPECT_TRUE(doc.at("anon_jwt").is_null());
}

} // namespace
} // namespace walcast::server
