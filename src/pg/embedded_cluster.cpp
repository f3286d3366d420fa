#include "pg/embedded_cluster.hpp"

#include "common/logging.hpp"
#include "common/process.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace walcast::pg {

Result<std::uint16_t> pick_free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(Errc::Unavailable, std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        return make_error(Errc::Unavailable, std::string("bind: ") + std::strerror(errno));
    }
    ::close(fd);
    return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

Result<fs::path> EmbeddedCluster::find_bin_dir() {
    auto has_server = [](const fs::path& dir) {
        return ::access((dir / "initdb").c_str(), X_OK) == 0 &&
               ::access((dir / "pg_ctl").c_str(), X_OK) == 0;
    };
    std::string pg_config = find_on_path("pg_config");
    if (!pg_config.empty()) {
        auto out = run_program({pg_config, "--bindir"});
        if (out) {
            std::string dir = *out;
            while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
            if (has_server(dir)) return fs::path(dir);
        }
    }
    fs::path best;
    int best_version = -1;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        int version = std::atoi(entry.path().filename().c_str());
        if (version > best_version && has_server(entry.path() / "bin")) {
            best_version = version;
            best = entry.path() / "bin";
        }
    }
    if (best_version >= 0) return best;
    return make_error(Errc::NotFound,
                      "PostgreSQL server programs (initdb, pg_ctl) not found; install them with "
                      "`apt-get install postgresql-15` (or set DATABASE_URL to use an existing "
                      "server)");
}

namespace {

// Every directory from the root down to dir must be searchable by the user running Postgres.
Status check_reachable(const fs::path& dir, const RunAs& user) {
    fs::path p;
    for (const auto& part : fs::absolute(dir)) {
        p /= part;
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) break; // not created yet: fine
        bool ok = (st.st_mode & S_IXOTH) || (st.st_uid == user.uid && (st.st_mode & S_IXUSR)) ||
                  (st.st_gid == user.gid && (st.st_mode & S_IXGRP));
        if (!ok)
            return make_error(Errc::PermissionDenied,
                              "the data directory " + dir.string() + " is not reachable by the " +
                                  user.name + " user that runs Postgres (" + p.string() +
                                  " is not searchable); choose another with --data-dir, e.g. "
                                  "--data-dir /var/lib/walcast/pgdata");
    }
    return {};
}

} // namespace

Result<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::start(Options options) {
    std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
    auto bin = find_bin_dir();
    if (!bin) return std::move(bin).error();
    c->bin_dir_ = *bin;
    c->options_ = std::move(options);
    auto& opts = c->options_;
    opts.data_dir = fs::absolute(opts.data_dir);

    std::optional<RunAs> user;
    if (::geteuid() == 0) {
        user = lookup_user("postgres");
        if (!user)
            return make_error(Errc::NotFound,
                              "walcast runs as root and Postgres refuses to; no `postgres` user "
                              "exists to run it as. Install postgresql-15 (which creates it) or "
                              "run walcast as an unprivileged user");
        c->as_other_user_ = true;
        if (auto st = check_reachable(opts.data_dir.parent_path(), *user); !st) return st.error();
    }

    std::error_code ec;
    fs::create_directories(opts.data_dir.parent_path(), ec);
    c->log_file_ = opts.data_dir.parent_path() / (opts.data_dir.filename().string() + ".log");
    auto report = [&](const std::string& what) {
        if (opts.progress) opts.progress(what);
    };

    RunOptions run;
    run.user = user;
    run.output_file = c->log_file_.string();
    if (user) {
        // The log file lives beside the data dir and must be writable by postgres.
        std::ofstream(c->log_file_, std::ios::app).close();
        if (::chown(c->log_file_.c_str(), user->uid, user->gid) != 0) {
        }
    }

    if (!fs::exists(opts.data_dir / "PG_VERSION")) {
        report("initdb: creating a new Postgres cluster in " + opts.data_dir.string());
        fs::create_directories(opts.data_dir, ec);
        if (ec)
            return make_error(Errc::Unavailable, "cannot create " + opts.data_dir.string() + ": " +
                                                     ec.message() + "; choose another --data-dir");
        ::chmod(opts.data_dir.c_str(), 0700);
        if (user && ::chown(opts.data_dir.c_str(), user->uid, user->gid) != 0)
            return make_error(Errc::PermissionDenied,
                              "cannot hand " + opts.data_dir.string() + " to the postgres user");
        auto st = run_program({(c->bin_dir_ / "initdb").string(), "-D", opts.data_dir.string(),
                               "-U", "postgres", "--auth=trust", "-E", "UTF8",
                               "--locale=C.UTF-8", "--no-sync"},
                              run);
        if (!st) return std::move(st).error().context("initdb failed");
    }

    if (opts.port == 0) {
        auto port = pick_free_port();
        if (!port) return std::move(port).error();
        c->port_ = *port;
    } else {
        c->port_ = opts.port;
    }
    report("starting Postgres on 127.0.0.1:" + std::to_string(c->port_));
    if (auto st = c->start_server(); !st) return st.error();
    return c;
}

Result<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::start_temporary(
    std::vector<std::string> settings) {
    // Under /tmp so that the postgres user can reach it even when the checkout lives in a
    // directory only root can enter.
    char tmpl[] = "/tmp/walcast-pg-XXXXXX";
    if (!::mkdtemp(tmpl))
        return make_error(Errc::Unavailable, std::string("mkdtemp: ") + std::strerror(errno));
    ::chmod(tmpl, 0755);
    Options o;
    o.data_dir = fs::path(tmpl) / "data";
    o.ephemeral = true;
    o.settings = std::move(settings);
    auto c = start(std::move(o));
    if (c) {
        (*c)->temp_root_ = tmpl;
    } else {
        std::error_code ec;
        fs::remove_all(tmpl, ec);
    }
    return c;
}

Status EmbeddedCluster::pg_ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{(bin_dir_ / "pg_ctl").string(), "-D",
                                  options_.data_dir.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions run;
    if (as_other_user_) run.user = lookup_user("postgres");
    run.output_file = log_file_.string();
    auto r = run_program(argv, run);
    if (!r) return std::move(r).error();
    return {};
}

Status EmbeddedCluster::start_server() {
    std::string o = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                    " -c unix_socket_directories='" + options_.data_dir.string() + "'" +
                    " -c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20"
                    " -c max_connections=200";
    if (options_.ephemeral) o += " -c fsync=off -c full_page_writes=off";
    for (const auto& s : options_.settings) o += " -c " + s;
    auto st = pg_ctl({"-w", "-t", "60", "-l", log_file_.string(), "-o", o, "start"});
    if (!st) {
        std::string tail;
        std::ifstream in(log_file_);
        std::string line;
        std::vector<std::string> lines;
        while (std::getline(in, line)) lines.push_back(line);
        for (std::size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i)
            tail += "\n  " + lines[i];
        return make_error(Errc::Unavailable, "Postgres did not start (log " + log_file_.string() +
                                                 "):" + tail);
    }
    running_ = true;
    return {};
}

Status EmbeddedCluster::stop() {
    if (!running_) return {};
    running_ = false;
    return pg_ctl({"-w", "-t", "60", "-m", "fast", "stop"});
}

Status EmbeddedCluster::restart() {
    if (auto st = stop(); !st) return st;
    return start_server();
}

Status EmbeddedCluster::crash_restart() {
    if (running_) {
        running_ = false;
        if (auto st = pg_ctl({"-w", "-m", "immediate", "stop"}); !st) return st;
    }
    return start_server();
}

EmbeddedCluster::~EmbeddedCluster() {
    if (auto st = stop(); !st) log::warn("stopping embedded Postgres: {}", st.error().message);
    if (!temp_root_.empty()) {
        std::error_code ec;
        fs::remove_all(temp_root_, ec);
    }
}

ConnectParams EmbeddedCluster::connect_params(const std::string& dbname) const {
    ConnectParams p;
    p.host = "127.0.0.1";
    p.port = std::to_string(port_);
    p.dbname = dbname;
    p.user = "postgres";
    return p;
}

std::string EmbeddedCluster::url(const std::string& dbname) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

std::string EmbeddedCluster::psql_command(const std::string& dbname) const {
    return "psql \"" + url(dbname) + "\"";
}

} // namespace walcast::pg
