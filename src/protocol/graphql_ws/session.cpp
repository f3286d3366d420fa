#include "protocol/graphql_ws/session.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "graphql/request.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>

namespace walcast::protocol::graphql_ws {

namespace {

/// WebSocket close reasons are at most 123 bytes (RFC 6455 §5.5); longer ones are cut at a
/// character boundary.
std::string limit_reason(std::string reason) {
    constexpr std::size_t max = 123;
    if (reason.size() <= max) return reason;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
        --n;
    reason.resize(n);
    return reason;
}

/// `{"type":"<type>"[,"id":"<id>"][,"payload":<payload>]}`; payload_json "" = none.
std::string frame(std::string_view type, const std::string* id, std::string_view payload_json) {
    std::string out;
    out.reserve(32 + (id ? id->size() : 0) + payload_json.size());
    out += "{\"type\":";
    json::append_string(out, type);
    if (id) {
        out += ",\"id\":";
        json::append_string(out, *id);
    }
    if (!payload_json.empty()) {
        out += ",\"payload\":";
        out += payload_json;
    }
    out += '}';
    return out;
}

std::string errors_json(const graphql::GraphQLErrors& errors) {
    return boost::json::serialize(graphql::to_json(errors));
}

using graphql::one_error;

/// The token a connection_init payload carries: `authorization` ("Bearer <jwt>" or the bare
/// JWT), else `apikey`, at the top level or under `headers` (Apollo's habit); nullopt if none.
std::optional<std::string> token_from(const boost::json::object& params) {
    auto read = [](const boost::json::object& o) -> std::optional<std::string> {
        for (std::string_view key : {"authorization", "Authorization"}) {
            if (const auto* v = o.if_contains(key); v && v->is_string()) {
                std::string_view s = v->get_string();
                if (s.size() >= 7 && (s.substr(0, 7) == "Bearer " || s.substr(0, 7) == "bearer "))
                    s.remove_prefix(7);
                return std::string(s);
            }
        }
        for (std::string_view key : {"apikey", "apiKey", "x-api-key"}) {
            if (const auto* v = o.if_contains(key); v && v->is_string())
                return std::string(v->get_string());
        }
        return std::nullopt;
    };
    if (auto t = read(params)) return t;
    if (const auto* h = params.if_contains("headers"); h && h->is_object())
        return read(h->get_object());
    return std::nullopt;
}

const boost::json::string* string_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? &v->get_string() : nullptr;
}

/// true when key is absent, null, or of the kind `ok` accepts.
template <class Pred> bool absent_or(const boost::json::object& o, std::string_view key, Pred ok) {
    const auto* v = o.if_contains(key);
    return !v || v->is_null() || ok(*v);
}

} // namespace

std::string_view subprotocol_name(Dialect dialect) {
    return dialect == Dialect::TransportWs ? "graphql-transport-ws" : "graphql-ws";
}

GraphqlWsMetrics::GraphqlWsMetrics(MetricsRegistry& r)
    : operations(r.gauge("walcast_graphql_operations", "GraphQL operations active on sockets")),
      operations_total(r.counter("walcast_graphql_operations_total",
                                 "GraphQL operations started over WebSocket")),
      operation_errors(r.counter("walcast_graphql_operation_errors_total",
                                 "GraphQL operations over WebSocket ended with an error message")),
      protocol_closes(r.counter("walcast_graphql_protocol_closes_total",
                                "GraphQL WebSocket connections closed with a 44xx code")) {}

UpgradeHandler upgrade_handler(GraphqlWsContext& ctx, Dialect dialect) {
    return [&ctx, dialect](const UpgradeRequest& req) -> UpgradeDecision {
        std::string token;
        if (auto h = req.header("x-api-key"))
            token = std::move(*h);
        else if (auto q = req.query("apikey"))
            token = std::move(*q);
        UpgradeAccept accept;
        // graphql-ws clients send nothing while idle (keepAlive 0 by default): no idle limit.
        accept.make_session = [&ctx, dialect,
                               token = std::move(token)](const std::shared_ptr<ConnectionIo>& io) {
            return std::make_unique<GraphqlWsSession>(io, ctx, dialect, token);
        };
        return accept;
    };
}

// ---- operations -----------------------------------------------------------------------------

/// Lets posted functions and sinks on other threads find the session while it lives (strand).
struct Anchor {
    GraphqlWsSession* session = nullptr;
};

namespace {

/// One operation's sink: frames go straight to the connection from whichever thread produces
/// them; the end of the operation is posted to the strand, which forgets it.
class Sink final : public OperationSink {
public:
    Sink(std::weak_ptr<ConnectionIo> io, Dialect dialect, std::string id,
         std::function<void()> on_end)
        : io_(std::move(io)), dialect_(dialect), id_(std::move(id)), on_end_(std::move(on_end)) {}

    void next(std::string_view result_json, DeliveryRound* round) override {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        auto io = io_.lock();
        if (!io) return;
        const std::string head =
            frame(dialect_ == Dialect::TransportWs ? "next" : "data", &id_, "");
        // head ends with '}': splice the payload in before it.
        std::string_view h(head);
        h.remove_suffix(1);
        io->send_text({h, ",\"payload\":", result_json, "}"}, round, true);
    }
    void error(const graphql::GraphQLErrors& errors) override {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
        if (auto io = io_.lock()) io->send_text({frame("error", &id_, errors_json(errors))});
        if (on_end_) on_end_();
    }
    void complete() override {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
        if (auto io = io_.lock()) io->send_text({frame("complete", &id_, "")});
        if (on_end_) on_end_();
    }
    /// The client ended it (or the connection closed): nothing more is sent. Legacy `stop` is
    /// answered with `complete` (gqlws §5).
    void cancel(bool send_complete) {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
        if (send_complete)
            if (auto io = io_.lock()) io->send_text({frame("complete", &id_, "")});
    }
    bool ended() const {
        std::lock_guard lock(mutex_);
        return ended_;
    }

private:
    mutable std::mutex mutex_;
    std::weak_ptr<ConnectionIo> io_;
    const Dialect dialect_;
    const std::string id_;
    std::function<void()> on_end_;
    bool ended_ = false;
};

} // namespace

class GraphqlWsSession::Operation {
public:
    std::uint64_t generation = 0;
    std::shared_ptr<Sink> sink;
    std::unique_ptr<OperationHandle> handle;
};

// ---- the session ----------------------------------------------------------------------------

namespace {
/// Anchors by session, so that the destructor and posted functions agree (strand only).
std::shared_ptr<Anchor> make_anchor(GraphqlWsSession* s) {
    auto a = std::make_shared<Anchor>();
    a->session = s;
    return a;
}
} // namespace

GraphqlWsSession::GraphqlWsSession(const std::shared_ptr<ConnectionIo>& io, GraphqlWsContext& ctx,
                                   Dialect dialect, std::string upgrade_token)
    : io_(*io), io_weak_(io), ctx_(ctx), dialect_(dialect),
      upgrade_token_(std::move(upgrade_token)), anchor_(make_anchor(this)) {
    if (ctx_.init_timeout.count() > 0) {
        io_.post_after(ctx_.init_timeout, [anchor = anchor_] {
            auto* s = anchor->session;
            if (!s || s->closed_ || s->init_received_) return;
            s->fail(close_code::init_timeout, "Connection initialisation timeout");
        });
    }
}

GraphqlWsSession::~GraphqlWsSession() {
    on_closed();
}

void GraphqlWsSession::fail(std::uint16_t code, std::string reason) {
    if (closed_) return;
    ctx_.metrics.protocol_closes.inc();
    log::debug("GraphQL socket closed with {}: {}", code, reason);
    io_.close(code, limit_reason(std::move(reason)));
    closed_ = true;
    for (auto& [id, op] : operations_) {
        op->sink->cancel(false);
        if (op->handle) op->handle->cancel();
        ctx_.metrics.operations.sub();
    }
    operations_.clear();
    exp_ = 0;
}

void GraphqlWsSession::invalid(std::string reason) {
    if (dialect_ == Dialect::TransportWs) return fail(close_code::bad_request, std::move(reason));
    // The legacy protocol answers a bad message and keeps the connection (gqlws §5).
    boost::json::object payload{{"message", reason}};
    send(frame("connection_error", nullptr, boost::json::serialize(payload)));
}

void GraphqlWsSession::on_binary(std::string_view) {
    if (closed_) return;
    invalid("Invalid message received: binary frames are not part of the protocol; send JSON "
            "text frames");
}

void GraphqlWsSession::on_text(std::string_view text) {
    if (closed_) return;
    boost::json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec, {}, opts);
    if (ec) {
        return invalid(dialect_ == Dialect::Legacy
                           ? "Message must be JSON-parseable"
                           : "Invalid message received: not JSON (" + ec.message() + ")");
    }
    if (!v.is_object()) return invalid("Invalid message received: a message is a JSON object");
    const auto& m = v.get_object();
    const auto* type = string_field(m, "type");
    if (!type) return invalid("Invalid message received: the message has no string \"type\"");
    const std::string_view t = *type;
    if (t == "connection_init") return handle_init(m);
    if (dialect_ == Dialect::TransportWs) {
        if (t == "ping") {
            if (!absent_or(m, "payload", [](const auto& p) { return p.is_object(); }))
                return invalid("Invalid message received: ping payload must be an object");
            const auto* p = m.if_contains("payload");
            return send(frame("pong", nullptr,
                              p && p->is_object() ? boost::json::serialize(*p) : std::string()));
        }
        if (t == "pong") {
            if (!absent_or(m, "payload", [](const auto& p) { return p.is_object(); }))
                return invalid("Invalid message received: pong payload must be an object");
            return;
        }
        if (t == "subscribe") return handle_subscribe(m);
        if (t == "complete") return handle_complete(m);
        return invalid("Invalid message received: unknown type \"" + std::string(t).substr(0, 40) +
                       "\"");
    }
    // Legacy (subscriptions-transport-ws).
    if (t == "start") return handle_subscribe(m);
    if (t == "stop") return handle_complete(m);
    if (t == "connection_terminate") {
        closed_ = true;
        io_.close(1000, "connection_terminate");
        for (auto& [id, op] : operations_) {
            op->sink->cancel(false);
            if (op->handle) op->handle->cancel();
            ctx_.metrics.operations.sub();
        }
        operations_.clear();
        return;
    }
    // subscriptions-transport-ws answers an unknown type with `error` for its id.
    const auto* id = string_field(m, "id");
    std::string sid = id ? std::string(*id) : std::string();
    boost::json::object payload{{"message", "Invalid message type!"}};
    send(frame("error", &sid, boost::json::serialize(payload)));
}

void GraphqlWsSession::handle_init(const boost::json::object& m) {
    if (init_received_) {
        if (dialect_ == Dialect::Legacy) {
            boost::json::object payload{{"message", "Too many initialisation requests"}};
            send(frame("connection_error", nullptr, boost::json::serialize(payload)));
        }
        return fail(close_code::too_many_inits, "Too many initialisation requests");
    }
    const auto* p = m.if_contains("payload");
    if (p && !p->is_null() && !p->is_object())
        return fail(close_code::bad_request,
                    "Invalid message received: connection_init payload must be an object");
    init_received_ = true;
    std::optional<std::string> token;
    if (p && p->is_object()) token = token_from(p->get_object());
    if (!token && !upgrade_token_.empty()) token = upgrade_token_;
    std::string refusal;
    if (!token) {
        refusal = "Forbidden: no token; pass connectionParams { authorization: 'Bearer <jwt>' } "
                  "or { apikey }";
    } else {
        auto verified = ctx_.verifier.verify(*token, now_unix_us() / 1'000'000);
        if (!verified) {
            const auto& f = verified.failure();
            log::info("refusing a GraphQL connection_init: {}", f.to_error().message);
            refusal = "Forbidden: " + f.http_message();
        } else {
            claims_ = std::make_shared<const auth::Claims>(std::move(verified).claims());
        }
    }
    if (!claims_) {
        if (dialect_ == Dialect::Legacy) {
            boost::json::object payload{{"message", refusal}};
            send(frame("connection_error", nullptr, boost::json::serialize(payload)));
        }
        return fail(close_code::forbidden, std::move(refusal));
    }
    identity_ = core::identity_of(*claims_);
    acknowledged_ = true;
    exp_ = claims_->exp;
    send(frame("connection_ack", nullptr, ""));
    if (dialect_ == Dialect::Legacy && ctx_.keepalive.count() > 0) send_keepalive();
}

void GraphqlWsSession::send_keepalive() {
    if (closed_) return;
    send(frame("ka", nullptr, ""));
    io_.post_after(ctx_.keepalive, [anchor = anchor_] {
        if (auto* s = anchor->session) s->send_keepalive();
    });
}

void GraphqlWsSession::handle_subscribe(const boost::json::object& m) {
    const auto* id = string_field(m, "id");
    if (!id || id->empty())
        return invalid("Invalid message received: an operation message needs a non-empty string "
                       "\"id\"");
    const auto* p = m.if_contains("payload");
    if (!p || !p->is_object())
        return invalid("Invalid message received: subscribe needs a payload object");
    const auto& payload = p->get_object();
    if (!string_field(payload, "query"))
        return invalid("Invalid message received: payload.query must be a string");
    auto is_object = [](const boost::json::value& v) { return v.is_object(); };
    auto is_string = [](const boost::json::value& v) { return v.is_string(); };
    if (!absent_or(payload, "variables", is_object) ||
        !absent_or(payload, "extensions", is_object) ||
        !absent_or(payload, "operationName", is_string))
        return invalid("Invalid message received: payload.variables and payload.extensions must "
                       "be objects, payload.operationName a string");
    if (!acknowledged_) return fail(close_code::unauthorized, "Unauthorized");
    std::string sid(*id);
    if (auto it = operations_.find(sid); it != operations_.end() && it->second->sink->ended()) {
        // Ended already (its release is still posted): the id is free.
        operations_.erase(it);
        ctx_.metrics.operations.sub();
    }
    if (auto it = operations_.find(sid); it != operations_.end()) {
        if (dialect_ == Dialect::TransportWs)
            return fail(close_code::subscriber_exists, "Subscriber for " + sid + " already exists");
        // subscriptions-transport-ws: a start with an active id stops the old operation first.
        it->second->sink->cancel(false);
        if (it->second->handle) it->second->handle->cancel();
        operations_.erase(it);
        ctx_.metrics.operations.sub();
    }
    start_operation(std::move(sid), payload);
}

void GraphqlWsSession::handle_complete(const boost::json::object& m) {
    const auto* id = string_field(m, "id");
    if (!id || id->empty())
        return invalid("Invalid message received: complete needs a non-empty string \"id\"");
    auto it = operations_.find(std::string_view(*id));
    // Completing an unknown or finished operation is allowed and ignored (gqlws §2).
    if (it == operations_.end()) return;
    it->second->sink->cancel(dialect_ == Dialect::Legacy);
    if (it->second->handle) it->second->handle->cancel();
    operations_.erase(it);
    ctx_.metrics.operations.sub();
}

void GraphqlWsSession::start_operation(std::string id, const boost::json::object& payload) {
    if (operations_.size() >= ctx_.limits.max_operations) {
        ctx_.metrics.operation_errors.inc();
        return send(
            frame("error", &id,
                  errors_json(one_error("Too many operations on this connection (limit " +
                                        std::to_string(ctx_.limits.max_operations) +
                                        ", GRAPHQL_WS_MAX_OPERATIONS); complete some "
                                        "before subscribing again, or raise the setting"))));
    }
    auto op = std::make_unique<Operation>();
    op->generation = ++generation_;
    op->sink = std::make_shared<Sink>(io_weak_, dialect_, id,
                                      [io = io_weak_, anchor = anchor_, id, gen = op->generation] {
                                          if (auto p = io.lock())
                                              p->post([anchor, id, gen] {
                                                  if (auto* s = anchor->session) s->finish(id, gen);
                                              });
                                      });
    Operation& ref = *op;
    operations_.emplace(id, std::move(op));
    ctx_.metrics.operations.add();
    ctx_.metrics.operations_total.inc();

    const auto* name = payload.if_contains("operationName");
    std::optional<std::string> operation_name;
    if (name && name->is_string()) operation_name = std::string(name->get_string());
    static const boost::json::object no_variables;
    const auto* vars = payload.if_contains("variables");
    run(ref, std::string(payload.at("query").get_string()), operation_name,
        vars && vars->is_object() ? vars->get_object() : no_variables);
}

void GraphqlWsSession::run(Operation& op, const std::string& query,
                           const std::optional<std::string>& operation_name,
                           const boost::json::object& variables) {
    auto failed = [&](const graphql::GraphQLErrors& errors) {
        ctx_.metrics.operation_errors.inc();
        op.sink->error(errors);
    };
    SchemaSnapshot snapshot = ctx_.schema ? ctx_.schema() : SchemaSnapshot{};
    const auto& schema = snapshot.schema;
    auto prepared = graphql::prepare_request(
        schema.get(), query, operation_name, variables,
        {ctx_.limits.parse, ctx_.limits.validation, ctx_.limits.operation});
    if (!prepared) return failed(prepared.error());
    auto operation =
        std::make_shared<const graphql::PreparedOperation>(std::move(prepared).value());
    if (graphql::introspection_only(*operation)) {
        op.sink->next(graphql::introspection_response(*schema, *operation), nullptr);
        op.sink->complete();
        return;
    }
    if (!ctx_.executor)
        return failed(one_error(
            "This walcast answers only introspection over GraphQL so far: fields that read "
            "tables need the catalog schema's SQL execution, which this build does not have"));
    op.handle = ctx_.executor->execute(ExecutionRequest{std::move(snapshot), operation, identity_,
                                                        query, variables, operation_name},
                                       op.sink);
}

void GraphqlWsSession::finish(const std::string& id, std::uint64_t generation) {
    auto it = operations_.find(id);
    if (it == operations_.end() || it->second->generation != generation) return;
    operations_.erase(it);
    ctx_.metrics.operations.sub();
}

bool GraphqlWsSession::sweep_due(std::int64_t now_unix_s) const {
    const std::int64_t exp = exp_.load();
    return exp != 0 && exp <= now_unix_s;
}

void GraphqlWsSession::on_sweep(std::chrono::steady_clock::time_point, std::int64_t now_unix_s) {
    if (closed_ || !claims_ || claims_->exp > now_unix_s) return;
    const std::string message = "Forbidden: Token has expired " +
                                std::to_string(now_unix_s - claims_->exp) +
                                " seconds ago; reconnect with a fresh token";
    if (dialect_ == Dialect::Legacy) {
        boost::json::object payload{{"message", message}};
        send(frame("connection_error", nullptr, boost::json::serialize(payload)));
    }
    fail(close_code::forbidden, message);
}

void GraphqlWsSession::on_closed() {
    if (anchor_) anchor_->session = nullptr;
    for (auto& [id, op] : operations_) {
        op->sink->cancel(false);
        if (op->handle) op->handle->cancel();
        ctx_.metrics.operations.sub();
    }
    operations_.clear();
    closed_ = true;
    exp_ = 0;
}

} // namespace walcast::protocol::graphql_ws
