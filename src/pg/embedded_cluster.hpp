// EmbeddedCluster: a Postgres cluster walcast creates and runs itself — the default of
// `walcast serve` when no database is configured, and the throwaway server of every
// integration test. initdb on first use, wal_level=logical, 127.0.0.1 on a free or given port
// plus a Unix socket in the data directory; run as the `postgres` user when walcast is root.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace walcast::pg {

/// Where find_bin_dir looks for the Postgres server programs, in this order.
struct BinSearch {
    bool use_pg_config = true; ///< `pg_config --bindir` (pg_config found on PATH)
    bool use_path = true;      ///< the directory of `initdb` found on PATH
    /// Directories holding one <major version>/bin each; the newest version wins.
    std::vector<std::filesystem::path> version_roots{"/usr/lib/postgresql"};
};

/// Starts, stops and describes one cluster. Not thread-safe; owned by one thread.
///
/// Files beside the data directory D (all in D's parent): D.log (server log, initdb output),
/// D.lock (held with flock while a walcast runs the cluster: a second walcast on the same data
/// is refused), D.port (the port of the last run, reused when free so the printed psql
/// command stays valid).
class EmbeddedCluster {
public:
    struct Options {
        std::filesystem::path data_dir; ///< created (initdb) when it holds no cluster yet
        std::uint16_t port = 0;         ///< 0 = the last run's port if free, else a free one
        bool ephemeral =
            false; ///< tests: fsync off (the OS keeps the data; a machine crash is not tested)
        std::vector<std::string> settings;                ///< extra "name=value" server settings
        std::function<void(const std::string&)> progress; ///< optional: "initdb …", "starting …"
        BinSearch bin_search; ///< where the Postgres programs are looked for
    };

    /// Creates (if needed) and starts the cluster; returns when it accepts connections.
    /// A Postgres left running on the data directory by a walcast that died is stopped first.
    /// Errors name the fix: missing binaries (how to install them), a data dir the postgres
    /// user cannot reach, a data dir in use by another walcast, a directory that is not a
    /// cluster, a failed start (with the log's last lines).
    static Result<std::unique_ptr<EmbeddedCluster>> start(Options options);

    /// A throwaway cluster in a fresh temporary directory (tests).
    static Result<std::unique_ptr<EmbeddedCluster>>
    start_temporary(std::vector<std::string> settings = {});

    ~EmbeddedCluster();
    EmbeddedCluster(const EmbeddedCluster&) = delete;
    EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

    /// Fast shutdown (pg_ctl stop -m fast): waits until every server process has exited.
    /// Idempotent.
    Status stop();
    /// Starts again after stop(), on the same port and data.
    Status restart();
    /// Immediate shutdown (simulates a crash: pg_ctl stop -m immediate), then start again.
    Status crash_restart();

    bool running() const { return running_; }
    /// True when this start ran initdb (the cluster is new).
    bool created() const { return created_; }
    std::uint16_t port() const { return port_; }
    const std::filesystem::path& data_dir() const { return options_.data_dir; }
    /// Connection parameters for the superuser `postgres` over TCP 127.0.0.1.
    ConnectParams connect_params(const std::string& dbname = "postgres") const;
    /// libpq URI, e.g. postgresql://postgres@127.0.0.1:54321/postgres
    std::string url(const std::string& dbname = "postgres") const;
    /// A psql command line a user can paste.
    std::string psql_command(const std::string& dbname = "postgres") const;
    /// Directory holding the Postgres programs in use (initdb, pg_ctl, psql, pg_recvlogical).
    const std::filesystem::path& bin_dir() const { return bin_dir_; }

    /// Finds the Postgres server programs (a directory holding initdb, pg_ctl and postgres)
    /// in the places `where` names. The error says how to install them.
    static Result<std::filesystem::path> find_bin_dir(const BinSearch& where = {});

    /// When walcast runs as root (Postgres then runs as `postgres`): checks that every
    /// existing directory from / down to data_dir is searchable by the postgres user. Error
    /// (PermissionDenied) names the blocking directory and the fix. Always OK for non-root.
    static Status check_reachable(const std::filesystem::path& data_dir);
    /// The first existing directory above data_dir that the postgres user cannot search
    /// (root only); empty when there is none.
    static std::filesystem::path blocking_directory(const std::filesystem::path& data_dir);

private:
    EmbeddedCluster() = default;
    Status start_server();
    Status pg_ctl(const std::vector<std::string>& args);
    Status lock_data_dir();
    Status stop_leftover_server();

    Options options_;
    std::filesystem::path bin_dir_;
    std::filesystem::path log_file_;
    std::filesystem::path temp_root_; ///< removed on destruction (start_temporary only)
    int lock_fd_ = -1;
    std::uint16_t port_ = 0;
    bool running_ = false;
    bool created_ = false;
    bool as_other_user_ = false;
};

/// Picks a currently free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
Result<std::uint16_t> pick_free_port();

/// A psql command line for params (host, port, user, dbname; never a password), e.g.
/// psql "postgresql://postgres@127.0.0.1:54321/postgres".
std::string psql_command(const ConnectParams& params);

} // namespace walcast::pg
