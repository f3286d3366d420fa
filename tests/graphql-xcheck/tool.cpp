// walcast's GraphQL layer as a command for the cross-check against graphql-js
// (tests/graphql-xcheck/*.test.mjs). Reads one JSON request on stdin, writes one JSON answer:
//   validate:   {"schema": SDL, "documents": [text…]} →
//               [{"syntax_error": error|null, "errors": [error…]}…]
//   execute:    {"schema": SDL, "query": text, "variables": {…}, "operationName": name|null} →
//               {"data": {…}} or {"errors": […]} (introspection fields only)
#include "graphql/introspection.hpp"
#include "graphql/operation.hpp"
#include "graphql/parser.hpp"
#include "graphql/sdl.hpp"
#include "graphql/validation.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

namespace json = boost::json;
using namespace walcast::graphql;

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    json::value request = json::parse(input, ec);
    if (ec || !request.is_object()) {
        std::cerr << "request is not a JSON object\n";
        return 2;
    }
    const auto& req = request.as_object();
    auto schema = build_schema(std::string(req.at("schema").as_string()));
    if (!schema) {
        std::cerr << schema.error().message << "\n";
        return 3;
    }
    if (command == "validate") {
        json::array out;
        for (const auto& doc_text : req.at("documents").as_array()) {
            json::object entry;
            auto doc = parse(std::string(doc_text.as_string()));
            if (!doc) {
                entry["syntax_error"] = to_json(doc.error());
                entry["errors"] = json::array{};
            } else {
                entry["syntax_error"] = nullptr;
                entry["errors"] = to_json(validate(**schema, *doc));
            }
            out.push_back(std::move(entry));
        }
        std::cout << json::serialize(out) << "\n";
        return 0;
    }
    if (command == "execute") {
        auto doc = parse(std::string(req.at("query").as_string()));
        if (!doc) {
            std::cout << json::serialize(
                             json::object{{"errors", json::array{to_json(doc.error())}}})
                      << "\n";
            return 0;
        }
        if (auto errors = validate(**schema, *doc); !errors.empty()) {
            std::cout << json::serialize(json::object{{"errors", to_json(errors)}}) << "\n";
            return 0;
        }
        json::object variables;
        if (auto* v = req.if_contains("variables"); v && v->is_object()) variables = v->as_object();
        std::optional<std::string> operation_name;
        if (auto* n = req.if_contains("operationName"); n && n->is_string()) {
            operation_name = std::string(n->as_string());
        }
        auto op = prepare_operation(**schema, *doc, operation_name, variables);
        if (!op) {
            std::cout << json::serialize(json::object{{"errors", to_json(op.error())}}) << "\n";
            return 0;
        }
        auto result = execute_introspection(**schema, *op);
        json::object response{{"data", std::move(result.data)}};
        if (!result.errors.empty()) response["errors"] = to_json(result.errors);
        std::cout << json::serialize(response) << "\n";
        return 0;
    }
    std::cerr << "usage: graphql_xcheck_tool validate|execute < request.json\n";
    return 2;
}
