// A live query request as JSON, the one shape every front end takes (realtime-js's
// `config.broadcast.live_query`, the query parameters of GET /live/v1):
//
//   { "name": "pending_orders" | "sql": "SELECT …",   exactly one (sql: LIVE_SQL_ROLES only)
//     "params": [1, "x", null],                      $1, $2, … (strings as they are, other
//                                                    JSON values as their JSON text, null = NULL)
//     "throttle_ms": 0,                              optional, 0..3600000
//     "key": ["id"] | "id",                          optional: the diffs' key columns
//     "full": true,                                  optional: whole results, never diffs
//     "refresh": { "items": "order_id=eq.:result/id" } }   optional: table → condition
//
// docs/livequery.md describes each key.
#pragma once

#include "common/result.hpp"
#include "livequery/engine.hpp"

#include <boost/json/value.hpp>

namespace walcast::livequery {

/// Parses a request (identity not set). Errors (Errc::InvalidInput) start with "live_query: "
/// and name the key and the expected shape. Pure.
Result<Request> parse_request(const boost::json::value& live_query);

} // namespace walcast::livequery
