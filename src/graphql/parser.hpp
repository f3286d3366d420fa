// The GraphQL parser (GraphQL spec, October 2021, sections 2 and 3): a document — operations,
// fragments and type-system definitions/extensions (SDL) — to the tree of ast.hpp, with limits
// against hostile input. Recursive descent whose depth is bounded by ParseLimits::max_depth,
// so no input can recurse the C++ stack deeper than that.
#pragma once

#include "common/result.hpp"
#include "graphql/ast.hpp"
#include "graphql/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace walcast::graphql {

/// Limits checked while parsing; exceeding one stops the parse with a GraphQL error naming the
/// limit (the documented defaults suit any hand-written or generated operation; the standard
/// introspection query needs ~3.4 KB, ~400 tokens, depth 11, ~100 fields).
struct ParseLimits {
    std::size_t max_document_bytes = 256 * 1024; ///< source size in bytes
    std::uint32_t max_tokens = 20'000;           ///< lexical tokens (comments not counted)
    std::uint32_t max_depth = 64;     ///< nesting of selection sets, list/object values, list types
    std::uint32_t max_fields = 2'000; ///< field selections, aliases included
};

/// Parses a document. Errors are GraphQL errors with one location: the reference's syntax
/// error texts ("Syntax Error: Expected Name, found <EOF>.") or a limit's message.
/// Thread-safe (no shared state).
Result<Document, GraphQLError> parse(std::string_view source, const ParseLimits& limits = {});

/// Parses a lone constant value literal (`{a: [1, 2]}`), e.g. an introspection defaultValue.
Result<Value, GraphQLError> parse_const_value(std::string_view source,
                                              const ParseLimits& limits = {});

/// Parses a lone type reference (`[Int!]!`).
Result<TypeRef, GraphQLError> parse_type_ref(std::string_view source,
                                             const ParseLimits& limits = {});

} // namespace walcast::graphql
