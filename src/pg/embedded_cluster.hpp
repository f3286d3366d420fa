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

/// Starts, stops and describes one cluster. Not thread-safe; owned by one thread.
class EmbeddedCluster {
public:
    struct Options {
        std::filesystem::path data_dir;   ///< created (initdb) when it holds no cluster yet
        std::uint16_t port = 0;           ///< 0 = pick a free port on 127.0.0.1
        bool ephemeral = false;           ///< tests: fsync off (the OS keeps the data; a machine crash is not tested)
        std::vector<std::string> settings; ///< extra "name=value" server settings
        std::function<void(const std::string&)> progress; ///< optional progress reporter
    };

    /// Creates (if needed) and starts the cluster; returns when it accepts connections.
    /// Errors name the fix: missing binaries ("apt-get install postgresql-15"), a data dir
    /// the postgres user cannot reach, a failed start (with the log's last lines).
    static Result<std::unique_ptr<EmbeddedCluster>> start(Options options);

    /// A throwaway cluster in a fresh temporary directory (tests).
    static Result<std::unique_ptr<EmbeddedCluster>> start_temporary(
        std::vector<std::string> settings = {});

    ~EmbeddedCluster();
    EmbeddedCluster(const EmbeddedCluster&) = delete;
    EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

    /// Fast shutdown (pg_ctl stop -m fast). Idempotent.
    Status stop();
    /// Starts again after stop(), on the same port and data.
    Status restart();
    /// Immediate shutdown (simulates a crash: pg_ctl stop -m immediate), then start again.
    Status crash_restart();

    bool running() const { return running_; }
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

    /// Finds the Postgres server programs: `pg_config --bindir`, then the newest
    /// /usr/lib/postgresql/*/bin holding initdb. Error says how to install them.
    static Result<std::filesystem::path> find_bin_dir();

private:
    EmbeddedCluster() = default;
    Status start_server();
    Status pg_ctl(const std::vector<std::string>& args);

    Options options_;
    std::filesystem::path bin_dir_;
    std::filesystem::path log_file_;
    std::filesystem::path temp_root_; ///< removed on destruction (start_temporary only)
    std::uint16_t port_ = 0;
    bool running_ = false;
    bool as_other_user_ = false;
};

/// Picks a currently free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
Result<std::uint16_t> pick_free_port();

} // namespace walcast::pg
