// GraphQL over WebSocket: one ProtocolSession speaking either subprotocol, chosen by
// Sec-WebSocket-Protocol at the upgrade —
//   graphql-transport-ws  the `graphql-ws` npm client (and Apollo's GraphQLWsLink), and
//   graphql-ws            the legacy `subscriptions-transport-ws` client (Apollo's old
//                         WebSocketLink);
// the protocol facts are in docs/protocol/graphql-ws.md (cited there as "gqlws §N").
//
// The session parses, validates and prepares each operation (src/graphql), answers
// introspection-only queries from the schema model itself, and hands everything that reads
// tables to an OperationExecutor (executor.hpp). Authentication is the connection_init payload's
// `authorization: "Bearer <jwt>"` or `apikey` (or the upgrade's apikey parameter / x-api-key
// header), verified by the same JwtVerifier as the Phoenix socket; the token's expiry ends the
// connection.
#pragma once

#include "auth/claims.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/metrics.hpp"
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/schema.hpp"
#include "graphql/validation.hpp"
#include "protocol/graphql_ws/executor.hpp"
#include "protocol/session.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::protocol::graphql_ws {

/// The two subprotocols (gqlws §1).
enum class Dialect : std::uint8_t {
    TransportWs, ///< "graphql-transport-ws" (npm graphql-ws)
    Legacy,      ///< "graphql-ws" (npm subscriptions-transport-ws)
};

/// The Sec-WebSocket-Protocol value of a dialect.
std::string_view subprotocol_name(Dialect dialect);

/// Close codes (gqlws §3; graphql-ws src/common.ts CloseCode).
namespace close_code {
inline constexpr std::uint16_t bad_request = 4400;       ///< invalid or unknown message
inline constexpr std::uint16_t unauthorized = 4401;      ///< subscribe before connection_ack
inline constexpr std::uint16_t forbidden = 4403;         ///< token refused or expired
inline constexpr std::uint16_t init_timeout = 4408;      ///< no connection_init in time
inline constexpr std::uint16_t subscriber_exists = 4409; ///< duplicate active operation id
inline constexpr std::uint16_t too_many_inits = 4429;    ///< a second connection_init
inline constexpr std::uint16_t internal_error = 4500;    ///< walcast failed (never expected)
} // namespace close_code

/// Bounds on what one client may ask (README "GraphQL limits"); each is reported to the sender
/// as a GraphQL error naming the limit, never by closing other connections or stalling them.
struct GraphqlWsLimits {
    /// Document size, tokens, nesting depth, field selections incl. aliases (parser.hpp).
    graphql::ParseLimits parse;
    /// Validation error cap and the field-merging work bound (validation.hpp).
    graphql::ValidationOptions validation;
    /// Resolved fields after fragment expansion: the operation's cost (operation.hpp).
    graphql::OperationLimits operation;
    /// Operations active at once on one connection; one more gets an `error`.
    std::uint32_t max_operations = 100;
};

/// The transports' metrics, registered once.
struct GraphqlWsMetrics {
    explicit GraphqlWsMetrics(MetricsRegistry& registry);
    Gauge& operations;         ///< operations active on every connection
    Counter& operations_total; ///< subscribe / start messages accepted for execution
    Counter& operation_errors; ///< operations answered with `error` before or while running
    Counter& protocol_closes;  ///< connections closed with a 44xx code
};

/// What every session shares; outlives the sessions.
struct GraphqlWsContext {
    const auth::JwtVerifier& verifier;
    GraphqlWsMetrics& metrics;
    /// The schema new operations are validated against (it may be rebuilt while walcast runs);
    /// null while there is none. Any thread.
    /// Must not block (it runs on I/O threads).
    std::function<SchemaSnapshot()> schema;
    /// Executes operations that read tables; null = only introspection is served.
    OperationExecutor* executor = nullptr;
    /// connection_init must arrive within this (GRAPHQL_WS_INIT_TIMEOUT_MS; 0 = no limit).
    std::chrono::milliseconds init_timeout{3000};
    /// Legacy dialect: `ka` after connection_ack and then this often (GRAPHQL_WS_KEEPALIVE_MS;
    /// 0 = never).
    std::chrono::milliseconds keepalive{12000};
    GraphqlWsLimits limits;
};

/// The WebSocket upgrade for one dialect (register one per dialect on the same paths, the
/// current protocol first): remembers the upgrade's apikey parameter / x-api-key header as the
/// token for a connection_init that carries none, and accepts. ctx must outlive the handler and
/// its sessions.
UpgradeHandler upgrade_handler(GraphqlWsContext& ctx, Dialect dialect);

struct Anchor; // session.cpp: how posted functions find a live session

/// One connection. Strand only, except sweep_due().
class GraphqlWsSession final : public ProtocolSession {
public:
    /// upgrade_token: the token offered at the upgrade ("" = none).
    GraphqlWsSession(const std::shared_ptr<ConnectionIo>& io, GraphqlWsContext& ctx,
                     Dialect dialect, std::string upgrade_token);
    ~GraphqlWsSession() override;

    void on_text(std::string_view payload) override;
    /// Binary frames are not part of either protocol: 4400 (legacy: connection_error).
    void on_binary(std::string_view payload) override;
    /// Token expiry: the connection is closed with 4403 (legacy: connection_error first).
    void on_sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s) override;
    bool sweep_due(std::int64_t now_unix_s) const override;
    void on_closed() override;

private:
    class Operation;

    void handle_init(const boost::json::object& message);
    void handle_subscribe(const boost::json::object& message);
    void handle_complete(const boost::json::object& message);
    void start_operation(std::string id, const boost::json::object& payload);
    void run(Operation& op, const std::string& query,
             const std::optional<std::string>& operation_name,
             const boost::json::object& variables);
    void finish(const std::string& id, std::uint64_t generation);
    void fail(std::uint16_t code, std::string reason);
    void invalid(std::string reason);
    void send_keepalive();
    void send(std::string_view frame) { io_.send_text({frame}); }

    ConnectionIo& io_;
    std::weak_ptr<ConnectionIo> io_weak_;
    GraphqlWsContext& ctx_;
    const Dialect dialect_;
    std::string upgrade_token_;
    bool init_received_ = false;
    bool acknowledged_ = false;
    bool closed_ = false;
    std::shared_ptr<const auth::Claims> claims_;
    core::IdentityPtr identity_;
    std::map<std::string, std::unique_ptr<Operation>, std::less<>> operations_;
    std::uint64_t generation_ = 0;
    std::atomic<std::int64_t> exp_{0}; ///< the token's exp once acknowledged (0 = none); any thread
    std::shared_ptr<Anchor> anchor_;   ///< cleared in on_closed (strand)
};

} // namespace walcast::protocol::graphql_ws
