#include "graphql/request.hpp"

#include "graphql/introspection.hpp"

#include <boost/json/serialize.hpp>

#include <utility>

namespace walcast::graphql {

GraphQLErrors one_error(std::string message) {
    return {GraphQLError{std::move(message), {}, {}}};
}

std::string request_errors_json(const GraphQLErrors& errors) {
    return boost::json::serialize(boost::json::object{{"errors", to_json(errors)}});
}

Result<PreparedOperation, GraphQLErrors>
prepare_request(const Schema* schema, std::string_view query,
                const std::optional<std::string>& operation_name,
                const boost::json::object& variables, const RequestLimits& limits) {
    // Parsing needs no schema: the size, depth and alias limits apply first.
    auto doc = parse(query, limits.parse);
    if (!doc) return GraphQLErrors{doc.error()};
    if (!schema)
        return one_error("The GraphQL schema is not available: walcast builds it from the "
                         "database catalog (GRAPHQL_SCHEMAS); see the server log for why it has "
                         "none");
    auto errors = validate(*schema, *doc, limits.validation);
    if (!errors.empty()) return errors;
    return prepare_operation(*schema, *doc, operation_name, variables, limits.operation);
}

bool introspection_only(const PreparedOperation& operation) {
    if (operation.operation != OperationType::Query) return false;
    for (const auto& f : operation.root.fields)
        if (!is_introspection_field(f)) return false;
    return true;
}

std::string introspection_response(const Schema& schema, const PreparedOperation& operation) {
    auto result = execute_introspection(schema, operation);
    boost::json::object out{{"data", std::move(result.data)}};
    if (!result.errors.empty()) out["errors"] = to_json(result.errors);
    return boost::json::serialize(out);
}

} // namespace walcast::graphql
