// One GraphQL request from a transport (the WebSocket's subscribe, POST/GET /graphql) up to
// execution: parse with the size/depth/alias limits, validate against the schema, prepare
// (choose the operation, coerce variables, flatten fragments); introspection-only queries are
// answered from the schema model. Shared by every transport so they refuse and answer alike.
#pragma once

#include "common/result.hpp"
#include "graphql/error.hpp"
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/schema.hpp"
#include "graphql/validation.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace walcast::graphql {

/// What one client may ask (README "GraphQL limits").
struct RequestLimits {
    ParseLimits parse;            ///< document size, tokens, nesting depth, selections
    ValidationOptions validation; ///< error cap, field-merging work
    OperationLimits operation;    ///< resolved fields after fragment expansion (the cost)
};

/// The errors of a single message (no location).
GraphQLErrors one_error(std::string message);

/// `{"errors": [...]}` (spec 7.1.2: a request error, no `data`).
std::string request_errors_json(const GraphQLErrors& errors);

/// Parses, validates and prepares `query`. schema null: "The GraphQL schema is not
/// available…" (after parsing, which needs no schema). Errors are request errors (spec 7.1.2).
Result<PreparedOperation, GraphQLErrors>
prepare_request(const Schema* schema, std::string_view query,
                const std::optional<std::string>& operation_name,
                const boost::json::object& variables, const RequestLimits& limits);

/// A query whose root fields are all introspection fields (`__schema`, `__type`,
/// `__typename`): answered by introspection_response without reading tables.
bool introspection_only(const PreparedOperation& operation);

/// The response of an introspection-only query: `{"data": …, "errors": […]}`.
std::string introspection_response(const Schema& schema, const PreparedOperation& operation);

} // namespace walcast::graphql
