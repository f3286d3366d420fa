// GraphQL error objects (GraphQL spec, October 2021, section 7.1.2 "Errors"): a message, the
// document locations it refers to and, for execution errors, the response path. Shaped like
// graphql-js's GraphQLError so messages can be compared with the reference implementation.
#pragma once

#include "graphql/ast.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace walcast::graphql {

/// One step of a response path: a response key or a list index.
using PathSegment = std::variant<std::string, std::int64_t>;

struct GraphQLError {
    std::string message;
    std::vector<SourceLocation> locations;
    std::vector<PathSegment> path;
};

using GraphQLErrors = std::vector<GraphQLError>;

/// The error as the spec's JSON object: `{"message", "locations": [{"line","column"}],
/// "path": [...]}`; `locations` and `path` are omitted when empty.
boost::json::object to_json(const GraphQLError& error);

/// A JSON array of to_json() objects.
boost::json::array to_json(const GraphQLErrors& errors);

} // namespace walcast::graphql
