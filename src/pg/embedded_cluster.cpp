#include "pg/embedded_cluster.hpp"

#include "common/logging.hpp"
#include "common/process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace walcast::pg {

namespace {

// Binds 127.0.0.1:port (0 = any free one) and returns the bound port, or 0 when it is taken.
// SO_REUSEADDR as Postgres sets it: connections of the last run in TIME_WAIT do not count.
std::uint16_t try_bind(std::uint16_t port, int* err) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return 0;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    std::uint16_t bound = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        bound = ntohs(addr.sin_port);
    } else {
        *err = errno;
    }
    ::close(fd);
    return bound;
}

// "<parent>/<name><suffix>" for the data directory <parent>/<name>.
fs::path beside(const fs::path& data_dir, const std::string& suffix) {
    return data_dir.parent_path() / (data_dir.filename().string() + suffix);
}

std::string last_lines(const fs::path& file, std::size_t n) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line))
        lines.push_back(line);
    std::string tail;
    for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        tail += "\n  " + lines[i];
    return tail;
}

} // namespace

Result<std::uint16_t> pick_free_port() {
    int err = 0;
    std::uint16_t port = try_bind(0, &err);
    if (port == 0)
        return make_error(Errc::Unavailable, std::string("cannot bind a TCP port on 127.0.0.1: ") +
                                                 std::strerror(err));
    return port;
}

std::string psql_command(const ConnectParams& p) {
    std::string host = p.host.empty() ? "127.0.0.1" : p.host;
    std::string port = p.port.empty() ? "5432" : p.port;
    std::string user = p.user.empty() ? "postgres" : p.user;
    std::string db = p.dbname.empty() ? "postgres" : p.dbname;
    return "psql \"postgresql://" + user + "@" + host + ":" + port + "/" + db + "\"";
}

Result<fs::path> EmbeddedCluster::find_bin_dir(const BinSearch& where) {
    auto has_server = [](const fs::path& dir) {
        return ::access((dir / "initdb").c_str(), X_OK) == 0 &&
               ::access((dir / "pg_ctl").c_str(), X_OK) == 0 &&
               ::access((dir / "postgres").c_str(), X_OK) == 0;
    };
    if (where.use_pg_config) {
        // On Debian, /usr/bin/pg_config (libpq-dev) reports the newest installed server's
        // bindir when a server package is installed.
        std::string pg_config = find_on_path("pg_config");
        if (!pg_config.empty()) {
            if (auto out = run_program({pg_config, "--bindir"})) {
                std::string dir = *out;
                while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' '))
                    dir.pop_back();
                if (!dir.empty() && has_server(dir)) return fs::path(dir);
            }
        }
    }
    if (where.use_path) {
        // Fedora, Arch, Homebrew: initdb and pg_ctl on PATH.
        std::string initdb = find_on_path("initdb");
        if (!initdb.empty()) {
            fs::path dir = fs::path(initdb).parent_path();
            if (has_server(dir)) return dir;
        }
    }
    fs::path best;
    int best_version = -1;
    std::string searched;
    for (const auto& root : where.version_roots) {
        searched += (searched.empty() ? "" : ", ") + (root / "*" / "bin").string();
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root, ec)) {
            int version = std::atoi(entry.path().filename().c_str());
            if (version > best_version && has_server(entry.path() / "bin")) {
                best_version = version;
                best = entry.path() / "bin";
            }
        }
    }
    if (best_version >= 0) return best;
    std::string places;
    if (where.use_pg_config) places += "`pg_config --bindir`, ";
    if (where.use_path) places += "PATH, ";
    places += searched.empty() ? "nowhere else" : searched;
    return make_error(
        Errc::NotFound,
        "the PostgreSQL server programs (initdb, pg_ctl, postgres) were not found (looked in " +
            places +
            "). walcast runs its own Postgres when no database is configured; install them: "
            "Debian/Ubuntu `sudo apt-get install postgresql-15` (or ./scripts/install-deps.sh), "
            "Fedora `sudo dnf install postgresql-server`, macOS `brew install postgresql@15`. "
            "Or use an existing server: set DATABASE_URL (or DB_HOST).");
}

fs::path EmbeddedCluster::blocking_directory(const fs::path& data_dir) {
    if (::geteuid() != 0) return {};
    auto user = lookup_user("postgres");
    if (!user) return {}; // start() reports the missing user with its own fix
    const fs::path target = fs::absolute(data_dir).lexically_normal();
    fs::path p;
    for (const auto& part : target) {
        p /= part;
        if (p == target) break; // the data directory itself is handed to postgres
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) break; // not created yet: walcast creates it 0755
        if (!S_ISDIR(st.st_mode)) break;        // reported when creating the directory
        bool ok = (st.st_mode & S_IXOTH) || (st.st_uid == user->uid && (st.st_mode & S_IXUSR)) ||
                  (st.st_gid == user->gid && (st.st_mode & S_IXGRP));
        if (!ok) return p;
    }
    return {};
}

Status EmbeddedCluster::check_reachable(const fs::path& data_dir) {
    fs::path blocking = blocking_directory(data_dir);
    if (blocking.empty()) return {};
    return make_error(Errc::PermissionDenied,
                      "the data directory " + data_dir.string() +
                          " is not reachable by the `postgres` user that runs Postgres when "
                          "walcast runs as root (" +
                          blocking.string() +
                          " is not searchable by others). Choose a data directory it can "
                          "reach, e.g. --data-dir /var/lib/walcast/pgdata, or allow it in: "
                          "chmod o+x " +
                          blocking.string());
}

Status EmbeddedCluster::lock_data_dir() {
    fs::path lock_file = beside(options_.data_dir, ".lock");
    lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0)
        return make_error(Errc::Unavailable, "cannot open " + lock_file.string() + ": " +
                                                 std::strerror(errno) +
                                                 "; choose a writable --data-dir");
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        return make_error(Errc::Unavailable,
                          "the data directory " + options_.data_dir.string() +
                              " is in use by another walcast (it holds " + lock_file.string() +
                              "); stop that one first, or choose another --data-dir");
    }
    return {};
}

// A walcast that died without stopping its cluster (SIGKILL, crash) leaves Postgres running.
// We hold the data directory's lock, so no live walcast owns that server: stop it.
Status EmbeddedCluster::stop_leftover_server() {
    if (!fs::exists(options_.data_dir / "postmaster.pid")) return {};
    if (!pg_ctl({"status"})) return {}; // stale pid file: Postgres handles that itself
    log::warn("a Postgres left running on {} by an earlier walcast is being stopped",
              options_.data_dir.string());
    if (auto st = pg_ctl({"-w", "-t", "60", "-m", "fast", "stop"}); !st)
        return make_error(Errc::Unavailable,
                          "a Postgres is still running on " + options_.data_dir.string() +
                              " and could not be stopped (" + st.error().message +
                              "); stop it with: pg_ctl -D " + options_.data_dir.string() + " stop");
    return {};
}

Result<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::start(Options options) {
    std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
    auto bin = find_bin_dir(options.bin_search);
    if (!bin) return std::move(bin).error();
    c->bin_dir_ = *bin;
    c->options_ = std::move(options);
    auto& opts = c->options_;
    opts.data_dir = fs::absolute(opts.data_dir).lexically_normal();
    if (opts.data_dir.filename().empty()) opts.data_dir = opts.data_dir.parent_path();

    std::optional<RunAs> user;
    if (::geteuid() == 0) {
        user = lookup_user("postgres");
        if (!user)
            return make_error(Errc::NotFound,
                              "walcast runs as root and Postgres refuses to; no `postgres` user "
                              "exists to run it as. Install postgresql-15 (which creates it), "
                              "create one (useradd --system postgres), or run walcast as an "
                              "unprivileged user");
        c->as_other_user_ = true;
        if (auto st = check_reachable(opts.data_dir); !st) return st.error();
    }

    std::error_code ec;
    fs::create_directories(opts.data_dir.parent_path(), ec);
    if (ec)
        return make_error(Errc::Unavailable, "cannot create " +
                                                 opts.data_dir.parent_path().string() + ": " +
                                                 ec.message() + "; choose another --data-dir");
    if (auto st = c->lock_data_dir(); !st) return st.error();
    c->log_file_ = beside(opts.data_dir, ".log");
    auto report = [&](const std::string& what) {
        if (opts.progress) opts.progress(what);
    };

    RunOptions run;
    run.user = user;
    run.output_file = c->log_file_.string();
    if (user) {
        // The log file lives beside the data dir and must be writable by postgres.
        std::ofstream(c->log_file_, std::ios::app).close();
        if (::chown(c->log_file_.c_str(), user->uid, user->gid) != 0)
            return make_error(Errc::PermissionDenied,
                              "cannot hand " + c->log_file_.string() + " to the postgres user: " +
                                  std::strerror(errno) + "; choose another --data-dir");
    }

    if (!fs::exists(opts.data_dir / "PG_VERSION")) {
        if (fs::exists(opts.data_dir) && !fs::is_empty(opts.data_dir, ec))
            return make_error(Errc::Config,
                              opts.data_dir.string() +
                                  " exists but holds no Postgres cluster (no PG_VERSION); "
                                  "choose an empty or new --data-dir, or remove it");
        report("initdb: creating a Postgres cluster in " + opts.data_dir.string());
        fs::create_directories(opts.data_dir, ec);
        if (ec)
            return make_error(Errc::Unavailable, "cannot create " + opts.data_dir.string() + ": " +
                                                     ec.message() + "; choose another --data-dir");
        ::chmod(opts.data_dir.c_str(), 0700);
        if (user && ::chown(opts.data_dir.c_str(), user->uid, user->gid) != 0)
            return make_error(Errc::PermissionDenied,
                              "cannot hand " + opts.data_dir.string() +
                                  " to the postgres user; choose another --data-dir");
        auto st =
            run_program({(c->bin_dir_ / "initdb").string(), "-D", opts.data_dir.string(), "-U",
                         "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                        run);
        if (!st)
            return make_error(Errc::Unavailable, "initdb failed (log " + c->log_file_.string() +
                                                     "):" + last_lines(c->log_file_, 6));
        c->created_ = true;
    } else if (auto st = c->stop_leftover_server(); !st) {
        return st.error();
    }

    const fs::path port_file = beside(opts.data_dir, ".port");
    if (opts.port != 0) {
        c->port_ = opts.port;
    } else {
        // The last run's port when it is free: the psql command printed before stays valid.
        int remembered = 0;
        if (std::ifstream in(port_file); in) in >> remembered;
        int err = 0;
        if (remembered > 0 && remembered < 65536 &&
            try_bind(static_cast<std::uint16_t>(remembered), &err) != 0) {
            c->port_ = static_cast<std::uint16_t>(remembered);
        } else {
            auto port = pick_free_port();
            if (!port) return std::move(port).error();
            c->port_ = *port;
        }
    }
    report("starting Postgres on 127.0.0.1:" + std::to_string(c->port_));
    if (auto st = c->start_server(); !st) return st.error();
    if (std::ofstream out(port_file, std::ios::trunc); out) out << c->port_ << '\n';
    return c;
}

Result<std::unique_ptr<EmbeddedCluster>>
EmbeddedCluster::start_temporary(std::vector<std::string> settings) {
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
    std::vector<std::string> argv{(bin_dir_ / "pg_ctl").string(), "-D", options_.data_dir.string()};
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
    for (const auto& s : options_.settings)
        o += " -c " + s;
    auto st = pg_ctl({"-w", "-t", "60", "-l", log_file_.string(), "-o", o, "start"});
    if (!st) {
        std::string fix;
        int err = 0;
        if (try_bind(port_, &err) == 0 && err == EADDRINUSE)
            fix = "\nPort " + std::to_string(port_) +
                  " is in use: set EMBEDDED_DB_PORT to a free port (or 0 to pick one).";
        return make_error(Errc::Unavailable, "Postgres did not start (log " + log_file_.string() +
                                                 "):" + last_lines(log_file_, 8) + fix);
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
    if (lock_fd_ >= 0) ::close(lock_fd_); // releases the flock
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
    return pg::psql_command(connect_params(dbname));
}

} // namespace walcast::pg
