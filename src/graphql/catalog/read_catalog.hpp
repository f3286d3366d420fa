// Reading the catalog facts the GraphQL schema is generated from (catalog_model.hpp) with one
// statement, and the fingerprint that tells whether they changed (DDL while walcast runs).
#pragma once

#include "common/result.hpp"
#include "graphql/catalog/catalog_model.hpp"
#include "pg/connection.hpp"

#include <string>
#include <vector>

namespace walcast::graphql::catalog {

/// The roles whose privileges decide what is exposed (the roles walcast's JWTs name).
inline const std::vector<std::string>& default_api_roles() {
    static const std::vector<std::string> roles{"anon", "authenticated", "service_role"};
    return roles;
}

/// Reads the relations of `schemas` (tables, partitioned tables — not their partitions —,
/// views, materialized views, foreign tables) with columns, primary keys, foreign keys and
/// readability for `roles` (schema USAGE plus SELECT on the table or a column; when none of the
/// roles exists, the connected user's), and every type their columns use. One statement (the
/// PostgreSQL docs, "System Catalogs": pg_class, pg_attribute, pg_index, pg_constraint, pg_type,
/// pg_enum), run with JIT off for the statement (its estimated cost would otherwise trigger
/// seconds of JIT compilation). fingerprint_only: only `fingerprint` is filled.
/// Errors: Unavailable when the connection broke, InvalidInput for any other server error,
/// Internal when the answer does not have the expected shape.
Result<CatalogSnapshot> read_catalog(const pg::Connection& conn,
                                     const std::vector<std::string>& schemas,
                                     const std::vector<std::string>& roles = default_api_roles(),
                                     bool fingerprint_only = false);

/// Parses the JSON document the catalog statement builds (exposed for tests).
Result<CatalogSnapshot> parse_catalog_document(std::string_view json,
                                               std::vector<std::string> schemas);

} // namespace walcast::graphql::catalog
