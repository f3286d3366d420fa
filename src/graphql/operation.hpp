// Preparing an operation for execution (GraphQL spec, October 2021, section 6): choosing the
// operation, coercing variables (6.1.2) and arguments (6.4.1), evaluating @skip/@include and
// flattening fragments into one resolved selection tree (CollectFields, 6.3.2) — the input of
// the SQL compiler and of the introspection executor.
#pragma once

#include "common/result.hpp"
#include "graphql/ast.hpp"
#include "graphql/error.hpp"
#include "graphql/schema.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace walcast::graphql {

struct ResolvedField;

/// The fields selected when the runtime object is of `object_type`.
struct TypedSelection {
    const NamedType* object_type = nullptr;
    std::vector<ResolvedField> fields; ///< in response order, one per response key
};

/// One response key of a selection: the merged field nodes that share it.
struct ResolvedField {
    std::string response_key;               ///< alias or name
    std::string name;                       ///< field name (`__typename` included)
    const FieldDef* def = nullptr;          ///< the field (meta-fields included)
    const NamedType* parent_type = nullptr; ///< the object type it is selected on
    boost::json::object arguments;          ///< coerced arguments, defaults applied, by name
    std::vector<SourceLocation> locations;  ///< of every merged field node
    /// For a composite field type: one entry per possible object type (the type itself for an
    /// object type, every possible type for an interface or union), in schema order. Empty for
    /// leaf fields.
    std::vector<TypedSelection> selections;

    /// The sub-selection for a runtime object type; nullptr when not composite.
    const TypedSelection* for_type(const NamedType& object_type) const;
};

struct PreparedOperation {
    OperationType operation = OperationType::Query;
    std::optional<std::string> name;
    const NamedType* root_type = nullptr;
    boost::json::object variables; ///< coerced variable values (defaults applied)
    TypedSelection root;           ///< the root selection on root_type
    std::size_t field_count = 0;   ///< resolved fields in the whole tree
};

struct OperationLimits {
    /// Resolved fields in the whole tree. Fragments can multiply fields (a fragment spread
    /// twice under each of k nested fields yields 2^k paths), so the tree is bounded here.
    std::size_t max_resolved_fields = 10'000;
};

/// Prepares an operation of a document that passed validate(). `operation_name` selects the
/// operation (required when the document has several). `variables` are the request's raw
/// variable values (JSON). Errors (graphql-js texts where they exist): no or unknown
/// operation, variable coercion failures (each with the variable definition's location),
/// argument coercion failures (with the field's location), the resolved-field limit.
Result<PreparedOperation, GraphQLErrors>
prepare_operation(const Schema& schema, const Document& document,
                  const std::optional<std::string>& operation_name,
                  const boost::json::object& variables, const OperationLimits& limits = {});

/// Coerces a JSON input value to an input type (spec 3.10 / graphql-js coerceInputValue).
/// Errors are messages such as `Expected type "Int" to be an object.` with a path prefix.
Result<boost::json::value, std::vector<std::string>>
coerce_input_value(const boost::json::value& value, const TypeExpr& type);

/// Coerces a literal to an input type with the variables' coerced values (graphql-js
/// valueFromAST); nullopt when the literal is invalid for the type.
std::optional<boost::json::value> coerce_literal(const Value& literal, const TypeExpr& type,
                                                 const boost::json::object& variables);

} // namespace walcast::graphql
