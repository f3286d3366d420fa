// Validation of executable documents against a schema: every rule of the GraphQL spec,
// October 2021, section 5 (plus graphql-js's MaxIntrospectionDepthRule), with graphql-js 16's
// message texts and locations so that the reference implementation can cross-check it.
#pragma once

#include "graphql/ast.hpp"
#include "graphql/error.hpp"
#include "graphql/schema.hpp"

#include <cstdint>

namespace walcast::graphql {

struct ValidationOptions {
    /// Stop after this many errors, adding "Too many validation errors, error limit reached.
    /// Validation aborted." (graphql-js's default).
    std::uint32_t max_errors = 100;
    /// Bound on field-pair comparisons of "Field Selection Merging" (spec 5.3.2), whose naive
    /// cost is quadratic in repeated fields and grows with fragments; past it validation stops
    /// with an error naming the limit.
    std::uint64_t max_merge_comparisons = 200'000;
};

/// Validates `document` against `schema`; an empty list means valid. Errors carry `message`
/// and `locations`. Runs in time bounded by the document's size (parse limits) and the
/// options; no recursion deeper than the document's nesting or its number of fragments.
/// Thread-safe for a shared schema.
GraphQLErrors validate(const Schema& schema, const Document& document,
                       const ValidationOptions& options = {});

} // namespace walcast::graphql
