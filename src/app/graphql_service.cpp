#include "app/graphql_service.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "core/subscription/role_refusal.hpp"
#include "graphql/introspection.hpp"
#include "graphql/sql/compiler.hpp"
#include "livequery/engine.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <utility>

namespace walcast::app {
namespace {

using graphql::GraphQLError;
using graphql::GraphQLErrors;
using graphql::one_error;
using protocol::HttpResponse;

HttpResponse json_response(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json; charset=utf-8";
    r.body = std::move(body);
    return r;
}

HttpResponse request_error(unsigned status, std::string message) {
    return json_response(status, graphql::request_errors_json(one_error(std::move(message))));
}

/// A running operation's handle: cancel() (or destruction) calls `cancel` once.
class CancelHandle final : public protocol::graphql_ws::OperationHandle {
public:
    explicit CancelHandle(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    ~CancelHandle() override { cancel(); }
    void cancel() override {
        if (cancel_) std::exchange(cancel_, nullptr)();
    }

private:
    std::function<void()> cancel_;
};

/// `{"data":{"<key>":<value>}}`, or `{"data":null}` when the value is null and the field is
/// non-null (spec 6.4.4: the null propagates to data); value nullopt = null. errors, when not
/// empty, are appended as "errors".
std::string field_response(const std::string& key, std::optional<std::string_view> value,
                           bool non_null, const GraphQLErrors& errors = {}) {
    std::string out = "{\"data\":";
    if (!value && non_null) {
        out += "null";
    } else {
        out += '{';
        json::append_string(out, key);
        out += ':';
        out += value ? *value : std::string_view("null");
        out += '}';
    }
    if (!errors.empty()) {
        out += ",\"errors\":";
        out += boost::json::serialize(graphql::to_json(errors));
    }
    out += '}';
    return out;
}

/// A field error with the field's locations and path.
GraphQLError field_error(const graphql::ResolvedField& f, std::string message) {
    return GraphQLError{std::move(message), f.locations, {f.response_key}};
}

} // namespace

/// One running subscription: its root field's statement subscribed on the live-query engine.
/// A generation per engine subscription (a rebuilt schema can change the statement): pushes of
/// an older generation are ignored. The sink is called under mu_, so in order and one at a
/// time, and never after cancel() returned.
class GraphqlService::LiveOperation final : public std::enable_shared_from_this<LiveOperation> {
public:
    LiveOperation(GraphqlService& service, protocol::graphql_ws::ExecutionRequest request,
                  std::shared_ptr<protocol::graphql_ws::OperationSink> sink)
        : service_(service), query_(std::move(request.query)),
          variables_(std::move(request.variables)),
          operation_name_(std::move(request.operation_name)),
          identity_(std::move(request.identity)), sink_(std::move(sink)) {}

    const core::IdentityPtr& identity() const { return identity_; }

    /// After the role check: starts on the schema the operation was validated against, or
    /// validates it again when the schema was rebuilt meanwhile (revalidate() skips an
    /// operation that has not begun).
    void begin(const std::shared_ptr<const graphql::catalog::GeneratedSchema>& schema,
               const graphql::PreparedOperation& op) {
        {
            std::lock_guard lock(mu_);
            begun_ = true;
        }
        auto now = service_.schema_ ? service_.schema_().source : nullptr;
        if (now && now != schema)
            return revalidate(
                std::static_pointer_cast<const graphql::catalog::GeneratedSchema>(now));
        start(schema, op);
    }

    /// Compiles the operation against `schema` and subscribes it as a new generation; ends the
    /// operation with error() when it cannot run. Any thread, not under mu_.
    void start(const std::shared_ptr<const graphql::catalog::GeneratedSchema>& schema,
               const graphql::PreparedOperation& op) {
        auto compiled = graphql::sql::compile_operation(*schema, op);
        if (!compiled) return end(compiled.error());
        if (compiled->fields.size() != 1 || op.root.fields.size() != 1)
            return end(one_error("A subscription selects one field that reads a table"));
        auto& field = compiled->fields.front();
        const graphql::ResolvedField& root = op.root.fields.front();
        // The engine compares results as text; json has no equality.
        std::string sql = "SELECT data::text AS data FROM (" + field.sql + ") AS graphql_field";
        std::shared_ptr<Feed> feed;
        {
            std::lock_guard lock(mu_);
            if (ended_) return;
            if (subscription_ && sql == sql_ && field.params == params_) return; // unchanged
            sql_ = sql;
            params_ = field.params;
            feed = std::make_shared<Feed>(weak_from_this(), ++generation_);
            feed_ = feed;
            response_key_ = field.response_key;
            locations_ = root.locations;
            non_null_ = field.non_null;
            fresh_generation_ = true;
        }
        livequery::Request request;
        request.sql = std::move(sql);
        request.params = std::move(field.params);
        request.identity = identity_;
        for (auto& c : field.refresh)
            request.refresh_hints.push_back({std::move(c.table), std::move(c.filter)});
        request.full = true;    // one row, one value: a diff would not be smaller
        request.trusted = true; // walcast's SQL: LIVE_SQL_ROLES does not apply
        service_.live_queries_->subscribe(
            std::move(request), feed,
            [self = shared_from_this(),
             generation = feed->generation](Result<livequery::SubscriptionPtr> sub) {
                livequery::SubscriptionPtr old;
                {
                    std::lock_guard lock(self->mu_);
                    if (self->ended_ || generation != self->generation_) return;
                    if (sub) {
                        old = std::exchange(self->subscription_, std::move(sub).value());
                        return; // old is released after the lock
                    }
                }
                self->end(one_error("This subscription cannot run as a live query: " +
                                    sub.error().message));
            });
    }

    /// Prepares the request again against a rebuilt schema: ends the operation when it no
    /// longer validates, subscribes the new statement when it changed.
    void revalidate(const std::shared_ptr<const graphql::catalog::GeneratedSchema>& schema) {
        {
            std::lock_guard lock(mu_);
            if (!begun_ || ended_) return;
        }
        auto prepared = graphql::prepare_request(schema->schema.get(), query_, operation_name_,
                                                 variables_, service_.options_.limits);
        if (!prepared) {
            graphql::GraphQLErrors errors = one_error(
                "The subscription no longer validates against the GraphQL schema (the database "
                "schema changed); fix the operation and subscribe again");
            for (auto& e : prepared.error())
                errors.push_back(std::move(e));
            return end(errors);
        }
        start(schema, prepared.value());
    }

    /// Stops: no sink call starts after this returns.
    void cancel() {
        livequery::SubscriptionPtr sub;
        {
            std::lock_guard lock(mu_);
            ended_ = true;
            sub = std::move(subscription_);
            feed_.reset();
        }
        service_.forget(this);
    }

    /// Ends the operation with request errors (an `error` message).
    void end(const graphql::GraphQLErrors& errors) {
        livequery::SubscriptionPtr sub; // released after the lock
        {
            std::lock_guard lock(mu_);
            if (ended_) return;
            ended_ = true;
            sink_->error(errors);
            sub = std::move(subscription_);
            feed_.reset();
        }
        service_.forget(this);
    }

private:
    struct Feed final : livequery::Sink {
        Feed(std::weak_ptr<LiveOperation> op, std::uint64_t generation)
            : op(std::move(op)), generation(generation) {}
        void on_update(const livequery::Update& update) override {
            if (auto o = op.lock()) o->push(generation, update);
        }
        void on_error(const livequery::LiveError& error) override {
            if (auto o = op.lock()) o->field_failed(generation, error);
        }
        std::weak_ptr<LiveOperation> op;
        std::uint64_t generation;
    };

    void push(std::uint64_t generation, const livequery::Update& update) {
        std::lock_guard lock(mu_);
        if (ended_ || generation != generation_) return;
        const std::optional<std::string_view> value = single_value(*update.result);
        // The engine pushes a result only when it changed; only a new generation's first
        // result (after a rebuilt schema changed the statement) may equal the last one sent.
        const bool repeat = fresh_generation_ && last_result_ && !last_error_ &&
                            value == single_value(*last_result_);
        fresh_generation_ = false;
        last_error_.reset();
        last_result_ = update.result;
        if (!repeat) sink_->next(field_response(response_key_, value, non_null_));
    }

    void field_failed(std::uint64_t generation, const livequery::LiveError& error) {
        std::lock_guard lock(mu_);
        if (ended_ || generation != generation_) return;
        std::string message = error.message + " (" + error.code + ")";
        // The engine reports every failing run; the same error again is not news.
        if (last_error_ == message) return;
        fresh_generation_ = false;
        graphql::GraphQLErrors errors{{message, locations_, {response_key_}}};
        last_error_ = std::move(message);
        sink_->next(field_response(response_key_, std::nullopt, non_null_, errors));
    }

    static std::optional<std::string_view> single_value(const livequery::ResultSet& r) {
        if (r.rows.empty() || r.rows.front().empty() || !r.rows.front().front())
            return std::nullopt;
        return *r.rows.front().front();
    }

    GraphqlService& service_;
    const std::string query_;
    const boost::json::object variables_;
    const std::optional<std::string> operation_name_;
    const core::IdentityPtr identity_;
    const std::shared_ptr<protocol::graphql_ws::OperationSink> sink_;

    std::mutex mu_;
    bool begun_ = false; // the role check passed
    bool ended_ = false;
    std::uint64_t generation_ = 0;
    std::shared_ptr<Feed> feed_; // the engine holds it weakly
    livequery::SubscriptionPtr subscription_;
    std::string sql_;
    std::vector<std::optional<std::string>> params_;
    std::string response_key_;
    std::vector<graphql::SourceLocation> locations_;
    bool non_null_ = false;
    bool fresh_generation_ = false; ///< no result or error pushed since start() subscribed
    /// The last pushed result (shared with the engine, not copied), or the last error.
    std::shared_ptr<const livequery::ResultSet> last_result_;
    std::optional<std::string> last_error_;
};

GraphqlService::GraphqlService(pg::ConnectParams params, core::SubscriptionService& roles,
                               const auth::JwtVerifier& verifier,
                               std::function<protocol::graphql_ws::SchemaSnapshot()> schema,
                               GraphqlServiceOptions options, livequery::Engine* live_queries)
    : params_(std::move(params)), roles_(roles), verifier_(verifier), schema_(std::move(schema)),
      options_(std::move(options)), live_queries_(live_queries) {
    params_.application_name = "walcast graphql";
}

GraphqlService::~GraphqlService() {
    stop();
}

void GraphqlService::start() {
    const unsigned n = options_.pool_size ? options_.pool_size : 1;
    for (unsigned i = 0; i < n; ++i)
        workers_.emplace_back([this] { worker_loop(); });
}

void GraphqlService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
        if (t.joinable()) t.join();
    workers_.clear();
}

std::unique_ptr<protocol::graphql_ws::OperationHandle>
GraphqlService::execute(protocol::graphql_ws::ExecutionRequest request,
                        std::shared_ptr<protocol::graphql_ws::OperationSink> sink) {
    if (request.operation->operation == graphql::OperationType::Subscription)
        return subscribe(std::move(request), std::move(sink));
    if (request.operation->operation != graphql::OperationType::Query) {
        sink->error(one_error("walcast's GraphQL schema has no mutations (docs/graphql.md); write "
                              "through PostgREST, SQL or your application's API"));
        return nullptr;
    }
    auto schema =
        std::static_pointer_cast<const graphql::catalog::GeneratedSchema>(request.schema.source);
    if (!schema) {
        sink->error(one_error("The GraphQL schema is not available"));
        return nullptr;
    }
    auto job = std::make_shared<Job>();
    job->schema = std::move(schema);
    job->operation = std::move(request.operation);
    job->identity = std::move(request.identity);
    job->cancelled = std::make_shared<std::atomic<bool>>(false);
    job->done = [sink](Answer a) {
        if (!a.request_errors.empty()) return sink->error(a.request_errors);
        sink->next(a.json);
        sink->complete();
    };
    auto handle = std::make_unique<CancelHandle>([c = job->cancelled] { c->store(true); });
    run(std::move(job));
    return handle;
}

std::unique_ptr<protocol::graphql_ws::OperationHandle>
GraphqlService::subscribe(protocol::graphql_ws::ExecutionRequest request,
                          std::shared_ptr<protocol::graphql_ws::OperationSink> sink) {
    auto schema =
        std::static_pointer_cast<const graphql::catalog::GeneratedSchema>(request.schema.source);
    if (!schema || !live_queries_) {
        sink->error(one_error(schema ? "This walcast runs no live-query engine, so GraphQL "
                                       "subscriptions are not served; send the selection as a query"
                                     : "The GraphQL schema is not available"));
        return nullptr;
    }
    auto operation = request.operation;
    auto op = std::make_shared<LiveOperation>(*this, std::move(request), std::move(sink));
    {
        std::lock_guard lock(live_mu_);
        live_.emplace(op.get(), op);
    }
    const std::string role = op->identity()->role;
    roles_.check_role(reinterpret_cast<std::uintptr_t>(op.get()), {}, role,
                      [op, schema = std::move(schema),
                       operation = std::move(operation)](std::optional<core::SubscribeError> e) {
                          if (e)
                              return op->end(
                                  one_error("Refused: " + core::describe_role_refusal(*e)));
                          op->begin(schema, *operation);
                      });
    return std::make_unique<CancelHandle>([op] { op->cancel(); });
}

void GraphqlService::forget(const LiveOperation* op) {
    std::lock_guard lock(live_mu_);
    live_.erase(op);
}

void GraphqlService::schema_changed(
    const std::shared_ptr<const graphql::catalog::GeneratedSchema>& schema) {
    if (!schema) return;
    std::vector<std::shared_ptr<LiveOperation>> ops;
    {
        std::lock_guard lock(live_mu_);
        for (auto& [_, w] : live_)
            if (auto op = w.lock()) ops.push_back(std::move(op));
    }
    for (auto& op : ops)
        op->revalidate(schema);
}

void GraphqlService::run(std::shared_ptr<Job> job) {
    const std::string role = job->identity->role;
    auto source = reinterpret_cast<std::uintptr_t>(job.get());
    roles_.check_role(
        source, {}, role,
        [this, job = std::move(job)](std::optional<core::SubscribeError> e) mutable {
            if (e)
                return job->done(
                    Answer{403, "", one_error("Refused: " + core::describe_role_refusal(*e))});
            enqueue(std::move(job));
        });
}

void GraphqlService::enqueue(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mu_);
        if (!stopping_ && queue_.size() < options_.max_queued) {
            queue_.push_back(std::move(job));
            cv_.notify_one();
            return;
        }
    }
    job->done(Answer{503, "",
                     one_error("GraphQL queries are busy (" + std::to_string(options_.max_queued) +
                               " waiting for one of GRAPHQL_POOL_SIZE connections); try again")});
}

void GraphqlService::worker_loop() {
    pg::Connection conn;
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        if (job->cancelled->load()) continue;
        if (!conn.healthy()) {
            auto c = pg::Connection::connect(params_);
            if (!c) {
                log::warn("GraphQL: cannot connect to the database: {}", c.error().message);
                job->done(Answer{503, "",
                                 one_error("The database is unreachable: " + c.error().message)});
                continue;
            }
            conn = std::move(c).value();
        }
        job->done(Answer{200, execute_now(conn, *job), {}});
    }
}

std::string GraphqlService::execute_now(pg::Connection& conn, const Job& job) const {
    const graphql::PreparedOperation& op = *job.operation;
    GraphQLErrors errors;
    bool null_data = false;
    auto compiled = graphql::sql::compile_operation(*job.schema, op);
    if (!compiled) {
        errors = compiled.error();
        null_data = true;
    }
    graphql::IntrospectionResult introspection;
    for (const auto& f : op.root.fields)
        if (graphql::is_introspection_field(f)) {
            introspection = graphql::execute_introspection(*job.schema->schema, op);
            break;
        }

    std::vector<std::string> results; // compiled fields' JSON ("null" when failed)
    if (compiled) {
        const auto& fields = compiled->fields;
        const core::Identity& id = *job.identity;
        auto begin = conn.exec_script(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = " +
            std::to_string(options_.timeout_ms) + "; SET LOCAL ROLE " + conn.quote_ident(id.role) +
            "; SET LOCAL request.jwt.claims TO " + conn.quote_literal(id.claims_json));
        std::size_t next_compiled = 0;
        for (const auto& f : op.root.fields) {
            if (graphql::is_introspection_field(f)) continue;
            const auto& c = fields.at(next_compiled++);
            auto fail = [&](std::string message) {
                errors.push_back(field_error(f, std::move(message)));
                results.emplace_back("null");
                if (c.non_null) null_data = true;
            };
            if (!begin) {
                fail("walcast could not start the query as role \"" + id.role +
                     "\": " + begin.error().describe());
                continue;
            }
            const bool savepoint = fields.size() > 1;
            if (savepoint) (void)conn.exec("SAVEPOINT walcast_field");
            // The value is measured in Postgres: a result over the limit never reaches walcast.
            auto params = c.params;
            params.emplace_back(std::to_string(options_.max_result_bytes));
            auto rows =
                conn.exec("SELECT CASE WHEN octet_length(d) <= $" + std::to_string(params.size()) +
                              "::bigint THEN d END, octet_length(d) FROM (SELECT data::text AS d "
                              "FROM (" +
                              c.sql + ") AS f OFFSET 0) AS r",
                          params);
            if (!rows) {
                const auto& e = rows.error();
                std::string message = e.describe();
                if (e.is("57014"))
                    message += ": the query ran longer than GRAPHQL_TIMEOUT_MS (" +
                               std::to_string(options_.timeout_ms) +
                               " ms); ask for fewer rows (limit) or add an index for the filter";
                else if (!e.hint.empty())
                    message += "; hint: " + e.hint;
                fail(std::move(message));
                if (savepoint && !e.connection_lost)
                    (void)conn.exec("ROLLBACK TO SAVEPOINT walcast_field");
                continue;
            }
            auto value = rows->text(0, 0);
            auto size = rows->integer<std::int64_t>(0, 1);
            if (!value && size) {
                fail("the result of \"" + f.response_key + "\" is " + std::to_string(*size) +
                     " bytes, more than GRAPHQL_MAX_RESULT_BYTES (" +
                     std::to_string(options_.max_result_bytes) +
                     "); ask for fewer rows (limit) or fewer fields");
                continue;
            }
            if (!value && c.non_null) null_data = true;
            results.emplace_back(value ? std::string(*value) : std::string("null"));
            if (savepoint) (void)conn.exec("RELEASE SAVEPOINT walcast_field");
        }
        if (begin)
            (void)conn.exec("COMMIT");
        else if (conn.healthy())
            (void)conn.exec("ROLLBACK");
    }

    std::string out = "{\"data\":";
    if (null_data) {
        out += "null";
    } else {
        out += '{';
        std::size_t next_result = 0;
        bool first = true;
        for (const auto& f : op.root.fields) {
            if (!first) out += ',';
            first = false;
            json::append_string(out, f.response_key);
            out += ':';
            if (graphql::is_introspection_field(f)) {
                const auto* v = introspection.data.if_contains(f.response_key);
                out += v ? boost::json::serialize(*v) : std::string("null");
            } else {
                out += results.at(next_result++);
            }
        }
        out += '}';
    }
    for (auto& e : introspection.errors)
        errors.push_back(std::move(e));
    if (!errors.empty()) {
        out += ",\"errors\":";
        out += boost::json::serialize(graphql::to_json(errors));
    }
    out += '}';
    return out;
}

void GraphqlService::handle_http(const protocol::HttpRequest& req,
                                 std::function<void(HttpResponse)> respond) {
    respond = [respond = std::move(respond)](HttpResponse r) {
        r.headers.emplace_back("Access-Control-Allow-Origin", "*");
        respond(std::move(r));
    };
    if (req.method == "OPTIONS") {
        HttpResponse r;
        r.status = 204;
        r.headers = {
            {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
            {"Access-Control-Allow-Headers", "apikey, authorization, content-type, x-client-info"},
            {"Access-Control-Max-Age", "86400"}};
        return respond(std::move(r));
    }
    std::string query;
    std::optional<std::string> operation_name;
    boost::json::object variables;
    if (req.method == "POST") {
        boost::system::error_code ec;
        auto body = boost::json::parse(req.body, ec);
        if (ec || !body.is_object())
            return respond(request_error(400, "The request body must be a JSON object {\"query\": "
                                              "\"…\", \"variables\": {…}, \"operationName\": "
                                              "\"…\"} (Content-Type: application/json)"));
        const auto& o = body.get_object();
        const auto* q = o.if_contains("query");
        const auto* v = o.if_contains("variables");
        const auto* n = o.if_contains("operationName");
        if (!q || !q->is_string() || (v && !v->is_null() && !v->is_object()) ||
            (n && !n->is_null() && !n->is_string()))
            return respond(request_error(400, "\"query\" must be a string, \"variables\" an "
                                              "object and \"operationName\" a string"));
        query = std::string(q->get_string());
        if (v && v->is_object()) variables = v->get_object();
        if (n && n->is_string()) operation_name = std::string(n->get_string());
    } else if (req.method == "GET" || req.method == "HEAD") {
        auto q = req.query ? req.query("query") : std::nullopt;
        if (!q)
            return respond(request_error(400, "GET /graphql needs a query parameter: "
                                              "/graphql?query={…}&variables={…}"));
        query = std::move(*q);
        if (auto v = req.query("variables"); v && !v->empty()) {
            boost::system::error_code ec;
            auto parsed = boost::json::parse(*v, ec);
            if (ec || !(parsed.is_object() || parsed.is_null()))
                return respond(request_error(400, "The variables parameter must be a JSON object"));
            if (parsed.is_object()) variables = std::move(parsed.get_object());
        }
        if (auto n = req.query("operationName"); n && !n->empty()) operation_name = std::move(*n);
    } else {
        auto r = request_error(405, "GraphQL over HTTP takes POST or GET on /graphql");
        r.headers.emplace_back("Allow", "GET, POST, OPTIONS");
        return respond(std::move(r));
    }

    auto token = protocol::request_token(req);
    if (!token)
        return respond(request_error(401, "Unauthorized: send the token as Authorization: Bearer "
                                          "<jwt> or in the apikey header"));
    auto verified = verifier_.verify(*token, now_unix_us() / 1'000'000);
    if (!verified) {
        log::info("refusing a GraphQL request: {}", verified.failure().to_error().message);
        return respond(request_error(401, "Unauthorized: " + verified.failure().http_message()));
    }
    const auth::Claims& claims = verified.claims();

    auto snapshot = schema_ ? schema_() : protocol::graphql_ws::SchemaSnapshot{};
    auto prepared = graphql::prepare_request(snapshot.schema.get(), query, operation_name,
                                             variables, options_.limits);
    if (!prepared)
        return respond(json_response(400, graphql::request_errors_json(prepared.error())));
    auto op = std::make_shared<const graphql::PreparedOperation>(std::move(prepared).value());
    if (op->operation != graphql::OperationType::Query) {
        auto r = request_error(405, "Only queries are served over HTTP; subscribe over the "
                                    "WebSocket on /graphql (graphql-transport-ws)");
        r.headers.emplace_back("Allow", "GET, POST, OPTIONS");
        return respond(std::move(r));
    }
    if (graphql::introspection_only(*op))
        return respond(json_response(200, graphql::introspection_response(*snapshot.schema, *op)));
    auto job = std::make_shared<Job>();
    job->schema =
        std::static_pointer_cast<const graphql::catalog::GeneratedSchema>(snapshot.source);
    job->operation = std::move(op);
    job->identity = std::make_shared<const core::Identity>(
        core::Identity{claims.role, claims.json, claims.identity_key});
    job->cancelled = std::make_shared<std::atomic<bool>>(false);
    job->done = [respond = std::move(respond)](Answer a) {
        if (!a.request_errors.empty())
            return respond(json_response(a.status, graphql::request_errors_json(a.request_errors)));
        respond(json_response(a.status, std::move(a.json)));
    };
    run(std::move(job));
}

} // namespace walcast::app
