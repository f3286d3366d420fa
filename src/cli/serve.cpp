// `walcast serve`: the realtime server (HTTP + WebSocket), fed by logical replication. With no
// database configured it runs its own Postgres cluster (the embedded default): created on first
// run, prepared like `walcast db init` plus a demo `todos` table, stopped on SIGINT/SIGTERM.
#include "auth/jwt_signer.hpp"
#include "capture/connect_params.hpp"
#include "cli/command.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "pg/db_setup.hpp"
#include "pg/embedded_cluster.hpp"
#include "server/app.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace walcast::cli {

namespace {

namespace fs = std::filesystem;

/// Lifetime of the anon token printed in embedded mode.
constexpr std::int64_t demo_token_lifetime_s = 10LL * 365 * 24 * 3600;

// The embedded cluster's JWT secret: generated once and kept beside the data directory.
Result<std::string> embedded_secret(const fs::path& data_dir) {
    const fs::path file = fs::absolute(data_dir).parent_path() / "jwt_secret";
    if (std::ifstream in(file); in) {
        std::string s;
        std::getline(in, s);
        if (!s.empty()) return s;
    }
    std::string secret = auth::random_secret();
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::trunc);
    if (!out)
        return make_error(Errc::Config, "cannot write " + file.string() +
                                            "; choose a writable --data-dir or set JWT_SECRET");
    out << secret << '\n';
    out.close();
    ::chmod(file.c_str(), 0600);
    return secret;
}

void progress(const std::string& what) {
    if (::isatty(STDERR_FILENO)) {
        std::fprintf(stderr, "\r\033[K  … %s", what.c_str());
    } else {
        std::fprintf(stderr, "  … %s\n", what.c_str());
    }
    std::fflush(stderr);
}

int run_serve(Config config) {
    // SIGINT/SIGTERM are handled by this thread with sigwait; every thread started from here
    // inherits the blocked mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::unique_ptr<pg::EmbeddedCluster> cluster;
    pg::ConnectParams params;
    if (config.embedded()) {
        std::fprintf(stderr, "walcast: no database configured (DATABASE_URL / DB_HOST); "
                             "running an embedded Postgres in %s\n",
                     config.data_dir.c_str());
        pg::EmbeddedCluster::Options o;
        o.data_dir = config.data_dir;
        o.port = config.embedded_db_port;
        o.progress = progress;
        auto c = pg::EmbeddedCluster::start(std::move(o));
        if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
        if (!c) {
            std::fprintf(stderr, "walcast: %s\n", c.error().message.c_str());
            return 1;
        }
        cluster = std::move(c).value();
        params = cluster->connect_params();
        auto conn = pg::Connection::connect(params);
        if (!conn) {
            std::fprintf(stderr, "walcast: %s\n", conn.error().message.c_str());
            return 1;
        }
        auto statements = pg::db_init_statements(config.publication);
        for (auto& s : pg::demo_statements()) statements.push_back(std::move(s));
        if (auto st = pg::run_statements(*conn, statements); !st) {
            std::fprintf(stderr, "walcast: %s\n", st.error().message.c_str());
            return 1;
        }
        if (config.jwt_secret.empty() && config.jwt_jwks.empty()) {
            auto secret = embedded_secret(config.data_dir);
            if (!secret) {
                std::fprintf(stderr, "walcast: %s\n", secret.error().message.c_str());
                return 1;
            }
            config.jwt_secret = *secret;
        }
    } else {
        params = capture::connect_params_from(config);
    }

    server::App app(config, params);
    if (auto st = app.start(); !st) {
        std::fprintf(stderr, "walcast: %s\n", st.error().message.c_str());
        return 1;
    }
    const std::string host = config.host == "0.0.0.0" ? "localhost" : config.host;
    const std::string base = host + ":" + std::to_string(app.port());
    std::printf("\nwalcast is running.\n");
    std::printf("  WebSocket (realtime-js endpoint): ws://%s/socket\n", base.c_str());
    std::printf("  supabase-js URL:                  http://%s  (serves /realtime/v1)\n",
                base.c_str());
    std::printf("  Inspector:                        http://%s/\n", base.c_str());
    std::printf("  Health / metrics:                 http://%s/healthz  http://%s/metrics\n",
                base.c_str(), base.c_str());
    if (cluster) {
        if (!config.jwt_secret.empty()) {
            boost::json::object claims;
            claims["role"] = "anon";
            claims["iss"] = "walcast";
            claims["exp"] = now_unix_us() / 1'000'000 + demo_token_lifetime_s;
            std::printf("  anon JWT:  %s\n", auth::sign_hs256(claims, config.jwt_secret).c_str());
        }
        std::printf("  psql:      %s\n", cluster->psql_command().c_str());
        std::printf("\nTry it: open the inspector, subscribe to public.todos, then run\n"
                    "  %s -c \"insert into todos (task) values ('Change!')\"\n",
                    cluster->psql_command().c_str());
    }
    std::printf("\nPress Ctrl+C to stop.\n");
    std::fflush(stdout);

    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "walcast: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    app.stop();
    if (cluster) {
        if (auto st = cluster->stop(); !st)
            std::fprintf(stderr, "walcast: stopping Postgres: %s\n", st.error().message.c_str());
    }
    return 0;
}

} // namespace

void register_serve(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand("serve", "run the realtime server (the default job)");
    add_config_options(*cmd, config,
                       ConfigOptions::Database | ConfigOptions::Server | ConfigOptions::Auth |
                           ConfigOptions::Embedded | ConfigOptions::Logging);
    cmd->callback([selected, &config] { *selected = [&config] { return run_serve(config); }; });
}

} // namespace walcast::cli
