#include "protocol/graphql_ws/graphiql.hpp"

#include <memory>

namespace walcast::protocol::graphql_ws {

bool wants_graphiql(const HttpRequest& request) {
    if (request.method != "GET" && request.method != "HEAD") return false;
    if (request.query && request.query("query")) return false;
    auto accept = request.header ? request.header("accept") : std::nullopt;
    return accept && accept->find("text/html") != std::string::npos;
}

HttpHandler graphiql_handler(std::string html, HttpHandler otherwise) {
    auto page = std::make_shared<const std::string>(std::move(html));
    return [page, otherwise = std::move(otherwise)](const HttpRequest& request,
                                                    std::function<void(HttpResponse)> respond) {
        if (wants_graphiql(request)) {
            HttpResponse r;
            r.content_type = "text/html; charset=utf-8";
            r.headers.emplace_back("Cache-Control", "no-cache");
            if (page->empty()) {
                r.status = 404;
                r.body = "<!doctype html><meta charset=\"utf-8\"><title>walcast</title><p>This "
                         "walcast was built without its web pages (WALCAST_INSPECTOR=OFF), so "
                         "GraphiQL is not here. The GraphQL WebSocket is <code>/graphql</code> "
                         "(graphql-transport-ws).</p>\n";
            } else {
                r.body = *page;
            }
            return respond(std::move(r));
        }
        if (otherwise) return otherwise(request, std::move(respond));
        HttpResponse r;
        r.status = 404;
        r.content_type = "application/json";
        r.body =
            R"({"errors":[{"message":"GraphQL over HTTP is not served by this walcast; use the WebSocket on /graphql (graphql-transport-ws or graphql-ws), or open /graphql in a browser for GraphiQL"}]})";
        respond(std::move(r));
    };
}

} // namespace walcast::protocol::graphql_ws
