// GraphQL queries against the catalog schema (issue 14 "Execution", "Transports"): the
// OperationExecutor of the GraphQL WebSocket and the POST/GET /graphql endpoint.
//
// A query's root fields compile to one SQL statement each (graphql/sql) and run on a small
// pool (GRAPHQL_POOL_SIZE threads, a connection each) as the token's identity: the role is
// first checked as a Postgres Changes join's is (SubscriptionService::check_role: a
// superuser/BYPASSRLS role not in JWT_ALLOWED_ROLES, an unknown role or one walcast cannot
// assume is refused), then `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`, `SET LOCAL
// statement_timeout` (GRAPHQL_TIMEOUT_MS), `SET LOCAL ROLE`, `SET LOCAL request.jwt.claims` —
// so grants and RLS decide what the token reads, all root fields from one snapshot. A field's
// result over GRAPHQL_MAX_RESULT_BYTES is refused (an error naming the setting), never cut.
//
// Subscriptions are live queries (docs/graphql.md "Subscriptions"): the one root field's
// statement runs on the live-query engine (livequery::Engine, Request::trusted — the SQL is
// walcast's own) as the same identity, so the engine's column-precise invalidation, throttle,
// batching per identity and limits (LIVE_QUERY_*) apply; the first `next` is the current
// result, then one `next` per changed result. An engine error (a timeout, a permission
// denied, the result too large) is a field error in a `next` — the subscription stays, as a
// live query's does. When the catalog schema is rebuilt (DDL) every running subscription is
// validated again: one that no longer validates ends with an `error`; one whose statement
// changed is subscribed again with it.
#pragma once

#include "auth/jwt_verifier.hpp"
#include "core/routing/subscription_service.hpp"
#include "graphql/catalog/generate_schema.hpp"
#include "graphql/request.hpp"
#include "pg/connection.hpp"
#include "protocol/graphql_ws/executor.hpp"
#include "protocol/http_route.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace walcast::livequery {
class Engine;
} // namespace walcast::livequery

namespace walcast::app {

struct GraphqlServiceOptions {
    unsigned pool_size = 2;                 ///< GRAPHQL_POOL_SIZE: threads (a connection each)
    std::uint32_t timeout_ms = 5000;        ///< GRAPHQL_TIMEOUT_MS: statement_timeout per query
    std::size_t max_result_bytes = 8 << 20; ///< GRAPHQL_MAX_RESULT_BYTES: one root field's JSON
    std::size_t max_queued = 1000;          ///< queries waiting for a connection; more: refused
    graphql::RequestLimits limits;          ///< HTTP requests (the socket applies its own)
};

class GraphqlService final : public protocol::graphql_ws::OperationExecutor {
public:
    /// POST /graphql bodies above this are refused by the transport (413).
    static constexpr std::size_t max_body_bytes = 1 << 20;

    /// roles (the role check), verifier, schema and live_queries must outlive the service.
    /// live_queries null: subscriptions are refused with an `error`.
    GraphqlService(pg::ConnectParams params, core::SubscriptionService& roles,
                   const auth::JwtVerifier& verifier,
                   std::function<protocol::graphql_ws::SchemaSnapshot()> schema,
                   GraphqlServiceOptions options, livequery::Engine* live_queries = nullptr);
    ~GraphqlService() override;

    void start();
    void stop();

    /// Queries: one next() and complete(); a refused role or a full queue: error().
    /// Subscriptions: the current result as the first next(), then a next() per changed
    /// result until cancelled; error() for a refused role, a statement the live-query engine
    /// refuses (it reads nothing walcast captures, …) or, after DDL, an operation that no
    /// longer validates. Mutations: error() (the schema has none).
    std::unique_ptr<protocol::graphql_ws::OperationHandle>
    execute(protocol::graphql_ws::ExecutionRequest request,
            std::shared_ptr<protocol::graphql_ws::OperationSink> sink) override;

    /// POST /graphql (application/json {query, variables, operationName}) and GET /graphql
    /// (the same as query parameters), GraphQL-over-HTTP: 200 with {data, errors}; 400 for a
    /// request that does not parse, validate or coerce; 401 without a valid token; 403 for a
    /// refused role; 405 for other methods and for subscriptions; 503 when the queue is full.
    void handle_http(const protocol::HttpRequest& request,
                     std::function<void(protocol::HttpResponse)> respond);

    /// The catalog schema was rebuilt (SchemaCache::on_rebuild, its thread): every running
    /// subscription is prepared again against it; one that fails ends with error() (the
    /// first error says the schema changed), one whose statement changed is subscribed again.
    void schema_changed(const std::shared_ptr<const graphql::catalog::GeneratedSchema>& schema);

    /// How a query ended: `status` for HTTP; request errors (no data: role refused, queue
    /// full) or the response JSON.
    struct Answer {
        unsigned status = 200;
        std::string json;
        graphql::GraphQLErrors request_errors;
    };

private:
    class LiveOperation;

    std::unique_ptr<protocol::graphql_ws::OperationHandle>
    subscribe(protocol::graphql_ws::ExecutionRequest request,
              std::shared_ptr<protocol::graphql_ws::OperationSink> sink);
    void forget(const LiveOperation* op);

    struct Job {
        std::shared_ptr<const graphql::catalog::GeneratedSchema> schema;
        std::shared_ptr<const graphql::PreparedOperation> operation;
        core::IdentityPtr identity;
        std::shared_ptr<std::atomic<bool>> cancelled;
        std::function<void(Answer)> done;
    };

    /// Checks the role, then queues the job for a connection.
    void run(std::shared_ptr<Job> job);
    void enqueue(std::shared_ptr<Job> job);
    void worker_loop();
    std::string execute_now(pg::Connection& conn, const Job& job) const;

    pg::ConnectParams params_;
    core::SubscriptionService& roles_;
    const auth::JwtVerifier& verifier_;
    std::function<protocol::graphql_ws::SchemaSnapshot()> schema_;
    GraphqlServiceOptions options_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;

    livequery::Engine* live_queries_;
    mutable std::mutex live_mu_; // a leaf: never taken under an operation's mutex
    std::unordered_map<const LiveOperation*, std::weak_ptr<LiveOperation>> live_;
};

} // namespace walcast::app
