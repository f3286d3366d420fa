// `walcast serve`: the realtime server (HTTP + WebSocket, app::App). With no database
// configured it runs the embedded development environment (app::DevEnvironment: its own
// Postgres, created on first run, prepared like `walcast db init` plus a demo `todos` table,
// stopped on SIGINT/SIGTERM). This file is the console: progress line, banner, signals.
#include "app/app.hpp"
#include "app/connect_params.hpp"
#include "app/dev_environment.hpp"
#include "cli/command.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "server/tls_relay.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace walcast::cli {

namespace {

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

/// The start-up banner on stdout: URLs, the embedded keys and psql line, and whether walcast is
/// ready (the replication stream is up) or only listening.
void print_banner(const Config& config, const app::DevEnvironment* dev, const std::string& base,
                  bool stream_up) {
    if (stream_up)
        std::printf("\nwalcast %s is ready.\n\n", WALCAST_VERSION);
    else
        std::printf("\nwalcast %s is listening, but not ready: the replication stream is down "
                    "(see the log; /healthz answers 503 until it is up).\n\n",
                    WALCAST_VERSION);
    // TLS_CERT_FILE: the listener speaks TLS only.
    const char* http = config.tls_cert_file.empty() ? "http" : "https";
    const char* ws = config.tls_cert_file.empty() ? "ws" : "wss";
    std::printf("  Inspector:  %s://%s/\n", http, base.c_str());
    std::printf("  WebSocket:  %s://%s/socket  (realtime-js endpoint; supabase-js URL: %s://%s)\n",
                ws, base.c_str(), http, base.c_str());
    if (dev) {
        if (!config.jwt_secret.empty()) {
            std::printf("  anon JWT:   %s\n", app::embedded_jwt(config.jwt_secret, "anon").c_str());
            std::printf("  service_role JWT (bypasses RLS; keep it on servers):\n"
                        "              %s\n",
                        app::embedded_jwt(config.jwt_secret, "service_role").c_str());
        }
        std::printf("  psql:       %s\n", dev->psql_command().c_str());
        std::printf("\nTry it: open the inspector, press Subscribe, then insert a todo:\n"
                    "  %s -c \"%s\"\n",
                    dev->psql_command().c_str(), app::demo_insert_sql().c_str());
        std::printf("\nData: %s (kept across runs; JWT secret in %s)\n", config.data_dir.c_str(),
                    dev->jwt_secret_file().c_str());
    }
    std::printf("Health: %s://%s/healthz   Metrics: %s://%s/metrics\n", http, base.c_str(), http,
                base.c_str());
    std::printf("Press Ctrl+C to stop.\n");
    std::fflush(stdout);
    if (!stream_up)
        std::fprintf(stderr,
                     "walcast: the replication stream is not up yet; clients can connect, "
                     "changes flow once it is (see the log above and %s://%s/healthz)\n",
                     http, base.c_str());
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
    // TLS_CERT_FILE/TLS_KEY_FILE are checked before a database is started or reached: a wrong
    // file stops start-up at once, naming it (the listener loads them again).
    if (!config.tls_cert_file.empty())
        if (auto tls = server::make_tls_context(config.tls_cert_file, config.tls_key_file); !tls)
            return fail(progress, tls.error().message);
    std::unique_ptr<app::DevEnvironment> dev;
    pg::ConnectParams params;
    if (config.embedded()) {
        app::DevEnvironment::Hooks hooks;
        hooks.notice = [](const std::string& text) { std::fputs(text.c_str(), stderr); };
        hooks.progress = [&progress](const std::string& what) { progress.step(what); };
        hooks.interrupted = [] { return interrupted(); };
        auto env = app::DevEnvironment::start(config, hooks);
        if (!env) return fail(progress, env.error().message);
        dev = std::move(env).value();
        params = dev->connect_params();
        // walcast owns the embedded cluster: a permanent slot, so a restart resumes.
        if (config.slot_name.empty() && !config.slot_temporary)
            config.slot_name = Config::embedded_slot_name;
    } else {
        params = app::connect_params_from(config);
    }

    // The server logs from here on: the progress line goes, so log lines start on their own.
    progress.done();
    app::App app(config, params);
    if (auto st = app.start(); !st) return fail(progress, st.error().message);
    // Wait for the replication stream before the banner, but stop at once on SIGINT/SIGTERM
    // (pending while blocked): the stream may be down for as long as Postgres is.
    // (A restart with SLOT_NAME may hold the slot for RESUME_GRACE_MS first.)
    const auto stream_deadline =
        std::chrono::steady_clock::now() + (dev ? stream_wait_embedded : stream_wait_external) +
        (config.slot_name.empty() ? std::chrono::milliseconds(0)
                                  : std::chrono::milliseconds(config.resume_grace_ms));
    bool stream_up = false;
    while (!(stream_up = app.wait_stream_up(std::chrono::milliseconds(50))) && !interrupted() &&
           std::chrono::steady_clock::now() < stream_deadline) {
    }

    const std::string listen = config.listen_host();
    const std::string host = listen == "0.0.0.0" || listen == "::" ? "localhost" : listen;
    const std::string base = host + ":" + std::to_string(app.port());
    if (!interrupted()) print_banner(config, dev.get(), base, stream_up);

    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "walcast: %s received, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    app.stop();
    if (dev) {
        if (auto st = dev->stop(); !st) {
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
