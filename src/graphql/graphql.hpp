// walcast's GraphQL language layer (GraphQL spec, October 2021): include this for the whole
// API. No C++ GraphQL library is packaged in Debian, so this is walcast's own, cross-checked
// against graphql-js 16 by tests/graphql-xcheck.
//
// Use, in the order of a request:
//   auto doc = parse(text);                                // parser.hpp: Document or error
//   auto errors = validate(*schema, *doc);                 // validation.hpp: spec section 5
//   auto op = prepare_operation(*schema, *doc, name, vars); // operation.hpp: coerced tree
//   auto intro = execute_introspection(*schema, *op);      // introspection.hpp
// Schemas come from SchemaBuilder (schema.hpp; the catalog generator) or build_schema(sdl)
// (sdl.hpp), with walcast_scalars() (scalars.hpp) for Postgres types. A Schema is immutable and
// may be shared by every thread; the functions above keep no state between calls.
//
// Limits against hostile input (defaults; every one is reported as a GraphQL error that names
// it, never a crash or unbounded work):
//   ParseLimits::max_document_bytes    256 KiB   document size
//   ParseLimits::max_tokens            20,000    lexical tokens
//   ParseLimits::max_depth             64        nesting of selection sets, list/object values
//                                                and list types; bounds the parser's recursion
//   ParseLimits::max_fields            2,000     field selections, aliases included
//   ValidationOptions::max_errors      100       as graphql-js
//   ValidationOptions::max_merge_comparisons 200,000  "Field Selection Merging" (5.3.2) pairs
//   MaxIntrospectionDepth              3         nested fields/interfaces/possibleTypes/inputFields
//   OperationLimits::max_resolved_fields 10,000  fields after fragment expansion
// Other recursion (validation, preparation, introspection) is bounded by max_depth or by the
// number of fragments in the document.
//
// Errors are values: Result<…, GraphQLError> / GraphQLErrors with `message`, `locations` and,
// for execution, `path` (error.hpp), with graphql-js's message texts wherever it has one.
#pragma once

#include "graphql/ast.hpp"
#include "graphql/error.hpp"
#include "graphql/introspection.hpp"
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/printer.hpp"
#include "graphql/scalars.hpp"
#include "graphql/schema.hpp"
#include "graphql/sdl.hpp"
#include "graphql/validation.hpp"
