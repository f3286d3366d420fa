// GraphiQL on GET /graphql: the page (web/src/graphiql.*, bundled from the graphiql npm package
// at build time and embedded into the binary like the inspector) for a browser's request, the
// rest of /graphql for everything else (POST /graphql and GET /graphql?query=… are the HTTP
// endpoint's).
#pragma once

#include "protocol/http_route.hpp"

#include <string>

namespace walcast::protocol::graphql_ws {

/// Whether a request is a browser asking for the page: GET or HEAD, an Accept header naming
/// text/html, and no `query` parameter (a GET with one is a GraphQL request).
bool wants_graphiql(const HttpRequest& request);

/// The handler for /graphql: html (graphiql.html as built; "" when this build has no web pages)
/// for wants_graphiql() requests, else `otherwise`; with no `otherwise`, 404 JSON naming the
/// WebSocket endpoint.
HttpHandler graphiql_handler(std::string html, HttpHandler otherwise = {});

} // namespace walcast::protocol::graphql_ws
