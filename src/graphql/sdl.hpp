// Building a Schema from SDL (GraphQL spec, October 2021, section 3 type-system definitions):
// test schemas, the introspection types, and anything written as text.
#pragma once

#include "common/result.hpp"
#include "graphql/parser.hpp"
#include "graphql/schema.hpp"

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace walcast::graphql {

/// Limits for SDL, which is trusted configuration rather than client input: large schemas.
inline ParseLimits sdl_parse_limits() {
    ParseLimits l;
    l.max_document_bytes = 64u << 20;
    l.max_tokens = 50'000'000;
    l.max_depth = 64;
    l.max_fields = 1'000'000;
    return l;
}

/// Adds the type-system definitions and extensions of `sdl` to the builder: types with their
/// fields, arguments, defaults and descriptions; `@deprecated(reason:)` and
/// `@specifiedBy(url:)`; directive definitions; the schema definition's root types and
/// description. Other applied directives are accepted and not kept. Executable definitions,
/// `@oneOf` and syntax errors are Errc::InvalidInput errors with line and column.
/// `internal` allows names starting with "__" (the introspection types).
Status add_sdl_definitions(SchemaBuilder& builder, std::string_view sdl, bool internal = false);

/// Parses and builds a schema; `scalars` gives coercion to custom scalars by name (others
/// accept any value, as graphql-js's buildSchema does).
Result<std::shared_ptr<const Schema>>
build_schema(std::string_view sdl,
             const std::vector<std::pair<std::string, ScalarCoercion>>& scalars = {});

} // namespace walcast::graphql
