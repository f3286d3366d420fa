// Executing the introspection fields of an operation (GraphQL spec, October 2021, section 4):
// `__schema`, `__type(name:)` and `__typename` on the root, against the schema model, to the
// JSON that GraphiQL, Apollo and code generators read (the standard introspection query with
// descriptions, deprecation, default values, specifiedByURL and repeatable directives).
#pragma once

#include "graphql/error.hpp"
#include "graphql/operation.hpp"
#include "graphql/schema.hpp"

#include <boost/json/object.hpp>

namespace walcast::graphql {

struct IntrospectionResult {
    /// The introspection root fields by response key, in selection order; other root fields
    /// (the ones the SQL compiler answers) are absent.
    boost::json::object data;
    GraphQLErrors errors;
};

/// Whether a root field is answered by execute_introspection.
bool is_introspection_field(const ResolvedField& field);

/// Resolves the operation's introspection root fields. Pure function of the schema and the
/// prepared operation; thread-safe for a shared schema.
IntrospectionResult execute_introspection(const Schema& schema, const PreparedOperation& operation);

} // namespace walcast::graphql
