// Printing GraphQL values and type references the way graphql-js's `print` does, for error
// messages, introspection default values and overlapping-field comparison; and `inspect` of
// JSON values as graphql-js renders JavaScript values in coercion messages.
#pragma once

#include "graphql/ast.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace walcast::graphql {

/// `"text"` with graphql-js's escapes (control characters, `"`, `\`, U+007F–U+009F).
std::string print_string(std::string_view s);

/// A block string literal, formatted as graphql-js's printBlockString.
std::string print_block_string(std::string_view s);

/// A value literal: `[1, 2]`, `{a: "x", b: ENUM}`, `$var`, `"""block"""`.
std::string print_value(const Value& v);

/// A value literal with object fields sorted by name at every level (for comparing arguments
/// regardless of field order).
std::string print_value_sorted(const Value& v);

/// A type reference: `[Int!]!`.
std::string print_type(const TypeRef& t);

/// A JSON value as graphql-js's `inspect` renders the same JavaScript value: strings quoted,
/// objects as `{ a: 1 }`, arrays as `[1, 2]`, nesting beyond 2 levels as `[Object]`/`[Array]`.
std::string inspect(const boost::json::value& v);

/// A number as JavaScript's String(number) prints it (`1`, `1.5`, `1e+21`).
std::string js_number(double d);

} // namespace walcast::graphql
