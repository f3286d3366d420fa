// The embedded development environment of `walcast serve` with no database configured: where
// the cluster's data lives (the data-dir policy), the database it prepares (`walcast db init`
// plus the quick start's demo table), the JWT secret kept beside the data, the anon token the
// banner prints, and what the inspector page is told. Everything that exists only for a
// developer's first `make run` is here, not in pg/, server/ or cli/.
#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"
#include "pg/embedded_cluster.hpp"
#include "server/static_files.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::app {

// ---- the demo schema -------------------------------------------------------------------------

/// The demo table of the embedded quick start, in schema public.
constexpr std::string_view demo_table = "todos";

/// The statement of seed 000's Quick start step 7, inserting one todo.
std::string demo_insert_sql();

/// The statements of the embedded quick start's demo table: public.todos (id serial primary
/// key, task text), RLS on with an anonymous read policy, replica identity FULL, grants to the
/// API roles, created only when missing; then added to `publication` (created empty) when it
/// does not publish it yet.
std::vector<std::string> demo_statements(const std::string& publication);

// ---- tokens and the inspector -----------------------------------------------------------------

/// Expiry of the embedded mode's keys: 2100-01-01T00:00:00Z. Fixed, so a key depends on the
/// secret only and stays the same across restarts of the same data directory (the secret is
/// kept beside the data), like a Supabase project's anon and service_role keys.
constexpr std::int64_t embedded_jwt_exp_unix_s = 4'102'444'800;

/// A key of embedded mode: HS256 over {"iss":"walcast","role":role,"exp":
/// embedded_jwt_exp_unix_s} with secret. role "anon" is the public key (it grants what RLS
/// and grants allow `anon`); "service_role" bypasses RLS and must stay on servers.
std::string embedded_jwt(std::string_view secret, std::string_view role);

/// The files `walcast serve` serves: the inspector plus /inspector/config.json. The config
/// carries an anon JWT only in embedded mode (config.embedded()) with an HS256 JWT_SECRET; in
/// every other case the page asks the user for a token. params: the database, for the psql
/// example shown in embedded mode. Serving these adds no way around the WebSocket's checks.
std::shared_ptr<const server::StaticFiles> app_static_files(const Config& config,
                                                            const pg::ConnectParams& params);

// ---- the data directory -----------------------------------------------------------------------

/// Where the embedded cluster lives: --data-dir made absolute. Running as root, Postgres runs as
/// `postgres`, which must be able to reach it; when the *default* .walcast/pgdata is not
/// reachable (a checkout under /root, say), /var/lib/walcast/<dir>-<hash>/pgdata instead — the
/// same one every time for the same working directory, so the data is kept — and notice() is
/// told so. An explicitly chosen --data-dir is never replaced: that is an error with a fix.
Result<std::filesystem::path>
choose_data_dir(const Config& config, const std::function<void(const std::string&)>& notice);

/// The embedded cluster's JWT secret: generated once and kept in <data dir's parent>/jwt_secret
/// (mode 0600). Errors name the fix (a writable --data-dir, or JWT_SECRET).
Result<std::string> embedded_secret(const std::filesystem::path& data_dir);

// ---- the running environment ------------------------------------------------------------------

/// A started embedded cluster, prepared for walcast. Owned by the serve command's thread;
/// destroying it stops Postgres.
class DevEnvironment {
public:
    /// Callbacks into the command's console.
    struct Hooks {
        std::function<void(const std::string&)> notice;   ///< a message for stderr, verbatim
        std::function<void(const std::string&)> progress; ///< the step now running
        std::function<bool()> interrupted;                ///< SIGINT/SIGTERM pending
    };

    /// Chooses the data directory (config.data_dir becomes the chosen absolute path), starts
    /// the cluster (initdb on first use), prepares the database like `walcast db init` plus the
    /// demo table, and sets config.jwt_secret from embedded_secret() when neither JWT_SECRET nor
    /// JWT_JWKS is set. Errors are start-up errors with a fix ("interrupted during start-up;
    /// stopped" when hooks.interrupted() turned true after the cluster started).
    static Result<std::unique_ptr<DevEnvironment>> start(Config& config, const Hooks& hooks);

    /// Connection parameters for the superuser `postgres`.
    pg::ConnectParams connect_params() const { return cluster_->connect_params(); }
    /// A psql command line a user can paste.
    std::string psql_command() const { return cluster_->psql_command(); }
    const std::filesystem::path& data_dir() const { return cluster_->data_dir(); }
    /// Where the JWT secret is kept.
    std::filesystem::path jwt_secret_file() const;
    /// Fast shutdown of Postgres; idempotent.
    Status stop() { return cluster_->stop(); }

private:
    explicit DevEnvironment(std::unique_ptr<pg::EmbeddedCluster> cluster)
        : cluster_(std::move(cluster)) {}
    std::unique_ptr<pg::EmbeddedCluster> cluster_;
};

} // namespace walcast::app
