// EmbeddedCluster's decisions before any Postgres runs: where the server programs are found
// (and the install hint when they are not), which directory keeps the postgres user out of a
// data directory when walcast runs as root, and the psql command it prints.
#include "pg/embedded_cluster.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace walcast::pg {
namespace {

namespace fs = std::filesystem;

// A scratch directory under /tmp, removed at the end of the test.
class ScratchDir {
public:
    ScratchDir() {
        char tmpl[] = "/tmp/walcast-unit-XXXXXX";
        path_ = ::mkdtemp(tmpl);
        ::chmod(path_.c_str(), 0755);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

void fake_program(const fs::path& file) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "#!/bin/sh\nexit 0\n";
    ::chmod(file.c_str(), 0755);
}

void fake_server(const fs::path& bin) {
    for (const char* p : {"initdb", "pg_ctl", "postgres"})
        fake_program(bin / p);
}

BinSearch only_roots(std::vector<fs::path> roots) {
    BinSearch s;
    s.use_pg_config = false;
    s.use_path = false;
    s.version_roots = std::move(roots);
    return s;
}

TEST(EmbeddedClusterPathsTest, MissingProgramsErrorSaysHowToInstallThem) {
    ScratchDir empty;
    auto r = EmbeddedCluster::find_bin_dir(only_roots({empty.path()}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotFound);
    const std::string& m = r.error().message;
    EXPECT_NE(m.find("initdb"), std::string::npos) << m;
    EXPECT_NE(m.find((empty.path() / "*" / "bin").string()), std::string::npos) << m;
    EXPECT_NE(m.find("apt-get install postgresql-15"), std::string::npos) << m;
    EXPECT_NE(m.find("DATABASE_URL"), std::string::npos) << m;
}

TEST(EmbeddedClusterPathsTest, NewestCompleteVersionWins) {
    ScratchDir root;
    fake_server(root.path() / "14" / "bin");
    fake_server(root.path() / "15" / "bin");
    fake_program(root.path() / "16" / "bin" / "initdb"); // client-only leftovers: not a server
    auto r = EmbeddedCluster::find_bin_dir(only_roots({root.path()}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, root.path() / "15" / "bin");
}

TEST(EmbeddedClusterPathsTest, FindsServerProgramsOnPath) {
    ScratchDir dir;
    fake_server(dir.path() / "bin");
    const char* old = std::getenv("PATH");
    std::string saved = old ? old : "";
    ::setenv("PATH", (dir.path() / "bin").c_str(), 1);
    BinSearch s = only_roots({});
    s.use_path = true;
    auto r = EmbeddedCluster::find_bin_dir(s);
    ::setenv("PATH", saved.c_str(), 1);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, dir.path() / "bin");
}

TEST(EmbeddedClusterPathsTest, ReportsTheDirectoryThePostgresUserCannotSearch) {
    if (::geteuid() != 0) GTEST_SKIP() << "only root hands the cluster to the postgres user";
    ScratchDir dir;
    fs::path closed = dir.path() / "home";
    fs::create_directories(closed / "project");
    ::chmod(closed.c_str(), 0700);
    fs::path data = closed / "project" / ".walcast" / "pgdata";
    EXPECT_EQ(EmbeddedCluster::blocking_directory(data), closed);
    auto st = EmbeddedCluster::check_reachable(data);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::PermissionDenied);
    EXPECT_NE(st.error().message.find("--data-dir"), std::string::npos);
    EXPECT_NE(st.error().message.find("chmod o+x " + closed.string()), std::string::npos);

    ::chmod(closed.c_str(), 0711); // searchable, not listable: enough
    EXPECT_EQ(EmbeddedCluster::blocking_directory(data), fs::path());
    EXPECT_TRUE(EmbeddedCluster::check_reachable(data));
}

TEST(EmbeddedClusterPathsTest, TheDataDirectoryItselfNeverBlocks) {
    if (::geteuid() != 0) GTEST_SKIP() << "only root hands the cluster to the postgres user";
    ScratchDir dir;
    fs::path data = dir.path() / "pgdata";
    fs::create_directories(data);
    ::chmod(data.c_str(), 0700); // what initdb leaves; it belongs to postgres once created
    EXPECT_EQ(EmbeddedCluster::blocking_directory(data), fs::path());
}

TEST(EmbeddedClusterPathsTest, PsqlCommandNamesHostPortUserAndDatabase) {
    ConnectParams p;
    p.host = "127.0.0.1";
    p.port = "54321";
    p.user = "postgres";
    p.dbname = "postgres";
    p.password = "never-printed";
    EXPECT_EQ(psql_command(p), "psql \"postgresql://postgres@127.0.0.1:54321/postgres\"");
}

} // namespace
} // namespace walcast::pg
