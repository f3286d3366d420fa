// The seam between the GraphQL WebSocket transports and whatever answers an operation's data
// fields: the session parses, validates and prepares every operation itself and answers
// introspection-only queries from the schema model; anything that reads tables (a query with a
// table field, every subscription) goes to an OperationExecutor — the catalog schema's SQL
// compiler on the live-query engine in `walcast serve`, a fake in unit tests.
#pragma once

#include "common/delivery_round.hpp"
#include "core/identity.hpp"
#include "graphql/error.hpp"
#include "graphql/operation.hpp"
#include "graphql/schema.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::protocol::graphql_ws {

/// The schema operations are validated against, and what the executor needs of the same
/// snapshot (the catalog schema's field bindings) — both from one look, so that an operation
/// is compiled against the schema it was validated with.
struct SchemaSnapshot {
    std::shared_ptr<const graphql::Schema> schema; ///< null: no schema (yet)
    std::shared_ptr<const void> source;            ///< the executor's own view of it, or null
};

/// One operation to execute: the schema snapshot it was validated against, the prepared
/// operation (variables coerced, fragments flattened), the request as sent (for executors that
/// run the whole pipeline again) and who runs it (the connection's token: role and claims, for
/// `SET LOCAL ROLE` and request.jwt.claims).
struct ExecutionRequest {
    SchemaSnapshot schema;
    std::shared_ptr<const graphql::PreparedOperation> operation;
    core::IdentityPtr identity;
    std::string query;
    boost::json::object variables;
    std::optional<std::string> operation_name;
};

/// Where an operation's results go. Implemented by the session; callable from any thread, in
/// order per operation (the executor must not call two of these for one operation at once).
/// Calls after the operation was cancelled, completed or errored are ignored.
class OperationSink {
public:
    virtual ~OperationSink() = default;
    /// One execution result, the JSON text of an object `{"data": …, "errors": [...]}` (spec
    /// 7.1; `errors` only when there are field errors). round: batch the frame into the
    /// caller's delivery round (engine workers) instead of writing at once.
    virtual void next(std::string_view result_json, DeliveryRound* round = nullptr) = 0;
    /// Ends the operation with request errors (graphql-transport-ws `error` message, which no
    /// `complete` follows): the query cannot run, or no longer validates against the schema.
    virtual void error(const graphql::GraphQLErrors& errors) = 0;
    /// Ends the operation normally (a query after its one `next`).
    virtual void complete() = 0;
};

/// A running operation. Destroying it (or cancel()) stops it; no sink call starts after
/// cancel() returned.
class OperationHandle {
public:
    virtual ~OperationHandle() = default;
    virtual void cancel() = 0;
};

/// Executes the operations that read data. Any thread; must not block (answers go to the sink,
/// possibly before execute() returns).
class OperationExecutor {
public:
    virtual ~OperationExecutor() = default;
    /// Queries: one next() then complete(). Subscriptions (live queries): the current result
    /// as the first next(), then a next() each time a change touches what the operation reads
    /// and the result differs, until cancelled; error() when it can no longer run. Returns the
    /// handle the session keeps while the operation is active (null: nothing to cancel).
    virtual std::unique_ptr<OperationHandle> execute(ExecutionRequest request,
                                                     std::shared_ptr<OperationSink> sink) = 0;
};

} // namespace walcast::protocol::graphql_ws
