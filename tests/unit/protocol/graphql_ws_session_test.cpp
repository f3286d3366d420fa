// GraphqlWsSession against a recording ConnectionIo (a fake standing for the transport) and a
// fixed schema from SDL: both dialects' handshakes, close codes, ping/pong, init auth through
// the real JwtVerifier, errors as GraphQL error objects, introspection, the executor seam,
// limits and token expiry. The real clients over real sockets are tests/graphql/.
#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "graphql/sdl.hpp"
#include "protocol/graphql_ws/session.hpp"
#include "support/jwt_mint.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <deque>

namespace walcast::protocol::graphql_ws {
namespace {

using testing::JwtKey;

const std::string secret = "graphql-ws-session-test-secret-0123456789";

class RecordingIo final : public ConnectionIo {
public:
    bool send_text(std::initializer_list<std::string_view> parts, DeliveryRound*, bool) override {
        std::string s;
        for (auto p : parts)
            s += p;
        frames.push_back(std::move(s));
        return true;
    }
    bool send_binary(std::initializer_list<std::string_view>, DeliveryRound*, bool) override {
        return true;
    }
    void close(std::uint16_t c, std::string r) override {
        ++closes;
        code = c;
        reason = std::move(r);
    }
    void post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
    void post_after(std::chrono::milliseconds d, std::function<void()> fn) override {
        delayed.push_back({d, std::move(fn)});
    }

    /// Runs what was posted (as the strand would), until nothing is left.
    void drain() {
        while (!posted.empty()) {
            auto fn = std::move(posted.front());
            posted.pop_front();
            fn();
        }
    }
    /// Fires the timers posted so far, in order.
    void fire_timers() {
        auto timers = std::move(delayed);
        delayed.clear();
        for (auto& [d, fn] : timers)
            fn();
    }
    boost::json::object frame(std::size_t i) const {
        return boost::json::parse(frames.at(i)).as_object();
    }

    std::vector<std::string> frames;
    std::deque<std::function<void()>> posted;
    std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> delayed;
    int closes = 0;
    std::uint16_t code = 0;
    std::string reason;
};

/// An executor standing for the SQL one: records requests and keeps their sinks.
class FakeExecutor final : public OperationExecutor {
public:
    struct Handle final : OperationHandle {
        explicit Handle(bool* flag) : cancelled(flag) {}
        void cancel() override { *cancelled = true; }
        bool* cancelled;
    };
    std::unique_ptr<OperationHandle> execute(ExecutionRequest request,
                                             std::shared_ptr<OperationSink> sink) override {
        requests.push_back(std::move(request));
        sinks.push_back(std::move(sink));
        cancelled.push_back(std::make_unique<bool>(false));
        return std::make_unique<Handle>(cancelled.back().get());
    }
    std::vector<ExecutionRequest> requests;
    std::vector<std::shared_ptr<OperationSink>> sinks;
    std::vector<std::unique_ptr<bool>> cancelled;
};

constexpr std::string_view sdl = R"(
  type Query { users(limit: Int): [User!]! }
  type Subscription { users: [User!]! }
  type User { id: ID! name: String }
)";

class GraphqlWsSessionTest : public ::testing::Test {
protected:
    GraphqlWsSessionTest() : registry(), metrics(registry), key(JwtKey::hmac(secret)) {
        Config config;
        config.jwt_secret = secret;
        auto v = auth::JwtVerifier::create(config);
        EXPECT_TRUE(v.ok());
        verifier.emplace(std::move(v).value());
        auto built = graphql::build_schema(sdl);
        EXPECT_TRUE(built.ok()) << (built ? "" : built.error().message);
        schema = *built;
        ctx.emplace(GraphqlWsContext{*verifier, metrics,
                                     [this] {
                                         return SchemaSnapshot{schema, nullptr};
                                     },
                                     &executor});
    }

    std::unique_ptr<GraphqlWsSession> open(Dialect d = Dialect::TransportWs,
                                           std::string upgrade_token = {}) {
        return std::make_unique<GraphqlWsSession>(io, *ctx, d, std::move(upgrade_token));
    }
    std::string token(std::string role = "authenticated", std::int64_t ttl = 3600) {
        return testing::mint(key, testing::claims(role, testing::unix_now_s() + ttl, "user-1"));
    }
    std::string init_bearer() {
        return R"({"type":"connection_init","payload":{"authorization":"Bearer )" + token() +
               R"("}})";
    }
    static std::string subscribe(std::string_view id, std::string_view query,
                                 std::string_view type = "subscribe") {
        boost::json::object m{{"type", type}, {"id", id}, {"payload", {{"query", query}}}};
        return boost::json::serialize(m);
    }

    MetricsRegistry registry;
    GraphqlWsMetrics metrics;
    JwtKey key;
    std::optional<auth::JwtVerifier> verifier;
    std::shared_ptr<const graphql::Schema> schema;
    FakeExecutor executor;
    std::optional<GraphqlWsContext> ctx;
    std::shared_ptr<RecordingIo> io = std::make_shared<RecordingIo>();
};

TEST_F(GraphqlWsSessionTest, ConnectionInitWithBearerTokenIsAcknowledged) {
    auto s = open();
    s->on_text(init_bearer());
    ASSERT_EQ(io->frames.size(), 1u);
    EXPECT_EQ(io->frames[0], R"({"type":"connection_ack"})");
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, ApikeyAndHeadersAndUpgradeTokenAuthenticateToo) {
    for (const std::string payload :
         {R"({"apikey":")" + token() + R"("})",
          R"({"headers":{"Authorization":"Bearer )" + token() + R"("}})"}) {
        io = std::make_shared<RecordingIo>();
        auto s = open();
        s->on_text(R"({"type":"connection_init","payload":)" + payload + "}");
        ASSERT_EQ(io->frames.size(), 1u) << payload;
        EXPECT_EQ(io->frames[0], R"({"type":"connection_ack"})");
    }
    io = std::make_shared<RecordingIo>();
    auto s = open(Dialect::TransportWs, token());
    s->on_text(R"({"type":"connection_init"})");
    ASSERT_EQ(io->frames.size(), 1u);
    EXPECT_EQ(io->frames[0], R"({"type":"connection_ack"})");
}

TEST_F(GraphqlWsSessionTest, MissingOrBadTokenClosesWith4403AndNoAck) {
    auto s = open();
    s->on_text(R"({"type":"connection_init","payload":{}})");
    EXPECT_TRUE(io->frames.empty());
    EXPECT_EQ(io->code, close_code::forbidden);
    EXPECT_TRUE(io->reason.starts_with("Forbidden: no token")) << io->reason;

    io = std::make_shared<RecordingIo>();
    auto other = JwtKey::hmac("another-secret-another-secret-0123456789");
    auto forged = testing::mint(other, testing::claims("service_role", testing::unix_now_s() + 60));
    auto s2 = open();
    s2->on_text(R"({"type":"connection_init","payload":{"authorization":"Bearer )" + forged +
                R"("}})");
    EXPECT_TRUE(io->frames.empty());
    EXPECT_EQ(io->code, close_code::forbidden);
    EXPECT_EQ(io->reason, "Forbidden: Failed to validate JWT signature");
}

TEST_F(GraphqlWsSessionTest, SecondInitClosesWith4429) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(init_bearer());
    EXPECT_EQ(io->code, close_code::too_many_inits);
    EXPECT_EQ(io->reason, "Too many initialisation requests");
    EXPECT_EQ(io->frames.size(), 1u); // the first ack only
}

TEST_F(GraphqlWsSessionTest, SubscribeBeforeAckClosesWith4401) {
    auto s = open();
    s->on_text(subscribe("1", "{ __typename }"));
    EXPECT_EQ(io->code, close_code::unauthorized);
    EXPECT_EQ(io->reason, "Unauthorized");
    EXPECT_TRUE(executor.requests.empty());
}

TEST_F(GraphqlWsSessionTest, InvalidMessagesCloseWith4400) {
    for (std::string_view bad :
         {"not json", "[1]", R"({"kind":"x"})", R"({"type":"nope"})",
          R"({"type":"subscribe","id":"","payload":{"query":"{a}"}})",
          R"({"type":"subscribe","id":"1","payload":{"query":1}})",
          R"({"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[]}})",
          R"({"type":"connection_init","payload":"x"})", R"({"type":"ping","payload":3})"}) {
        io = std::make_shared<RecordingIo>();
        auto s = open();
        if (std::string_view(bad).find("subscribe") != std::string_view::npos)
            s->on_text(init_bearer());
        s->on_text(bad);
        EXPECT_EQ(io->code, close_code::bad_request) << bad;
        EXPECT_TRUE(io->reason.starts_with("Invalid message received")) << io->reason;
        EXPECT_LE(io->reason.size(), 123u);
    }
}

TEST_F(GraphqlWsSessionTest, PingIsAnsweredWithPongEchoingThePayload) {
    auto s = open();
    s->on_text(R"({"type":"ping"})");
    s->on_text(R"({"type":"ping","payload":{"n":7}})");
    s->on_text(R"({"type":"pong"})"); // unsolicited pongs are heartbeats: no answer
    ASSERT_EQ(io->frames.size(), 2u);
    EXPECT_EQ(io->frames[0], R"({"type":"pong"})");
    EXPECT_EQ(io->frames[1], R"({"type":"pong","payload":{"n":7}})");
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, NoInitWithinTheTimeoutClosesWith4408) {
    auto s = open();
    ASSERT_EQ(io->delayed.size(), 1u);
    EXPECT_EQ(io->delayed[0].first, std::chrono::milliseconds(3000));
    io->fire_timers();
    EXPECT_EQ(io->code, close_code::init_timeout);
    EXPECT_EQ(io->reason, "Connection initialisation timeout");

    io = std::make_shared<RecordingIo>();
    auto s2 = open();
    s2->on_text(init_bearer());
    io->fire_timers();
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, IntrospectionQueryIsAnsweredFromTheSchemaWithNextThenComplete) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("q1", "query Q { __schema { queryType { name } } t: __typename }"));
    io->drain();
    ASSERT_EQ(io->frames.size(), 3u);
    EXPECT_EQ(
        io->frames[1],
        R"({"type":"next","id":"q1","payload":{"data":{"__schema":{"queryType":{"name":"Query"}},"t":"Query"}}})");
    EXPECT_EQ(io->frames[2], R"({"type":"complete","id":"q1"})");
    EXPECT_TRUE(executor.requests.empty());
    EXPECT_EQ(metrics.operations.value(), 0);
    // The id is free again once the operation finished.
    s->on_text(subscribe("q1", "{ __typename }"));
    io->drain();
    EXPECT_EQ(io->closes, 0);
    EXPECT_EQ(io->frames.size(), 5u);
}

TEST_F(GraphqlWsSessionTest, ValidationErrorsAreErrorMessagesWithLocationsAndNoComplete) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("v", "{\n  nope\n}"));
    io->drain();
    ASSERT_EQ(io->frames.size(), 2u);
    EXPECT_EQ(
        io->frames[1],
        R"({"type":"error","id":"v","payload":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":2,"column":3}]}]})");
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, SyntaxErrorIsAnErrorMessage) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("x", "{"));
    io->drain();
    ASSERT_EQ(io->frames.size(), 2u);
    auto f = io->frame(1);
    EXPECT_EQ(f.at("type"), "error");
    EXPECT_EQ(f.at("payload").as_array().at(0).at("message"),
              "Syntax Error: Expected Name, found <EOF>.");
}

TEST_F(GraphqlWsSessionTest, TableFieldsGoToTheExecutorWithTheTokensIdentity) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("s1", "subscription { users { id name } }"));
    ASSERT_EQ(executor.requests.size(), 1u);
    const auto& r = executor.requests[0];
    EXPECT_EQ(r.identity->role, "authenticated");
    EXPECT_NE(r.identity->claims_json.find("\"sub\":\"user-1\""), std::string::npos);
    EXPECT_EQ(r.operation->operation, graphql::OperationType::Subscription);
    ASSERT_EQ(r.operation->root.fields.size(), 1u);
    EXPECT_EQ(r.operation->root.fields[0].name, "users");

    executor.sinks[0]->next(R"({"data":{"users":[]}})");
    executor.sinks[0]->next(R"({"data":{"users":[{"id":"1","name":"a"}]}})");
    ASSERT_EQ(io->frames.size(), 3u);
    EXPECT_EQ(io->frames[1], R"({"type":"next","id":"s1","payload":{"data":{"users":[]}}})");
    EXPECT_EQ(io->frames[2],
              R"({"type":"next","id":"s1","payload":{"data":{"users":[{"id":"1","name":"a"}]}}})");

    // A second operation with the same id while the first runs: 4409.
    s->on_text(subscribe("s1", "subscription { users { id } }"));
    EXPECT_EQ(io->code, close_code::subscriber_exists);
    EXPECT_EQ(io->reason, "Subscriber for s1 already exists");
    EXPECT_TRUE(*executor.cancelled[0]); // the close ended the running operation
}

TEST_F(GraphqlWsSessionTest, ClientCompleteCancelsAndNothingMoreIsSent) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("s1", "subscription { users { id } }"));
    EXPECT_EQ(metrics.operations.value(), 1);
    s->on_text(R"({"type":"complete","id":"s1"})");
    EXPECT_TRUE(*executor.cancelled[0]);
    executor.sinks[0]->next(R"({"data":{"users":[]}})");
    EXPECT_EQ(io->frames.size(), 1u); // the ack; no complete echoed, no late next
    EXPECT_EQ(metrics.operations.value(), 0);
    s->on_text(R"({"type":"complete","id":"unknown"})"); // allowed, ignored
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, ExecutorErrorEndsTheOperationAndFreesItsId) {
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("s1", "subscription { users { id } }"));
    executor.sinks[0]->error({graphql::GraphQLError{"relation gone", {{1, 16}}, {"users"}}});
    executor.sinks[0]->next(R"({"data":{"users":[]}})"); // after the end: ignored
    io->drain();
    ASSERT_EQ(io->frames.size(), 2u);
    EXPECT_EQ(
        io->frames[1],
        R"({"type":"error","id":"s1","payload":[{"message":"relation gone","locations":[{"line":1,"column":16}],"path":["users"]}]})");
    s->on_text(subscribe("s1", "subscription { users { id } }"));
    EXPECT_EQ(io->closes, 0);
    EXPECT_EQ(executor.requests.size(), 2u);
}

TEST_F(GraphqlWsSessionTest, WithoutAnExecutorTableFieldsGetAnErrorNamingWhy) {
    ctx->executor = nullptr;
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("q", "{ users { id } }"));
    ASSERT_EQ(io->frames.size(), 2u);
    auto f = io->frame(1);
    EXPECT_EQ(f.at("type"), "error");
    EXPECT_NE(std::string(f.at("payload").as_array().at(0).at("message").as_string())
                  .find("introspection"),
              std::string::npos);
}

TEST_F(GraphqlWsSessionTest, HostileDocumentsGetTheLimitsError) {
    auto s = open();
    s->on_text(init_bearer());
    std::string big = "{ __typename " + std::string(1 << 20, ' ') + "}";
    std::string deep;
    for (int i = 0; i < 1000; ++i)
        deep += "{ users { id ";
    std::string aliases = "{";
    for (int i = 0; i < 10000; ++i)
        aliases += " a" + std::to_string(i) + ": __typename";
    aliases += " }";
    const std::vector<std::pair<std::string, std::string>> cases{
        {big, "Document is 1048590 bytes, more than walcast's limit of 262144 bytes"},
        {deep, "Document is nested more than 64 levels deep"},
        {aliases, "Document selects more than 2000 fields (aliases included)"}};
    int n = 0;
    for (const auto& [doc, expected] : cases) {
        const std::string id = "h" + std::to_string(n++);
        s->on_text(subscribe(id, doc));
        io->drain();
        auto f = io->frame(io->frames.size() - 1);
        EXPECT_EQ(f.at("type"), "error");
        EXPECT_EQ(f.at("id").as_string(), id);
        std::string message(f.at("payload").as_array().at(0).at("message").as_string());
        EXPECT_TRUE(message.starts_with(expected)) << message;
    }
    EXPECT_EQ(io->closes, 0);
    EXPECT_TRUE(executor.requests.empty());
}

TEST_F(GraphqlWsSessionTest, TooManyOperationsGetAnError) {
    ctx->limits.max_operations = 2;
    auto s = open();
    s->on_text(init_bearer());
    s->on_text(subscribe("1", "subscription { users { id } }"));
    s->on_text(subscribe("2", "subscription { users { id } }"));
    s->on_text(subscribe("3", "subscription { users { id } }"));
    ASSERT_EQ(executor.requests.size(), 2u);
    auto f = io->frame(io->frames.size() - 1);
    EXPECT_EQ(f.at("type"), "error");
    EXPECT_EQ(f.at("id"), "3");
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, TokenExpiryClosesWith4403) {
    auto s = open();
    const auto exp = testing::unix_now_s() + 100;
    s->on_text(R"({"type":"connection_init","payload":{"authorization":"Bearer )" +
               testing::mint(key, testing::claims("anon", exp)) + R"("}})");
    EXPECT_FALSE(s->sweep_due(exp - 1));
    EXPECT_TRUE(s->sweep_due(exp));
    s->on_sweep(std::chrono::steady_clock::now(), exp + 2);
    EXPECT_EQ(io->code, close_code::forbidden);
    EXPECT_EQ(io->reason,
              "Forbidden: Token has expired 2 seconds ago; reconnect with a fresh token");
    EXPECT_FALSE(s->sweep_due(exp + 3));
}

// ---- legacy subscriptions-transport-ws ------------------------------------------------------

TEST_F(GraphqlWsSessionTest, LegacyHandshakeSendsAckThenKeepAlive) {
    auto s = open(Dialect::Legacy);
    s->on_text(init_bearer());
    ASSERT_EQ(io->frames.size(), 2u);
    EXPECT_EQ(io->frames[0], R"({"type":"connection_ack"})");
    EXPECT_EQ(io->frames[1], R"({"type":"ka"})");
    io->fire_timers(); // the init timeout (no-op now) and the next keep-alive
    ASSERT_EQ(io->frames.size(), 3u);
    EXPECT_EQ(io->frames[2], R"({"type":"ka"})");
}

TEST_F(GraphqlWsSessionTest, LegacyStartGetsDataAndCompleteAndStopIsAnsweredWithComplete) {
    auto s = open(Dialect::Legacy);
    s->on_text(init_bearer());
    s->on_text(subscribe("1", "{ __typename }", "start"));
    io->drain();
    ASSERT_EQ(io->frames.size(), 4u);
    EXPECT_EQ(io->frames[2],
              R"({"type":"data","id":"1","payload":{"data":{"__typename":"Query"}}})");
    EXPECT_EQ(io->frames[3], R"({"type":"complete","id":"1"})");

    s->on_text(subscribe("2", "subscription { users { id } }", "start"));
    s->on_text(R"({"type":"stop","id":"2"})");
    EXPECT_TRUE(*executor.cancelled[0]);
    EXPECT_EQ(io->frames.back(), R"({"type":"complete","id":"2"})");
    // A start with an id still active replaces the old operation (subscriptions-transport-ws).
    s->on_text(subscribe("3", "subscription { users { id } }", "start"));
    s->on_text(subscribe("3", "subscription { users { name } }", "start"));
    EXPECT_TRUE(*executor.cancelled[1]);
    EXPECT_EQ(executor.requests.size(), 3u);
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, LegacyBadMessagesAreAnsweredAndTheConnectionStays) {
    auto s = open(Dialect::Legacy);
    s->on_text("not json");
    s->on_text(R"({"type":"whatever","id":"9"})");
    ASSERT_EQ(io->frames.size(), 2u);
    EXPECT_EQ(
        io->frames[0],
        R"({"type":"connection_error","payload":{"message":"Message must be JSON-parseable"}})");
    EXPECT_EQ(io->frames[1],
              R"({"type":"error","id":"9","payload":{"message":"Invalid message type!"}})");
    EXPECT_EQ(io->closes, 0);
}

TEST_F(GraphqlWsSessionTest, LegacyRefusedInitSendsConnectionErrorThenCloses4403) {
    auto s = open(Dialect::Legacy);
    s->on_text(R"({"type":"connection_init","payload":{"authorization":"Bearer x.y.z"}})");
    ASSERT_EQ(io->frames.size(), 1u);
    auto f = io->frame(0);
    EXPECT_EQ(f.at("type"), "connection_error");
    EXPECT_EQ(f.at("payload").at("message"), "Forbidden: The token provided is not a valid JWT");
    EXPECT_EQ(io->code, close_code::forbidden);
}

TEST_F(GraphqlWsSessionTest, LegacyConnectionTerminateClosesNormally) {
    auto s = open(Dialect::Legacy);
    s->on_text(init_bearer());
    s->on_text(subscribe("1", "subscription { users { id } }", "start"));
    s->on_text(R"({"type":"connection_terminate"})");
    EXPECT_EQ(io->code, 1000);
    EXPECT_TRUE(*executor.cancelled[0]);
}

} // namespace
} // namespace walcast::protocol::graphql_ws
