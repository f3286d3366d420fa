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
#include "server/static_files.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace walcast::cli {

namespace {

namespace fs = std::filesystem;

/// How long the banner waits for the replication stream before printing anyway.
constexpr auto stream_wait_embedded = std::chrono::seconds(30);
constexpr auto stream_wait_external = std::chrono::seconds(10);

/// The progress line on stderr while start-up steps run. On a terminal: one line, redrawn
/// every 100 ms with a spinner and the step's elapsed time, erased when done. Otherwise one
/// plain line per step (logs and CI output stay readable).
class Progress {
public:
    Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
    ~Progress() { done(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Shows what now runs (replaces the previous step).
    void step(const std::string& what) {
        std::unique_lock lock(mu_);
        what_ = what;
        started_ = std::chrono::steady_clock::now();
        if (!tty_) {
            std::fprintf(stderr, "walcast: %s …\n", what.c_str());
            std::fflush(stderr);
            return;
        }
        draw_locked();
        if (!ticker_.joinable()) ticker_ = std::thread([this] { tick(); });
    }

    /// Stops redrawing and erases the line. Idempotent.
    void done() {
        {
            std::unique_lock lock(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_all();
        if (ticker_.joinable()) ticker_.join();
        if (tty_ && !what_.empty()) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
        }
    }

private:
    void tick() {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; }))
            draw_locked();
    }

    void draw_locked() {
        static constexpr const char* frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
        double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        std::fprintf(stderr, "\r\033[K%s %s (%.1fs)", frames[frame_++ % 10], what_.c_str(), s);
        std::fflush(stderr);
    }

    const bool tty_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread ticker_;
    std::string what_;
    std::chrono::steady_clock::time_point started_;
    unsigned frame_ = 0;
    bool stopping_ = false;
};

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

// Where the embedded cluster lives. Running as root, Postgres runs as `postgres`, which must
// be able to reach the data directory. When the *default* .walcast/pgdata is not reachable
// (a checkout under /root, say), walcast uses /var/lib/walcast/<dir>-<hash>/pgdata instead —
// the same one every time for the same working directory, so the data is kept across runs —
// and says so. An explicitly chosen --data-dir is never replaced: that is an error with a fix.
Result<fs::path> choose_data_dir(const Config& config) {
    fs::path requested = fs::absolute(config.data_dir).lexically_normal();
    fs::path blocking = pg::EmbeddedCluster::blocking_directory(requested);
    if (blocking.empty()) return requested;
    if (config.data_dir != Config{}.data_dir) {
        auto st = pg::EmbeddedCluster::check_reachable(requested);
        return std::move(st).error();
    }
    std::uint32_t h = 2166136261u; // FNV-1a 32 of the path: a stable, short directory name
    for (unsigned char c : requested.string())
        h = (h ^ c) * 16777619u;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(h));
    std::string name = requested.parent_path().parent_path().filename().string();
    if (name.empty()) name = "walcast";
    fs::path fallback = fs::path("/var/lib/walcast") / (name + suffix) / "pgdata";
    if (auto st = pg::EmbeddedCluster::check_reachable(fallback); !st) return std::move(st).error();
    std::fprintf(stderr,
                 "walcast: the postgres user cannot reach %s (%s is not searchable by others);\n"
                 "         using %s instead (choose with --data-dir)\n",
                 requested.c_str(), blocking.c_str(), fallback.c_str());
    return fallback;
}

// True when SIGINT or SIGTERM arrived (they are blocked, so they wait as pending).
bool interrupted() {
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) != 0) return false;
    return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

int fail(Progress& progress, const std::string& message) {
    progress.done();
    std::fprintf(stderr, "walcast: %s\n", message.c_str());
    return 1;
}

int run_serve(Config config) {
    // SIGINT/SIGTERM are handled by this thread with sigwait; every thread started from here
    // inherits the blocked mask. During start-up they stay pending and are checked between
    // steps.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Progress progress;
    std::unique_ptr<pg::EmbeddedCluster> cluster;
    pg::ConnectParams params;
    if (config.embedded()) {
        auto data_dir = choose_data_dir(config);
        if (!data_dir) return fail(progress, data_dir.error().message);
        config.data_dir = data_dir->string();
        std::fprintf(stderr,
                     "walcast: no database configured (DATABASE_URL / DB_HOST), so walcast runs "
                     "its own Postgres in %s\n",
                     config.data_dir.c_str());
        pg::EmbeddedCluster::Options o;
        o.data_dir = config.data_dir;
        o.port = config.embedded_db_port;
        o.progress = [&progress](const std::string& what) { progress.step(what); };
        auto c = pg::EmbeddedCluster::start(std::move(o));
        if (!c) return fail(progress, c.error().message);
        cluster = std::move(c).value();
        if (interrupted()) return fail(progress, "interrupted during start-up; stopped");
        params = cluster->connect_params();
        progress.step(cluster->created() ? "preparing the database (roles, auth helpers, "
                                           "publication, demo table todos)"
                                         : "checking the database set-up");
        auto conn = pg::Connection::connect(params);
        if (!conn) return fail(progress, conn.error().message);
        auto statements = pg::db_init_statements(config.publication);
        for (auto& s : pg::demo_statements())
            statements.push_back(std::move(s));
        if (auto st = pg::run_statements(*conn, statements); !st)
            return fail(progress, st.error().message);
        if (config.jwt_secret.empty() && config.jwt_jwks.empty()) {
            auto secret = embedded_secret(config.data_dir);
            if (!secret) return fail(progress, secret.error().message);
            config.jwt_secret = *secret;
        }
    } else {
        params = capture::connect_params_from(config);
    }

    // The server logs from here on: the progress line goes, so log lines start on their own.
    progress.done();
    server::App app(config, params);
    if (auto st = app.start(); !st) return fail(progress, st.error().message);
    bool stream_up = app.wait_stream_up(cluster ? stream_wait_embedded : stream_wait_external);

    const std::string listen = config.listen_host();
    const std::string host = listen == "0.0.0.0" || listen == "::" ? "localhost" : listen;
    const std::string base = host + ":" + std::to_string(app.port());
    std::printf("\nwalcast %s is ready.\n\n", WALCAST_VERSION);
    std::printf("  Inspector:  http://%s/\n", base.c_str());
    std::printf(
        "  WebSocket:  ws://%s/socket  (realtime-js endpoint; supabase-js URL: http://%s)\n",
        base.c_str(), base.c_str());
    if (cluster) {
        if (!config.jwt_secret.empty())
            std::printf(
                "  anon JWT:   %s\n",
                server::embedded_anon_jwt(config.jwt_secret, now_unix_us() / 1'000'000).c_str());
        std::printf("  psql:       %s\n", cluster->psql_command().c_str());
        std::printf("\nTry it: open the inspector, press Subscribe, then insert a todo:\n"
                    "  %s -c \"%s\"\n",
                    cluster->psql_command().c_str(), pg::demo_insert_sql().c_str());
        std::printf("\nData: %s (kept across runs; JWT secret in %s)\n", config.data_dir.c_str(),
                    (fs::path(config.data_dir).parent_path() / "jwt_secret").c_str());
    }
    std::printf("Health: http://%s/healthz   Metrics: http://%s/metrics\n", base.c_str(),
                base.c_str());
    std::printf("Press Ctrl+C to stop.\n");
    std::fflush(stdout);
    if (!stream_up)
        std::fprintf(stderr,
                     "walcast: the replication stream is not up yet; clients can connect, "
                     "changes flow once it is (see the log above and http://%s/healthz)\n",
                     base.c_str());

    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "walcast: %s received, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    app.stop();
    if (cluster) {
        if (auto st = cluster->stop(); !st) {
            std::fprintf(stderr, "walcast: stopping Postgres: %s\n", st.error().message.c_str());
            return 1;
        }
        std::fprintf(stderr, "walcast: Postgres stopped; data kept in %s\n",
                     config.data_dir.c_str());
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
