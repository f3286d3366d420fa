// The GraphQL → SQL compiler (issue 14 "Execution"): a prepared operation (validated against
// the catalog schema, variables coerced, fragments flattened) becomes ONE SQL statement per
// root field that returns that field's response JSON, built in Postgres with json_build_object
// and json_agg. The shape, and why relations are correlated sub-selects, is in docs/graphql.md
// ("How a query runs"):
//
//   SELECT (SELECT coalesce(json_agg(json_build_object('id', t0."id", …) ORDER BY …), '[]')
//             FROM (SELECT s0."id", … FROM "public"."orders" AS s0
//                    WHERE s0."status" = $1 ORDER BY … LIMIT $2) AS t0) AS data
//
// Every argument value (literal or variable) is a text bind parameter ($n), never SQL text;
// only names from the schema's bindings (quoted) and response keys (GraphQL names, quoted as
// literals) are written into the statement.
#pragma once

#include "common/result.hpp"
#include "graphql/catalog/generate_schema.hpp"
#include "graphql/error.hpp"
#include "graphql/operation.hpp"

#include <optional>
#include <string>
#include <vector>

namespace walcast::graphql::sql {

/// A refresh condition (livequery::RefreshRule's shape, kept apart so that the compiler does
/// not depend on the engine): `table` is `schema.name`, `filter` a Postgres Changes filter.
struct RefreshCondition {
    std::string table;
    std::string filter;
    bool operator==(const RefreshCondition&) const = default;
};

/// One root field's statement: one row, one column (`data`, type json) holding the field's
/// value — a JSON array for a list field, an object or null for a by-primary-key field.
struct CompiledField {
    std::string response_key;
    std::string sql;
    std::vector<std::optional<std::string>> params; ///< $1, $2, … as text (nullopt = NULL)
    bool non_null = false; ///< the field's type is non-null (a null value nulls `data`)
    /// Conditions that every row the root level reads from its table satisfies, as refresh
    /// conditions of the live-query engine (docs/livequery.md "Refresh conditions"):
    /// `column=eq.$n` for each equality on an integer, text or uuid column among the root
    /// filter's top-level terms (and those of its `and` lists), or of a by-primary-key field's
    /// key. A change to that table whose old and new rows both fail one cannot alter the
    /// result, so a subscription need not run again for it. Empty when the root relation is
    /// not a plain table or is read again deeper in the operation (its nested rows obey no
    /// such condition).
    std::vector<RefreshCondition> refresh;
};

/// The statements of an operation's root fields that read tables, in response order.
/// Introspection root fields (`__typename`, `__schema`, `__type`) are not compiled; the
/// caller answers them with execute_introspection and merges by response key.
struct CompiledOperation {
    std::vector<CompiledField> fields;
};

/// Postgres takes at most 65,535 bind parameters per statement.
inline constexpr std::size_t max_parameters = 65'535;

/// Compiles the operation's table fields. `schema` must be the snapshot the operation was
/// prepared against. Errors (with the field's location and path): a field the bindings do not
/// know (a generator/compiler mismatch), more than max_parameters values in one root field.
Result<CompiledOperation, GraphQLErrors> compile_operation(const catalog::GeneratedSchema& schema,
                                                           const PreparedOperation& operation);

} // namespace walcast::graphql::sql
