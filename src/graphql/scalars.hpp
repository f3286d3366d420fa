// walcast's custom scalars for Postgres types (issue 14 "Schema from the catalog"): BigInt
// (int8), BigFloat (numeric), UUID, DateTime (timestamp[tz]), Date, Time (time[tz]) and JSON
// (json/jsonb), with their input coercion and serialization.
#pragma once

#include "graphql/schema.hpp"

#include <boost/json/value.hpp>

#include <vector>

namespace walcast::graphql {

/// The scalars as schema types (description, specifiedByURL, coercion), to add to a
/// SchemaBuilder. Coerced input values are JSON strings in Postgres's text input form —
/// BigInt and BigFloat as decimal strings (no precision lost to doubles), UUID lower-case,
/// DateTime/Date/Time as written after a format check — except JSON, which is the JSON value.
/// Serialization expects the Postgres text form (or a JSON number) and yields strings; JSON
/// passes its value through.
std::vector<NamedType> walcast_scalars();

/// A constant literal as JSON (graphql-js valueFromASTUntyped): enums become strings,
/// Int/Float numbers; variables must have been substituted before (they become null).
boost::json::value literal_to_json(const Value& v);

} // namespace walcast::graphql
