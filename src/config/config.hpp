// The one Config of walcast: loaded from environment variables (names from seed 001, the
// Supabase Realtime server README), overridden by command-line flags, validated with messages
// that name the option and the fix.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace walcast {

/// Every setting of walcast. Defaults here are the documented defaults.
struct Config {
    // --- database (any of these set means "external database"; none means embedded) ---
    std::string database_url;         ///< DATABASE_URL: libpq URI or conninfo; wins over DB_*
    std::string db_host;              ///< DB_HOST
    std::uint16_t db_port = 5432;     ///< DB_PORT
    std::string db_name = "postgres"; ///< DB_NAME
    std::string db_user = "postgres"; ///< DB_USER
    std::string db_password;          ///< DB_PASSWORD
    /// SLOT_NAME: permanent slot; empty = a temporary slot (the embedded database: its permanent
    /// slot embedded_slot_name unless slot_temporary).
    std::string slot_name;
    /// SLOT_TEMPORARY: true = the embedded database too streams from a temporary slot (nothing
    /// is kept while walcast is down; reconnects are gaps).
    bool slot_temporary = false;
    /// SLOT_RECREATE: drop and create again a SLOT_NAME slot Postgres invalidated
    /// (max_slot_wal_keep_size); false = report it and keep retrying.
    bool slot_recreate = false;
    /// STATE_DIR: where walcast keeps its channel registry (resume after restart); empty = the
    /// parent of WALCAST_DATA_DIR (.walcast).
    std::string state_dir;
    /// RESUME_GRACE_MS: after a restart with SLOT_NAME, how long the slot is held for the
    /// channels subscribed before it to re-join (realtime-js retries after 1, 2, 5, 10 s).
    std::uint32_t resume_grace_ms = 10000;
    std::string publication = "supabase_realtime"; ///< PUBLICATION
    /// CAPTURE: where changes come from. "logical": a logical replication slot (wal_level =
    /// logical, the REPLICATION attribute); "trigger": walcast's capture triggers (installed by
    /// `walcast db init --capture trigger`, no slot needed); "auto": logical when the database
    /// allows it, else trigger when it is installed.
    std::string capture = "auto";
    /// PUBLICATIONS: the Supabase Realtime server's name, a JSON array of publication names;
    /// walcast streams one, so it must hold exactly one (resolved into publication).
    std::string publications_json;
    /// DB_SSL: "true" (= sslmode require), "false" (= disable), or a libpq sslmode (disable,
    /// allow, prefer, require, verify-ca, verify-full); empty = libpq's default (prefer) or
    /// DATABASE_URL's sslmode. When set it wins over DATABASE_URL's.
    std::string db_ssl;

    // --- server ---
    /// HOST: listen address; empty = 0.0.0.0 with an external database, 127.0.0.1 for the
    /// embedded default (a development setup: its page hands out the anon JWT).
    std::string host;
    std::uint16_t port = 4000;                  ///< PORT: HTTP + WebSocket port
    unsigned threads = 0;                       ///< WALCAST_THREADS: I/O threads; 0 = one per core
    std::uint64_t max_record_bytes = 1'048'576; ///< MAX_RECORD_BYTES: Error 413 threshold (§6.5)
    // Slow-client limits: Redis's defaults for pub/sub clients (client-output-buffer-limit
    // pubsub 32mb 8mb 60), a burst of a big transaction fits, a stalled client is cut off.
    std::uint64_t client_queue_soft_bytes = 8u << 20;  ///< CLIENT_QUEUE_SOFT_BYTES
    std::uint32_t client_queue_soft_seconds = 60;      ///< CLIENT_QUEUE_SOFT_SECONDS: grace
    std::uint64_t client_queue_hard_bytes = 32u << 20; ///< CLIENT_QUEUE_HARD_BYTES
    std::uint32_t connect_error_backoff_ms = 2000;     ///< CONNECT_ERROR_BACKOFF_MS (spec §1.4)
    /// HTTP_REQUEST_TIMEOUT_MS: time a connection has to send a complete request (and to start
    /// the next one on a kept-alive connection); then 408 and closed. Kept-alive responses
    /// announce it (`Keep-Alive: timeout=<s>`), whole seconds rounded down
    std::uint32_t http_request_timeout_ms = 10'000;
    /// MAX_PENDING_CONNECTIONS: connections that have not completed a WebSocket upgrade (or
    /// are between HTTP requests); past it the oldest of them is closed (503)
    std::uint32_t max_pending_connections = 1024;
    /// TLS_CERT_FILE / TLS_KEY_FILE: PEM certificate chain and its private key; both set = the
    /// listener speaks TLS 1.2/1.3 only (https://, wss://); neither = plain HTTP
    std::string tls_cert_file;
    std::string tls_key_file;
    std::uint32_t channel_error_backoff_ms = 5000; ///< CHANNEL_ERROR_BACKOFF_MS (spec §3.6)
    std::uint32_t max_channels_per_client = 100;   ///< MAX_CHANNELS_PER_CLIENT (spec §8)
    /// MAX_JOINS_PER_SECOND: joins one socket may send per second; past it the join is refused
    /// (ClientJoinRateLimitReached) and the socket closed with 1001; 0 = no limit
    std::uint32_t max_joins_per_second = 100;
    /// JOIN_WORKERS: threads (each with a database connection) validating joins concurrently,
    /// taking the sockets' joins in turn
    unsigned join_workers = 4;
    /// JOIN_STATEMENT_TIMEOUT_MS: statement_timeout of the join validation connections
    std::uint32_t join_statement_timeout_ms = 2000;
    /// MAX_BINDINGS_PER_CHANNEL / MAX_BINDINGS_PER_CLIENT: postgres_changes bindings one
    /// channel / one socket (over its channels) may have; past either the join is refused
    std::uint32_t max_bindings_per_channel = 100;
    std::uint32_t max_bindings_per_client = 100;
    /// MATCH_BUDGET_BYTES_PER_CHANGE: column text one socket's match/imatch/like/ilike filters
    /// may scan for one change; the channel that crosses it is ended (0 = no limit)
    std::uint64_t match_budget_bytes_per_change = 8 * 1024 * 1024;
    /// GRAPHQL_WS_INIT_TIMEOUT_MS: a GraphQL socket must send connection_init within this, else
    /// it is closed with 4408 (graphql-ws's default 3000); 0 = no limit
    std::uint32_t graphql_ws_init_timeout_ms = 3000;
    /// GRAPHQL_WS_KEEPALIVE_MS: legacy graphql-ws sockets get `ka` this often; 0 = never
    std::uint32_t graphql_ws_keepalive_ms = 12'000;
    /// GRAPHQL_WS_MAX_OPERATIONS: operations (queries, subscriptions) active at once on one
    /// GraphQL socket; one more is refused with an `error` naming this setting
    std::uint32_t graphql_ws_max_operations = 100;
    /// GRAPHQL_SCHEMAS: the Postgres schemas whose tables and views the GraphQL schema exposes,
    /// comma-separated, in name-claiming order (docs/graphql.md)
    std::string graphql_schemas = "public";
    /// GRAPHQL_SCHEMA_POLL_MS: how often the catalog's fingerprint is checked so that the
    /// GraphQL schema follows DDL; 0 = built once at start
    std::uint32_t graphql_schema_poll_ms = 2000;
    /// GRAPHQL_POOL_SIZE: connections (and threads) running GraphQL queries
    unsigned graphql_pool_size = 2;
    /// GRAPHQL_TIMEOUT_MS: statement_timeout of a GraphQL query
    std::uint32_t graphql_timeout_ms = 5000;
    /// GRAPHQL_MAX_RESULT_BYTES: largest JSON result of one root field (larger: an error)
    std::uint64_t graphql_max_result_bytes = 8 * 1024 * 1024;
    /// MAX_PAYLOAD_SIZE_KB: largest broadcast payload, kB of 1000 bytes (+500 bytes, spec §7.1.7)
    std::uint32_t max_payload_size_kb = 3000;
    /// TENANT_MAX_EVENTS_PER_SECOND: broadcasts sent + delivered, 60 s average; 0 = no limit
    /// (spec §7.1.7; the reference's default 100)
    std::uint32_t tenant_max_events_per_second = 100;
    /// TENANT_MAX_PRESENCE_EVENTS_PER_SECOND: presence_state, tracks, diff deliveries (§7.2.7)
    std::uint32_t tenant_max_presence_events_per_second = 1000;
    std::uint32_t client_presence_max_calls = 5;      ///< CLIENT_PRESENCE_MAX_CALLS per window
    std::uint32_t client_presence_window_ms = 30'000; ///< CLIENT_PRESENCE_WINDOW_MS
    /// PRIVATE_CHANNEL_POOL_SIZE: connections for the RLS checks of private channels (§7.3)
    unsigned private_channel_pool_size = 2;
    /// MESSAGES_RETENTION_HOURS: realtime.messages partitions dated before now − this are
    /// dropped (spec §7.4.4; the reference's 72 h); 0 = keep every partition
    std::uint32_t messages_retention_hours = 72;

    // --- live queries (issue 13, docs/livequery.md) ---
    /// LIVE_QUERIES_DIR: directory of named live queries (<name>.sql); "" = none
    std::string live_queries_dir;
    /// LIVE_SQL_ROLES: JWT roles that may subscribe with raw SQL, comma-separated
    std::string live_sql_roles = "service_role";
    std::uint32_t live_query_throttle_ms = 500;    ///< LIVE_QUERY_THROTTLE_MS: default window
    std::uint32_t live_query_timeout_ms = 5000;    ///< LIVE_QUERY_TIMEOUT_MS: statement_timeout
    std::uint64_t live_query_max_rows = 10'000;    ///< LIVE_QUERY_MAX_ROWS: larger is refused
    std::uint64_t live_query_max_bytes = 8u << 20; ///< LIVE_QUERY_MAX_BYTES: value bytes
    unsigned live_query_pool_size = 2;             ///< LIVE_QUERY_POOL_SIZE: connections
    unsigned live_query_max_batch = 64;            ///< LIVE_QUERY_MAX_BATCH: runs per round trip
    /// LIVE_QUERY_MAX_SUBSCRIPTIONS: live-query subscriptions of every front end (Phoenix,
    /// Server-Sent Events, GraphQL) at once; past it a subscribe is refused; 0 = no limit
    std::uint64_t live_query_max_subscriptions = 100'000;
    /// LIVE_SSE_MAX_STREAMS: GET /live/v1 streams open at once; past it 503
    std::uint32_t live_sse_max_streams = 10'000;

    // --- authentication / authorization ---
    std::string jwt_secret;           ///< JWT_SECRET: HS256/384/512 secret
    std::string api_jwt_secret;       ///< API_JWT_SECRET: the Supabase server's name of JWT_SECRET
    std::string jwt_jwks;             ///< JWT_JWKS: JWKS JSON document or a path to one
    std::string jwt_claim_validators; ///< JWT_CLAIM_VALIDATORS: JSON object of required claims
    /// JWT_ALLOWED_ROLES: comma-separated roles with SUPERUSER or BYPASSRLS that tokens may
    /// name; a token naming another such role is refused at join (it would see every row).
    /// Roles without those attributes are always allowed.
    std::string jwt_allowed_roles = "anon,authenticated,service_role";
    unsigned auth_pool_size = 4;          ///< AUTH_POOL_SIZE: connections for RLS checks
    std::uint32_t auth_timeout_ms = 5000; ///< AUTH_TIMEOUT_MS: statement_timeout of a check
    /// RLS_STRATEGY: "batched" (each row version a change carries decided by the identity's
    /// policies; per identity, many changes per statement, concurrent), or a benchmark
    /// baseline: "live-row" (the previous method: the live row probed by primary key once the
    /// change is visible, batched the same way) or "per-subscriber" (the reference's method:
    /// one EXISTS per subscriber per change, in sequence on one connection).
    std::string rls_strategy = "batched";

    // --- embedded Postgres (used when no database is configured) ---
    std::string data_dir = ".walcast/pgdata"; ///< WALCAST_DATA_DIR / --data-dir
    std::uint16_t embedded_db_port = 0;       ///< EMBEDDED_DB_PORT: 0 = pick a free port

    std::string log_level = "info"; ///< LOG_LEVEL: trace, debug, info, warn, error, off

    /// The libpq sslmode DB_SSL asks for ("" when unset).
    std::string sslmode() const {
        return db_ssl == "true" ? "require" : db_ssl == "false" ? "disable" : db_ssl;
    }
    /// True when neither DATABASE_URL nor DB_HOST is set: walcast runs its own cluster.
    bool embedded() const { return database_url.empty() && db_host.empty(); }
    /// The permanent slot of the embedded database (walcast owns that cluster, so a named slot
    /// costs nothing while walcast is stopped: the cluster is stopped too).
    static constexpr const char* embedded_slot_name = "walcast";
    /// The address to listen on (HOST, or the default for the mode).
    std::string listen_host() const {
        return !host.empty() ? host : embedded() ? "127.0.0.1" : "0.0.0.0";
    }
};

/// Option groups a subcommand can register.
enum class ConfigOptions : unsigned {
    Database = 1,
    Server = 2,
    Auth = 4,
    Embedded = 8,
    Logging = 16,
};
constexpr ConfigOptions operator|(ConfigOptions a, ConfigOptions b) {
    return static_cast<ConfigOptions>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(ConfigOptions set, ConfigOptions bit) {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(bit)) != 0;
}

/// Registers the flags of the requested groups on app, each bound to a field of config and to
/// its environment variable (flags win over the environment; help shows env name and default).
void add_config_options(CLI::App& app, Config& config, ConfigOptions groups);

/// Resolves the Supabase Realtime server's synonyms after parsing: API_JWT_SECRET into
/// jwt_secret, PUBLICATIONS into publication. Errors name both options when they disagree and
/// the expected shape of PUBLICATIONS (e.g. ["supabase_realtime"]).
Status resolve_synonyms(Config& config);

/// Checks cross-field rules and value ranges after parsing. Errors name the option, e.g.
/// "--client-queue-hard-bytes (CLIENT_QUEUE_HARD_BYTES) must be >= --client-queue-soft-bytes".
Status validate(const Config& config);

/// GRAPHQL_SCHEMAS as a list: the comma-separated names, trimmed of spaces, empty items and
/// repeats dropped, in the order given.
std::vector<std::string> graphql_schema_list(std::string_view text);

} // namespace walcast
