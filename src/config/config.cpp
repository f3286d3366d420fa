#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>

namespace walcast {

namespace {

template <class T>
CLI::Option* opt(CLI::App& app, const std::string& flag, T& field, const std::string& env,
                 const std::string& help) {
    return app.add_option(flag, field, help)->envname(env)->capture_default_str();
}

} // namespace

void add_config_options(CLI::App& app, Config& c, ConfigOptions groups) {
    if (has(groups, ConfigOptions::Database)) {
        const std::string g = "Database";
        opt(app, "--database-url", c.database_url, "DATABASE_URL",
            "libpq URI or conninfo of the database; wins over the DB_* options")
            ->group(g);
        opt(app, "--db-host", c.db_host, "DB_HOST", "database host")->group(g);
        opt(app, "--db-port", c.db_port, "DB_PORT", "database port")->group(g);
        opt(app, "--db-name", c.db_name, "DB_NAME", "database name")->group(g);
        opt(app, "--db-user", c.db_user, "DB_USER", "database user")->group(g);
        opt(app, "--db-password", c.db_password, "DB_PASSWORD", "database password")->group(g);
        opt(app, "--slot-name", c.slot_name, "SLOT_NAME",
            "permanent replication slot to create/resume; empty = temporary slot (the embedded "
            "database: the permanent slot walcast)")
            ->group(g);
        opt(app, "--slot-temporary", c.slot_temporary, "SLOT_TEMPORARY",
            "true: the embedded database too streams from a temporary slot (nothing kept while "
            "walcast is down)")
            ->group(g);
        opt(app, "--slot-recreate", c.slot_recreate, "SLOT_RECREATE",
            "true: drop and create again a SLOT_NAME slot Postgres invalidated "
            "(max_slot_wal_keep_size exceeded; what it held is lost)")
            ->group(g);
        opt(app, "--state-dir", c.state_dir, "STATE_DIR",
            "directory of the channel registry used to resume after a restart (with "
            "SLOT_NAME); empty = the parent of WALCAST_DATA_DIR")
            ->group(g);
        opt(app, "--resume-grace-ms", c.resume_grace_ms, "RESUME_GRACE_MS",
            "after a restart with SLOT_NAME, hold the slot this long for the channels that were "
            "subscribed to re-join")
            ->group(g);
        opt(app, "--publication", c.publication, "PUBLICATION",
            "publication whose tables are streamed")
            ->group(g);
        opt(app, "--capture", c.capture, "CAPTURE",
            "where changes come from: logical (a replication slot), trigger (walcast's capture "
            "triggers: `walcast db init --capture trigger`), auto (logical when the database "
            "allows it, else trigger)")
            ->check(CLI::IsMember({"logical", "trigger", "auto"}))
            ->group(g);
        opt(app, "--publications", c.publications_json, "PUBLICATIONS",
            "the Supabase server's form of --publication: a JSON array with one name, e.g. "
            "[\"supabase_realtime\"]")
            ->group(g);
        opt(app, "--db-ssl", c.db_ssl, "DB_SSL",
            "true (sslmode=require), false (disable), or a libpq sslmode: disable, allow, "
            "prefer, require, verify-ca, verify-full; empty = libpq's default or DATABASE_URL's")
            ->check(CLI::IsMember({"", "true", "false", "disable", "allow", "prefer", "require",
                                   "verify-ca", "verify-full"}))
            ->group(g);
    }
    if (has(groups, ConfigOptions::Server)) {
        const std::string g = "Server";
        opt(app, "--host", c.host, "HOST",
            "address to listen on; default 0.0.0.0, or 127.0.0.1 for the embedded Postgres")
            ->group(g);
        opt(app, "--port", c.port, "PORT", "HTTP and WebSocket port")->group(g);
        opt(app, "--threads", c.threads, "WALCAST_THREADS", "I/O threads; 0 = one per core")
            ->group(g);
        opt(app, "--max-record-bytes", c.max_record_bytes, "MAX_RECORD_BYTES",
            "rows larger than this are sent reduced with Error 413")
            ->group(g);
        opt(app, "--client-queue-soft-bytes", c.client_queue_soft_bytes, "CLIENT_QUEUE_SOFT_BYTES",
            "a client whose unsent bytes stay above this for the grace period is disconnected")
            ->group(g);
        opt(app, "--client-queue-soft-seconds", c.client_queue_soft_seconds,
            "CLIENT_QUEUE_SOFT_SECONDS", "grace period for the soft limit, in seconds")
            ->group(g);
        opt(app, "--client-queue-hard-bytes", c.client_queue_hard_bytes, "CLIENT_QUEUE_HARD_BYTES",
            "a client with more unsent bytes is disconnected at once")
            ->group(g);
        opt(app, "--connect-error-backoff-ms", c.connect_error_backoff_ms,
            "CONNECT_ERROR_BACKOFF_MS", "delay before refusing a WebSocket upgrade")
            ->group(g);
        opt(app, "--http-request-timeout-ms", c.http_request_timeout_ms, "HTTP_REQUEST_TIMEOUT_MS",
            "time a connection has to send a complete HTTP request (then 408 and closed)")
            ->check(CLI::Range(1u, 3'600'000u))
            ->group(g);
        opt(app, "--max-pending-connections", c.max_pending_connections, "MAX_PENDING_CONNECTIONS",
            "connections not yet upgraded to a WebSocket; past it the oldest is closed")
            ->check(CLI::Range(1u, 10'000'000u))
            ->group(g);
        opt(app, "--tls-cert-file", c.tls_cert_file, "TLS_CERT_FILE",
            "PEM certificate chain; with --tls-key-file the listener speaks TLS (https, wss)")
            ->group(g);
        opt(app, "--tls-key-file", c.tls_key_file, "TLS_KEY_FILE",
            "PEM private key of --tls-cert-file")
            ->group(g);
        opt(app, "--channel-error-backoff-ms", c.channel_error_backoff_ms,
            "CHANNEL_ERROR_BACKOFF_MS", "delay before a join error reply")
            ->group(g);
        opt(app, "--max-channels-per-client", c.max_channels_per_client, "MAX_CHANNELS_PER_CLIENT",
            "channels one socket may join")
            ->group(g);
        opt(app, "--max-joins-per-second", c.max_joins_per_second, "MAX_JOINS_PER_SECOND",
            "joins one socket may send per second; past it the socket is closed (1001); 0 = no "
            "limit")
            ->group(g);
        opt(app, "--join-workers", c.join_workers, "JOIN_WORKERS",
            "threads validating joins concurrently (one database connection each)")
            ->check(CLI::Range(1u, 64u))
            ->group(g);
        opt(app, "--join-statement-timeout-ms", c.join_statement_timeout_ms,
            "JOIN_STATEMENT_TIMEOUT_MS",
            "statement timeout of join validation (filter values cast by Postgres); 0 = none")
            ->group(g);
        opt(app, "--max-bindings-per-channel", c.max_bindings_per_channel,
            "MAX_BINDINGS_PER_CHANNEL", "postgres_changes bindings one channel may have")
            ->group(g);
        opt(app, "--max-bindings-per-client", c.max_bindings_per_client, "MAX_BINDINGS_PER_CLIENT",
            "postgres_changes bindings one socket may have over its channels")
            ->group(g);
        opt(app, "--match-budget-bytes-per-change", c.match_budget_bytes_per_change,
            "MATCH_BUDGET_BYTES_PER_CHANGE",
            "column text one socket's match/imatch/like/ilike filters may scan per change; the "
            "channel crossing it is ended (0 = no limit)")
            ->group(g);
        opt(app, "--graphql-ws-init-timeout-ms", c.graphql_ws_init_timeout_ms,
            "GRAPHQL_WS_INIT_TIMEOUT_MS",
            "time a GraphQL socket has to send connection_init (then closed with 4408; 0 = none)")
            ->group(g);
        opt(app, "--graphql-ws-keepalive-ms", c.graphql_ws_keepalive_ms, "GRAPHQL_WS_KEEPALIVE_MS",
            "interval of `ka` messages on legacy graphql-ws sockets (0 = none)")
            ->group(g);
        opt(app, "--graphql-ws-max-operations", c.graphql_ws_max_operations,
            "GRAPHQL_WS_MAX_OPERATIONS",
            "operations (queries, subscriptions) active at once on one GraphQL socket")
            ->group(g);
        opt(app, "--graphql-schemas", c.graphql_schemas, "GRAPHQL_SCHEMAS",
            "Postgres schemas the GraphQL schema exposes, comma-separated")
            ->group(g);
        opt(app, "--graphql-schema-poll-ms", c.graphql_schema_poll_ms, "GRAPHQL_SCHEMA_POLL_MS",
            "interval of the catalog check that rebuilds the GraphQL schema after DDL (0 = never)")
            ->group(g);
        opt(app, "--graphql-pool-size", c.graphql_pool_size, "GRAPHQL_POOL_SIZE",
            "connections (and threads) running GraphQL queries")
            ->group(g);
        opt(app, "--graphql-timeout-ms", c.graphql_timeout_ms, "GRAPHQL_TIMEOUT_MS",
            "statement_timeout of a GraphQL query")
            ->group(g);
        opt(app, "--graphql-max-result-bytes", c.graphql_max_result_bytes,
            "GRAPHQL_MAX_RESULT_BYTES", "largest JSON result of one GraphQL root field")
            ->group(g);
        opt(app, "--max-payload-size-kb", c.max_payload_size_kb, "MAX_PAYLOAD_SIZE_KB",
            "largest broadcast payload in kB (1000 bytes)")
            ->group(g);
        opt(app, "--tenant-max-events-per-second", c.tenant_max_events_per_second,
            "TENANT_MAX_EVENTS_PER_SECOND",
            "broadcasts sent and delivered per second (60 s average); past it receiving channels "
            "are closed; 0 = no limit")
            ->group(g);
        opt(app, "--tenant-max-presence-events-per-second", c.tenant_max_presence_events_per_second,
            "TENANT_MAX_PRESENCE_EVENTS_PER_SECOND",
            "presence messages per second (60 s average); 0 = no limit")
            ->group(g);
        opt(app, "--client-presence-max-calls", c.client_presence_max_calls,
            "CLIENT_PRESENCE_MAX_CALLS", "presence pushes one channel may send per window")
            ->group(g);
        opt(app, "--client-presence-window-ms", c.client_presence_window_ms,
            "CLIENT_PRESENCE_WINDOW_MS", "the presence push window, in milliseconds")
            ->group(g);
        opt(app, "--private-channel-pool-size", c.private_channel_pool_size,
            "PRIVATE_CHANNEL_POOL_SIZE",
            "database connections checking the RLS policies of private channels")
            ->group(g);
        opt(app, "--messages-retention-hours", c.messages_retention_hours,
            "MESSAGES_RETENTION_HOURS",
            "daily realtime.messages partitions dated before now minus this many hours are "
            "dropped (hourly); 0 keeps them all")
            ->group(g);
        const std::string lq = "Live queries";
        opt(app, "--live-queries-dir", c.live_queries_dir, "LIVE_QUERIES_DIR",
            "directory of named live queries (<name>.sql), which any role may subscribe to")
            ->group(lq);
        opt(app, "--live-sql-roles", c.live_sql_roles, "LIVE_SQL_ROLES",
            "JWT roles that may subscribe to raw SQL live queries, comma-separated")
            ->group(lq);
        opt(app, "--live-query-throttle-ms", c.live_query_throttle_ms, "LIVE_QUERY_THROTTLE_MS",
            "default throttle window of a live query (leading + trailing edge); 0 = none")
            ->group(lq);
        opt(app, "--live-query-timeout-ms", c.live_query_timeout_ms, "LIVE_QUERY_TIMEOUT_MS",
            "statement timeout of one live-query run")
            ->group(lq);
        opt(app, "--live-query-max-rows", c.live_query_max_rows, "LIVE_QUERY_MAX_ROWS",
            "a live query's result with more rows is refused with an error")
            ->group(lq);
        opt(app, "--live-query-max-bytes", c.live_query_max_bytes, "LIVE_QUERY_MAX_BYTES",
            "a live query's result with more bytes of values is refused with an error")
            ->group(lq);
        opt(app, "--live-query-pool-size", c.live_query_pool_size, "LIVE_QUERY_POOL_SIZE",
            "database connections running live queries")
            ->group(lq);
        opt(app, "--live-query-max-batch", c.live_query_max_batch, "LIVE_QUERY_MAX_BATCH",
            "due live-query runs sent in one transaction (one round trip); 1 = one run per "
            "round trip (the benchmark's baseline)")
            ->group(lq);
        opt(app, "--live-query-max-subscriptions", c.live_query_max_subscriptions,
            "LIVE_QUERY_MAX_SUBSCRIPTIONS",
            "live-query subscriptions (Phoenix, Server-Sent Events, GraphQL) at once; past it a "
            "subscribe is refused (0 = no limit)")
            ->group(lq);
        opt(app, "--live-sse-max-streams", c.live_sse_max_streams, "LIVE_SSE_MAX_STREAMS",
            "Server-Sent Events streams of live queries (GET /live/v1) open at once; past it "
            "a new one is answered 503")
            ->group(lq);
    }
    if (has(groups, ConfigOptions::Auth)) {
        const std::string g = "Authentication";
        opt(app, "--jwt-secret", c.jwt_secret, "JWT_SECRET", "HS256/384/512 signing secret")
            ->group(g);
        opt(app, "--api-jwt-secret", c.api_jwt_secret, "API_JWT_SECRET",
            "the Supabase server's name of --jwt-secret (JWT_SECRET)")
            ->group(g);
        opt(app, "--jwt-jwks", c.jwt_jwks, "JWT_JWKS",
            "JWKS document (JSON) or path to one, for RS*/ES*/EdDSA tokens")
            ->group(g);
        opt(app, "--jwt-claim-validators", c.jwt_claim_validators, "JWT_CLAIM_VALIDATORS",
            "JSON object of claim values every token must carry, e.g. {\"iss\":\"me\"}")
            ->group(g);
        opt(app, "--jwt-allowed-roles", c.jwt_allowed_roles, "JWT_ALLOWED_ROLES",
            "comma-separated superuser or BYPASSRLS roles tokens may name (others with those "
            "attributes are refused at join; roles without them are always allowed)")
            ->group(g);
        opt(app, "--auth-pool-size", c.auth_pool_size, "AUTH_POOL_SIZE",
            "database connections used for row-level security checks")
            ->group(g);
        opt(app, "--rls-strategy", c.rls_strategy, "RLS_STRATEGY",
            "batched (row versions decided by their policies), or a benchmark baseline: live-row "
            "(the previous method: the live row probed by primary key) or per-subscriber (the "
            "reference's method)")
            ->check(CLI::IsMember({"batched", "live-row", "per-subscriber"}))
            ->group(g);
        opt(app, "--auth-timeout-ms", c.auth_timeout_ms, "AUTH_TIMEOUT_MS",
            "statement timeout of one row-level security check")
            ->group(g);
    }
    if (has(groups, ConfigOptions::Embedded)) {
        const std::string g = "Embedded Postgres (when no database is configured)";
        opt(app, "--data-dir", c.data_dir, "WALCAST_DATA_DIR", "data directory of the cluster")
            ->group(g);
        opt(app, "--embedded-db-port", c.embedded_db_port, "EMBEDDED_DB_PORT",
            "port of the cluster on 127.0.0.1; 0 = a free port")
            ->group(g);
    }
    if (has(groups, ConfigOptions::Logging)) {
        opt(app, "--log-level", c.log_level, "LOG_LEVEL", "trace, debug, info, warn, error or off")
            ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
            ->group("Logging");
    }
}

Status resolve_synonyms(Config& c) {
    auto bad = [](std::string msg) { return make_error(Errc::Config, std::move(msg)); };
    if (!c.api_jwt_secret.empty()) {
        if (!c.jwt_secret.empty() && c.jwt_secret != c.api_jwt_secret)
            return bad("--jwt-secret (JWT_SECRET) and --api-jwt-secret (API_JWT_SECRET) are both "
                       "set and differ; set one of them");
        c.jwt_secret = c.api_jwt_secret;
    }
    if (!c.publications_json.empty()) {
        const std::string shape = "--publications (PUBLICATIONS) must be a JSON array with one "
                                  "publication name, e.g. [\"supabase_realtime\"]";
        boost::system::error_code ec;
        auto v = boost::json::parse(c.publications_json, ec);
        if (ec || !v.is_array()) return bad(shape);
        const auto& a = v.as_array();
        if (a.size() != 1 || !a[0].is_string() || a[0].as_string().empty())
            return bad(shape + (a.size() > 1 ? "; walcast streams one publication: put every "
                                               "table in it with ALTER PUBLICATION … ADD TABLE"
                                             : ""));
        std::string name(a[0].as_string());
        if (c.publication != Config{}.publication && c.publication != name)
            return bad("--publication (PUBLICATION) and --publications (PUBLICATIONS) name "
                       "different publications; set one of them");
        c.publication = std::move(name);
    }
    return {};
}

std::vector<std::string> graphql_schema_list(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        auto item = text.substr(start, end - start);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end())
            out.emplace_back(item);
        start = end + 1;
    }
    return out;
}

Status validate(const Config& c) {
    auto bad = [](std::string msg) { return make_error(Errc::Config, std::move(msg)); };
    if (c.publication.empty())
        return bad("--publication (PUBLICATION) must not be empty; the default is "
                   "supabase_realtime");
    if (!c.slot_name.empty()) {
        for (char ch : c.slot_name) {
            bool okc = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
            if (!okc)
                return bad("--slot-name (SLOT_NAME) \"" + c.slot_name +
                           "\" is invalid: use only lower-case letters, digits and underscores");
        }
        if (c.slot_name.size() > 63)
            return bad("--slot-name (SLOT_NAME) is longer than 63 characters");
    }
    if (c.slot_temporary && !c.slot_name.empty())
        return bad("--slot-temporary (SLOT_TEMPORARY=true) and --slot-name (SLOT_NAME) contradict "
                   "each other: unset one");
    if (c.tls_cert_file.empty() != c.tls_key_file.empty())
        return bad(c.tls_cert_file.empty()
                       ? "--tls-key-file (TLS_KEY_FILE) is set but --tls-cert-file "
                         "(TLS_CERT_FILE) is not: set both (the PEM certificate chain and its "
                         "key) for TLS, or neither for plain HTTP"
                       : "--tls-cert-file (TLS_CERT_FILE) is set but --tls-key-file "
                         "(TLS_KEY_FILE) is not: set both (the PEM certificate chain and its "
                         "key) for TLS, or neither for plain HTTP");
    if (c.client_queue_hard_bytes < c.client_queue_soft_bytes)
        return bad("--client-queue-hard-bytes (CLIENT_QUEUE_HARD_BYTES) must be >= "
                   "--client-queue-soft-bytes (CLIENT_QUEUE_SOFT_BYTES)");
    if (graphql_schema_list(c.graphql_schemas).empty())
        return bad("--graphql-schemas (GRAPHQL_SCHEMAS) names no schema; give one or more "
                   "comma-separated names, e.g. public");
    if (c.client_queue_soft_bytes == 0)
        return bad("--client-queue-soft-bytes (CLIENT_QUEUE_SOFT_BYTES) must be > 0");
    if (c.auth_pool_size == 0 || c.auth_pool_size > 64)
        return bad("--auth-pool-size (AUTH_POOL_SIZE) must be between 1 and 64");
    if (c.max_record_bytes < 64)
        return bad("--max-record-bytes (MAX_RECORD_BYTES) must be at least 64");
    if (!c.jwt_claim_validators.empty()) {
        boost::system::error_code ec;
        auto v = boost::json::parse(c.jwt_claim_validators, ec);
        if (ec || !v.is_object())
            return bad("--jwt-claim-validators (JWT_CLAIM_VALIDATORS) must be a JSON object, "
                       "e.g. {\"iss\":\"https://example.com\"}");
    }
    return {};
}

} // namespace walcast
