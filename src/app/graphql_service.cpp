#include "app/graphql_service.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "core/subscription/role_refusal.hpp"
#include "graphql/introspection.hpp"
#include "graphql/sql/compiler.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

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

class Handle final : public protocol::graphql_ws::OperationHandle {
public:
    explicit Handle(std::shared_ptr<std::atomic<bool>> cancelled)
        : cancelled_(std::move(cancelled)) {}
    ~Handle() override { cancel(); }
    void cancel() override { cancelled_->store(true); }

private:
    std::shared_ptr<std::atomic<bool>> cancelled_;
};

/// A field error with the field's locations and path.
GraphQLError field_error(const graphql::ResolvedField& f, std::string message) {
    return GraphQLError{std::move(message), f.locations, {f.response_key}};
}

} // namespace

GraphqlService::GraphqlService(pg::ConnectParams params, core::SubscriptionService& roles,
                               const auth::JwtVerifier& verifier,
                               std::function<protocol::graphql_ws::SchemaSnapshot()> schema,
                               GraphqlServiceOptions options)
    : params_(std::move(params)), roles_(roles), verifier_(verifier), schema_(std::move(schema)),
      options_(std::move(options)) {
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
    if (request.operation->operation != graphql::OperationType::Query) {
        sink->error(one_error("GraphQL subscriptions are not executed by this walcast yet (only "
                              "queries are); send the same selection as a query, or use a live "
                              "query on the Phoenix socket (docs/livequery.md)"));
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
    auto handle = std::make_unique<Handle>(job->cancelled);
    run(std::move(job));
    return handle;
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
