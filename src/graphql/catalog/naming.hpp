// How catalog names become GraphQL names (docs/graphql.md "Names"): words are the runs of ASCII
// letters and digits between any other characters (`updated_at`, `Order Items`); camelCase for
// fields, PascalCase for types, a plain English singular for by-primary-key fields.
#pragma once

#include <string>
#include <string_view>

namespace walcast::graphql::catalog {

/// `updated_at` → `updatedAt`, `Users` → `users`; "" when the name has no ASCII letter or digit.
/// A leading digit gets a `_` prefix (GraphQL names cannot start with one).
std::string camel_case(std::string_view name);

/// `sales_dashboard` → `SalesDashboard`; "" and the leading digit as camel_case.
std::string pascal_case(std::string_view name);

/// The singular of the name's last word: `orders` → `order`, `categories` → `category`,
/// `addresses` → `address`, `boxes` → `box`; words ending in `ss`, `us` or `is`, or not in `s`,
/// stay as they are (`status`, `analysis`, `data`).
std::string singular(std::string_view name);

/// Whether `name` is a GraphQL name (spec 2.1.9: /[_A-Za-z][_0-9A-Za-z]*/).
bool is_graphql_name(std::string_view name);

} // namespace walcast::graphql::catalog
