#include "app/app.hpp"

#include "app/dev_environment.hpp"
#include "app/source_factory.hpp"
#include "core/subscription/role_refusal.hpp"

#include "app/graphql_service.hpp"
#include "auth/jwt_verifier.hpp"
#include "broadcast/partition_keeper.hpp"
#include "broadcast/topic_policies.hpp"
#include "capture/change_fanout.hpp"
#include "common/logging.hpp"
#include "core/authorization/authorizer.hpp"
#include "core/authorization/log_redaction.hpp"
#include "core/authorization/pg_row_checker.hpp"
#include "core/authorization/policy_row_checker.hpp"
#include "core/routing/commit_tracker.hpp"
#include "core/routing/filter_compiler.hpp"
#include "core/routing/router.hpp"
#include "core/routing/subscription_service.hpp"
#include "core/subscription/channel_registry.hpp"
#include "graphql/catalog/schema_cache.hpp"
#include "livequery/engine.hpp"
#include "pg/db_check.hpp"
#include "protocol/graphql_ws/graphiql.hpp"
#include "protocol/graphql_ws/session.hpp"
#include "protocol/phoenix/broadcast_feature.hpp"
#include "protocol/phoenix/database_broadcasts.hpp"
#include "protocol/phoenix/live_query_feature.hpp"
#include "protocol/phoenix/phoenix_session.hpp"
#include "protocol/phoenix/postgres_changes_feature.hpp"
#include "protocol/phoenix/presence_feature.hpp"
#include "protocol/phoenix/rest_broadcast.hpp"
#include "protocol/sse/live_stream.hpp"
#include "protocol/supabase/filter_grammar.hpp"
#include "protocol/supabase/messages.hpp"
#include "server/descriptor_limit.hpp"
#include "server/http_server.hpp"
#include "server/server_context.hpp"
#include "server/static_files.hpp"
#include "server/upgrade_dispatcher.hpp"
#include "server/ws_connection.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace walcast::app {

namespace asio = boost::asio;
using namespace server;

struct App::Impl {
    Config config;
    pg::ConnectParams params;
    MetricsRegistry registry;
    core::CommitTracker tracker;
    core::SubscriptionIndex index;
    core::AccessCache access;
    std::optional<auth::JwtVerifier> verifier;
    std::unique_ptr<capture::ChangeFanout> fanout;
    capture::ConfirmHandle router_confirm;
    std::unique_ptr<capture::Source> source;
    CaptureChoice capture; ///< which source CAPTURE chose, and why (/healthz)
    std::unique_ptr<core::RowCheckMetrics> row_check_metrics;
    core::PolicyCache policies; ///< built RowPolicies, shared by the authorizer's workers
    std::unique_ptr<core::PolicyChecker> policy_checker;
    std::unique_ptr<core::Authorizer> authorizer;
    std::unique_ptr<core::PgAccessSource> router_db; ///< the router's catalog connection
    std::unique_ptr<core::PgFilterCompiler> late_compiler;
    std::unique_ptr<core::Router> router;
    std::unique_ptr<core::SubscriptionService> subscriptions;
    std::unique_ptr<core::ChannelRegistry> channel_registry; ///< with SLOT_NAME
    std::unique_ptr<core::ResumeGate> resume_gate; ///< after a restart with recorded channels
    std::thread resume_thread;                     ///< waits on the gate, then starts the source
    std::unique_ptr<ServerMetrics> server_metrics;
    std::unique_ptr<protocol::phoenix::PhoenixMetrics> phoenix_metrics;
    std::unique_ptr<broadcast::Hub> broadcast_hub;
    std::unique_ptr<broadcast::RateCounter> tenant_events;   ///< TENANT_MAX_EVENTS_PER_SECOND
    std::unique_ptr<broadcast::RateCounter> tenant_presence; ///< …_PRESENCE_EVENTS_PER_SECOND
    std::unique_ptr<protocol::phoenix::DatabaseBroadcasts> database_broadcasts;
    std::unique_ptr<livequery::Engine> live_queries; ///< live SQL queries (issue 13)
    std::unique_ptr<protocol::phoenix::RestBroadcast> rest_broadcast;
    std::unique_ptr<protocol::sse::LiveStreams> live_streams; ///< GET /live/v1
    protocol::HttpRoutes http_routes;
    /// Private channels' RLS checks; destroyed (its workers joined) before what its callbacks
    /// use: the REST broadcast, the Hub.
    std::unique_ptr<broadcast::TopicPolicies> topic_policies;
    std::unique_ptr<broadcast::PartitionKeeper> partitions; ///< realtime.messages, hourly
    std::unique_ptr<protocol::phoenix::PhoenixContext> phoenix;
    std::unique_ptr<protocol::graphql_ws::GraphqlWsMetrics> graphql_ws_metrics;
    std::unique_ptr<GraphqlService> graphql_queries;
    /// The GraphQL schema generated from the catalog (GRAPHQL_SCHEMAS), following DDL.
    /// Declared after graphql_queries: its thread (stopped first) calls schema_changed.
    std::unique_ptr<graphql::catalog::SchemaCache> graphql_schema;
    std::unique_ptr<protocol::graphql_ws::GraphqlWsContext> graphql_ws;
    UpgradeDispatcher upgrades;
    ConnectionRegistry connections;
    std::unique_ptr<ServerContext> ctx;
    // Declared after what connections reference: destroying the io_context destroys pending
    // handlers and with them the last connections and their protocol sessions, which use ctx,
    // the Phoenix context, metrics and the registry.
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::unique_ptr<HttpServer> http;
    std::vector<std::thread> threads;
    bool started = false;
    bool stopped = false;
    /// Set first thing in stop(): RLS checks stop reconnecting to a database that is down.
    std::atomic<bool> checks_stopping{false};

    void confirm_source(capture::Position p) {
        if (source) source->confirm(p);
    }
};

App::App(Config config, pg::ConnectParams params) : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
    impl_->params = std::move(params);
}

App::~App() {
    stop();
}

namespace {

/// The database prerequisites (pg::check_prerequisites, what `walcast db check` prints), logged
/// at start-up with the fix for each: a user that cannot SET ROLE to the JWT roles, a table no
/// JWT role may read. Not fatal — tokens of other roles and tables without RLS still work, and
/// joins that meet the problem are told.
void log_prerequisites(const pg::ConnectParams& params, const std::string& publication) {
    auto conn = pg::Connection::connect(params);
    if (!conn) return; // the capture source reports an unreachable database
    auto items = pg::check_prerequisites(*conn, publication);
    if (!items) {
        log::warn("cannot check the database prerequisites: {}", items.error().message);
        return;
    }
    for (const auto& item : *items) {
        if (item.outcome == pg::CheckItem::Outcome::Pass) continue;
        const bool failed = item.outcome == pg::CheckItem::Outcome::Fail;
        const std::string line = "database prerequisite not met: " + item.name + " (" +
                                 item.detail + "). Fix: " + item.fix;
        if (failed)
            log::error("{}", line);
        else
            log::warn("{}", line);
    }
}

} // namespace

Status App::start() {
    auto& m = *impl_;
    auto verifier = auth::JwtVerifier::create(m.config);
    if (!verifier) return std::move(verifier).error();
    m.verifier.emplace(std::move(verifier).value());

    // The change stream's consumers: the router (Postgres Changes) and Broadcast from
    // Database. Each confirms through its
    // handle; the source is confirmed to the minimum over them.
    m.fanout =
        std::make_unique<capture::ChangeFanout>([&m](capture::Position p) { m.confirm_source(p); });
    // (The router's handle is filled in below, before the source starts.)
    auto confirm = [&m](capture::Position p) { m.router_confirm.confirm(p); };
    core::AuthorizerOptions auth_opts;
    auth_opts.workers = m.config.auth_pool_size;
    // batched (the default): row versions decided by their policies; live-row and
    // per-subscriber read the live row by key (benchmark baselines).
    const bool versions = m.config.rls_strategy == "batched";
    auto statements = core::PgRowChecker::Statements::KeyProbe;
    if (m.config.rls_strategy == "per-subscriber") {
        auth_opts.strategy = core::RlsStrategy::PerSubscriber;
        auth_opts.workers = 1;
        statements = core::PgRowChecker::Statements::ExistsPerRow;
    }
    auth_opts.old_versions = versions;
    m.row_check_metrics = std::make_unique<core::RowCheckMetrics>(m.registry);
    m.policy_checker = std::make_unique<core::PolicyChecker>(
        core::PolicyChecker::Options{m.config.auth_timeout_ms}, m.policies);
    auto make_checker = [&m, statements, versions](unsigned) -> std::unique_ptr<core::RowChecker> {
        if (versions)
            return std::make_unique<core::PolicyRowChecker>(
                m.params, *m.policy_checker, *m.row_check_metrics, std::chrono::seconds(30),
                &m.checks_stopping);
        return std::make_unique<core::PgRowChecker>(m.params, statements, m.access,
                                                    m.config.auth_timeout_ms, *m.row_check_metrics,
                                                    std::chrono::seconds(30), &m.checks_stopping);
    };
    auto finished = [&m, confirm](std::uint64_t ticket) {
        if (auto p = m.tracker.finish(ticket); p.valid()) confirm(p);
    };
    m.authorizer =
        std::make_unique<core::Authorizer>(auth_opts, make_checker, finished, m.registry);
    core::RouterOptions router_opts;
    router_opts.max_record_bytes = m.config.max_record_bytes;
    router_opts.match_budget_bytes_per_change = m.config.match_budget_bytes_per_change;
    m.router_db = std::make_unique<core::PgAccessSource>(m.params);
    m.late_compiler = std::make_unique<core::PgFilterCompiler>(*m.router_db, m.access);
    m.router = std::make_unique<core::Router>(router_opts, m.index, m.access, *m.router_db,
                                              *m.late_compiler, *m.authorizer, m.tracker, confirm,
                                              m.registry);
    core::SubscriptionOptions subscription_opts;
    subscription_opts.allowed_privileged_roles = core::parse_role_list(m.config.jwt_allowed_roles);
    subscription_opts.workers = m.config.join_workers;
    subscription_opts.statement_timeout_ms = m.config.join_statement_timeout_ms;
    subscription_opts.max_bindings_per_channel = m.config.max_bindings_per_channel;
    subscription_opts.max_bindings_per_client = m.config.max_bindings_per_client;
    m.subscriptions = std::make_unique<core::SubscriptionService>(
        m.params, m.config.publication, m.index, m.access, m.registry, subscription_opts);

    // Broadcast, Presence and Broadcast from Database share one Hub and the tenant's rates.
    m.broadcast_hub = std::make_unique<broadcast::Hub>();
    protocol::phoenix::BroadcastLimits broadcast_limits;
    broadcast_limits.max_payload_bytes =
        static_cast<std::size_t>(m.config.max_payload_size_kb) * 1000 + 500;
    // The tenant's rates (spec §7.1.7, §7.2.7); walcast serves one tenant.
    m.tenant_events = std::make_unique<broadcast::RateCounter>(
        m.config.tenant_max_events_per_second, "Too many messages per second");
    m.tenant_presence = std::make_unique<broadcast::RateCounter>(
        m.config.tenant_max_presence_events_per_second, "Too many presence messages per second");
    m.database_broadcasts = std::make_unique<protocol::phoenix::DatabaseBroadcasts>(
        *m.broadcast_hub, *m.tenant_events, broadcast_limits, m.registry);

    // Live queries: re-run from the database when a change touches them, so they confirm
    // every commit at once (never hold the slot).
    livequery::Settings live;
    live.publication = m.config.publication;
    live.queries_dir = m.config.live_queries_dir;
    live.sql_roles.clear();
    for (std::size_t p = 0; p <= m.config.live_sql_roles.size();) {
        auto comma = m.config.live_sql_roles.find(',', p);
        if (comma == std::string::npos) comma = m.config.live_sql_roles.size();
        std::string role = m.config.live_sql_roles.substr(p, comma - p);
        while (!role.empty() && role.front() == ' ')
            role.erase(role.begin());
        while (!role.empty() && role.back() == ' ')
            role.pop_back();
        if (!role.empty()) live.sql_roles.push_back(std::move(role));
        p = comma + 1;
    }
    live.throttle_ms = m.config.live_query_throttle_ms;
    live.statement_timeout_ms = m.config.live_query_timeout_ms;
    live.max_rows = m.config.live_query_max_rows;
    live.max_bytes = m.config.live_query_max_bytes;
    live.workers = std::max(1u, m.config.live_query_pool_size);
    live.max_batch = std::max(1u, m.config.live_query_max_batch);
    live.max_subscriptions = m.config.live_query_max_subscriptions;
    live.parse_filter = protocol::supabase::parse_filter; // refresh conditions' grammar
    m.live_queries = std::make_unique<livequery::Engine>(
        std::move(live), m.params,
        [&m](capture::Position p) {
            return m.source ? m.source->format_position(p) : std::to_string(p.value);
        },
        m.registry);
    if (auto st = m.live_queries->start(); !st) return st;

    m.router_confirm = m.fanout->add(*m.router);
    m.database_broadcasts->set_confirm(m.fanout->add(*m.database_broadcasts));
    m.live_queries->set_confirm(m.fanout->add(*m.live_queries));
    // realtime.messages streams through its own publication (db init creates it), so the
    // app's publication needs no change for Broadcast from Database (spec §7.4.3).
    m.capture = choose_capture(m.config, m.params);
    log::info("capture: {} ({})", m.capture.kind, m.capture.reason);
    m.source = make_source(m.config, m.params, *m.fanout, ConfigErrors::Retry,
                           {"supabase_realtime_messages_publication"}, &m.capture);

    m.server_metrics = std::make_unique<ServerMetrics>(m.registry);
    auto* source = m.source.get();
    m.registry.gauge_callback("walcast_replication_up", "1 while the replication stream is up",
                              [source] { return source->health().up ? 1.0 : 0.0; });
    m.registry.gauge_callback("walcast_replication_lag_bytes",
                              "WAL the slot makes Postgres keep (server WAL end - flushed)",
                              [source] { return static_cast<double>(source->stats().lag_bytes); });
    m.registry.gauge_callback("walcast_replication_lag_ms",
                              "now - commit time of the last transaction read (0 when caught up)",
                              [source] { return static_cast<double>(source->stats().lag_ms); });
    auto* connections = &m.connections;
    m.registry.histogram_callback(
        "walcast_client_queue_bytes", "bytes queued per client, not yet written",
        {0, 1024, 16384, 65536, 262144, 1048576, 4194304, 16777216}, [connections] {
            std::vector<double> v;
            connections->for_each([&](const std::shared_ptr<WsConnection>& c) {
                v.push_back(static_cast<double>(c->queued_bytes()));
            });
            return v;
        });

    // The WebSocket protocols, one registration each: Phoenix (Supabase Realtime) on both
    // of its paths, and on /socket itself — the URL the banner prints, which realtime-js takes
    // as its endpoint (appending /websocket) and a plain WebSocket client opens as printed.
    m.phoenix_metrics = std::make_unique<protocol::phoenix::PhoenixMetrics>(m.registry);
    // A channel's features, in the order their join results, reply keys and after-join pushes
    // are handled.
    protocol::phoenix::PresenceLimits presence_limits;
    presence_limits.max_calls = m.config.client_presence_max_calls;
    presence_limits.window = std::chrono::milliseconds(m.config.client_presence_window_ms);
    presence_limits.max_payload_bytes = broadcast_limits.max_payload_bytes;
    // Private channels' policies on realtime.messages, checked as the Authorizer checks rows:
    // the same database and timeout, a pool of their own.
    broadcast::TopicPoliciesOptions policy_opts;
    policy_opts.pool_size = std::max(1u, m.config.private_channel_pool_size);
    policy_opts.timeout_ms = m.config.auth_timeout_ms;
    m.topic_policies = std::make_unique<broadcast::TopicPolicies>(m.params, policy_opts);
    std::vector<std::shared_ptr<protocol::phoenix::ChannelFeatureFactory>> features{
        std::make_shared<protocol::phoenix::PostgresChangesFeatureFactory>(
            *m.subscriptions,
            [router = m.router.get()]() -> std::optional<std::string> {
                auto gap = router->last_gap();
                if (!gap || !gap->open()) return std::nullopt;
                return protocol::supabase::gap_message(*gap);
            }),
        std::make_shared<protocol::phoenix::BroadcastFeatureFactory>(
            *m.broadcast_hub, m.registry, *m.tenant_events, broadcast_limits,
            m.topic_policies.get()),
        std::make_shared<protocol::phoenix::PresenceFeatureFactory>(
            *m.broadcast_hub, *m.tenant_presence, presence_limits, m.topic_policies.get()),
        std::make_shared<protocol::phoenix::LiveQueryFeatureFactory>(*m.live_queries,
                                                                     *m.subscriptions)};
    m.phoenix =
        std::make_unique<protocol::phoenix::PhoenixContext>(protocol::phoenix::PhoenixContext{
            *m.verifier, *m.phoenix_metrics, std::move(features), m.config.max_channels_per_client,
            m.config.channel_error_backoff_ms, m.config.max_joins_per_second});
    // Private channels check the token's role once, for every feature (issue 11 defect 5).
    m.phoenix->role_check =
        [&svc = *m.subscriptions](std::uintptr_t source, const std::string& role,
                                  std::function<void(std::optional<std::string>)> done) {
            svc.check_role(source, {}, role,
                           [done = std::move(done)](std::optional<core::SubscribeError> e) {
                               if (!e) return done(std::nullopt);
                               done(core::describe_role_refusal(*e));
                           });
        };
    m.upgrades.add({"/socket/websocket", "/realtime/v1/websocket", "/socket"}, {},
                   protocol::phoenix::upgrade_handler(*m.phoenix));
    // GraphQL over WebSocket on the seed's two paths: graphql-transport-ws (npm graphql-ws)
    // preferred when a client offers both, then the legacy graphql-ws subprotocol.
    m.graphql_ws_metrics = std::make_unique<protocol::graphql_ws::GraphqlWsMetrics>(m.registry);
    {
        graphql::catalog::SchemaCache::Options schema_opts;
        schema_opts.schemas = graphql_schema_list(m.config.graphql_schemas);
        schema_opts.poll = std::chrono::milliseconds(m.config.graphql_schema_poll_ms);
        m.graphql_schema = std::make_unique<graphql::catalog::SchemaCache>(m.params, schema_opts);
        (void)m.graphql_schema->refresh(); // a failure is logged; the poll tries again
    }
    auto graphql_snapshot = [cache = m.graphql_schema.get()] {
        auto generated = cache->current();
        if (!generated) return protocol::graphql_ws::SchemaSnapshot{};
        return protocol::graphql_ws::SchemaSnapshot{generated->schema, generated};
    };
    m.graphql_queries = std::make_unique<GraphqlService>(
        m.params, *m.subscriptions, *m.verifier, graphql_snapshot,
        GraphqlServiceOptions{m.config.graphql_pool_size, m.config.graphql_timeout_ms,
                              static_cast<std::size_t>(m.config.graphql_max_result_bytes)},
        m.live_queries.get());
    m.graphql_queries->start();
    // Subscriptions follow DDL: each rebuilt schema validates the running ones again.
    m.graphql_schema->on_rebuild(
        [q = m.graphql_queries.get()](std::shared_ptr<const graphql::catalog::GeneratedSchema> s) {
            q->schema_changed(s);
        });
    m.graphql_schema->start();
    m.graphql_ws = std::make_unique<protocol::graphql_ws::GraphqlWsContext>(
        protocol::graphql_ws::GraphqlWsContext{
            *m.verifier,
            *m.graphql_ws_metrics,
            graphql_snapshot,
            m.graphql_queries.get(),
            std::chrono::milliseconds(m.config.graphql_ws_init_timeout_ms),
            std::chrono::milliseconds(m.config.graphql_ws_keepalive_ms),
            {}});
    m.graphql_ws->limits.max_operations = std::max(1u, m.config.graphql_ws_max_operations);
    for (auto dialect :
         {protocol::graphql_ws::Dialect::TransportWs, protocol::graphql_ws::Dialect::Legacy})
        m.upgrades.add({"/graphql", "/api/graphql/ws"},
                       {std::string(protocol::graphql_ws::subprotocol_name(dialect))},
                       protocol::graphql_ws::upgrade_handler(*m.graphql_ws, dialect));
    // GraphiQL for browsers on GET /graphql (the page embedded from web/ at build time).
    {
        std::string graphiql_html;
        for (const auto& f : server::inspector_files())
            if (f.name == "graphiql.html") graphiql_html = std::string(f.bytes);
        m.http_routes.add(
            {"/graphql", GraphqlService::max_body_bytes,
             protocol::graphql_ws::graphiql_handler(
                 std::move(graphiql_html),
                 [q = m.graphql_queries.get()](const protocol::HttpRequest& r, auto respond) {
                     q->handle_http(r, std::move(respond));
                 })});
    }
    // REST broadcast (spec §7.5) into the same Hub.
    m.rest_broadcast = std::make_unique<protocol::phoenix::RestBroadcast>(
        *m.verifier, *m.broadcast_hub, m.topic_policies.get(), *m.tenant_events, broadcast_limits,
        m.registry);
    for (auto& route : m.rest_broadcast->routes())
        m.http_routes.add(std::move(route));
    // Live queries over Server-Sent Events (GET /live/v1), on the same engine.
    m.live_streams = std::make_unique<protocol::sse::LiveStreams>(
        *m.verifier, *m.subscriptions, *m.live_queries,
        protocol::sse::LiveStreamOptions{m.config.live_sse_max_streams}, m.registry);
    m.http_routes.add(m.live_streams->route());

    m.ctx = std::make_unique<ServerContext>(ServerContext{
        m.config, m.registry, *m.server_metrics, m.connections,
        [source, router = m.router.get(), &m] {
            Health h;
            h.capture = m.capture.kind;
            h.capture_reason = m.capture.reason;
            if (m.resume_gate && !m.resume_gate->released()) {
                h.reason = "holding replication slot " + m.config.slot_name + " until " +
                           std::to_string(m.resume_gate->awaited()) +
                           " channel(s) subscribed before the restart re-join (at most "
                           "RESUME_GRACE_MS=" +
                           std::to_string(m.config.resume_grace_ms) + " ms)";
                return h;
            }
            const auto s = source->health();
            h.up = s.up;
            if (!s.up) h.reason = s.reason;
            if (auto gap = router->last_gap()) {
                h.last_gap = protocol::supabase::gap_message(*gap);
                h.gap_open = gap->open();
            }
            return h;
        },
        app_static_files(m.config, m.params), m.upgrades, &m.http_routes});
    // Connections are bounded by the operator's hard limit, not the 1024 soft default.
    if (const auto nofile = server::raise_open_files_limit(); nofile.soft != nofile.before)
        log::info("open files limit (RLIMIT_NOFILE) raised from {} to its hard limit {}",
                  nofile.before, nofile.soft);
    m.http = std::make_unique<HttpServer>(m.io, *m.ctx);
    if (auto st = m.http->listen(m.config.listen_host(), m.config.port); !st) return st;

    log_prerequisites(m.params, m.config.publication);

    // Resume after restart: with a named slot, record the subscribed channels; if the last run
    // left some, hold the slot (do not start streaming) until they re-join or the grace passes.
    std::vector<core::ChannelRecord> recorded;
    if (!m.config.slot_name.empty()) {
        const std::filesystem::path dir =
            m.config.state_dir.empty() ? std::filesystem::path(m.config.data_dir).parent_path()
                                       : std::filesystem::path(m.config.state_dir);
        m.channel_registry = std::make_unique<core::ChannelRegistry>(
            dir / ("channels-" + m.config.slot_name + ".json"));
        if (auto loaded = m.channel_registry->load())
            recorded = std::move(loaded).value();
        else
            log::warn("{}", loaded.error().message);
        m.index.add_observer(m.channel_registry.get());
        m.channel_registry->start();
    }
    m.authorizer->start();
    m.subscriptions->start();
    if (recorded.empty()) {
        m.source->start();
    } else {
        const auto grace = std::chrono::milliseconds(m.config.resume_grace_ms);
        m.resume_gate = std::make_unique<core::ResumeGate>(recorded, grace);
        m.index.add_observer(m.resume_gate.get());
        log::info("resuming replication slot {}: holding it until the {} channel(s) subscribed "
                  "before the restart re-join (at most RESUME_GRACE_MS={} ms)",
                  m.config.slot_name, recorded.size(), m.config.resume_grace_ms);
        auto& missed_total = m.registry.counter(
            "walcast_resume_missed_channels_total",
            "channels subscribed before a restart that did not re-join within RESUME_GRACE_MS");
        m.resume_thread = std::thread([&m, &missed_total, total = recorded.size()] {
            auto missed = m.resume_gate->wait();
            if (!missed) return; // stopping
            for (const auto& r : *missed) {
                std::string tables;
                for (const auto& t : r.tables)
                    tables += (tables.empty() ? "" : ", ") + t;
                log::warn("channel {} (role {}{}; {}) was subscribed before the restart and did "
                          "not re-join within RESUME_GRACE_MS={} ms: the changes committed while "
                          "walcast was down that it would have received are not delivered to it",
                          r.topic, r.role,
                          r.sub.empty() ? "" : ", sub " + core::claim_placeholder(r.sub), tables,
                          m.config.resume_grace_ms);
            }
            missed_total.inc(missed->size());
            log::info("resuming replication slot {}: {} channel(s) re-joined, {} did not",
                      m.config.slot_name, total - missed->size(), missed->size());
            m.source->start();
        });
    }
    m.partitions = std::make_unique<broadcast::PartitionKeeper>(
        m.params, std::chrono::hours(1), std::chrono::hours(m.config.messages_retention_hours));
    m.partitions->start();
    m.work.emplace(m.io.get_executor());
    const unsigned n =
        m.config.threads ? m.config.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i)
        m.threads.emplace_back([&m] { m.io.run(); });
    m.started = true;
    log::info("walcast listening on {}:{} (publication {}, {} I/O threads)", m.config.listen_host(),
              m.http->port(), m.config.publication, n);
    return {};
}

void App::stop() {
    auto& m = *impl_;
    if (!m.started || m.stopped) return;
    m.stopped = true;
    m.checks_stopping.store(true, std::memory_order_release);
    // What was subscribed stays recorded: the unsubscribes of this shutdown are not written.
    if (m.channel_registry) m.channel_registry->freeze();
    if (m.resume_gate) m.resume_gate->cancel();
    if (m.resume_thread.joinable()) m.resume_thread.join();
    m.http->stop();
    // Give queued close frames a moment on the I/O threads, then stop them.
    m.work.reset();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (m.connections.size() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m.io.stop();
    for (auto& t : m.threads)
        t.join();
    m.threads.clear();
    m.source->stop();
    m.live_queries->stop();
    m.graphql_queries->stop();
    if (m.partitions) m.partitions->stop();
    m.authorizer->stop();
    m.subscriptions->stop();
}

std::uint16_t App::port() const {
    return impl_->http ? impl_->http->port() : 0;
}
bool App::stream_up() const {
    return impl_->source && impl_->source->health().up;
}

bool App::wait_stream_up(std::chrono::milliseconds timeout) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!stream_up() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return stream_up();
}

std::string App::metrics_text() const {
    return impl_->registry.render();
}

} // namespace walcast::app
