#include "graphql/error.hpp"

#include <boost/json.hpp>

namespace walcast::graphql {

std::string_view operation_type_name(OperationType op) {
    switch (op) {
    case OperationType::Query:
        return "query";
    case OperationType::Mutation:
        return "mutation";
    case OperationType::Subscription:
        return "subscription";
    }
    return "query";
}

boost::json::object to_json(const GraphQLError& error) {
    boost::json::object out;
    out["message"] = error.message;
    if (!error.locations.empty()) {
        boost::json::array locations;
        for (const auto& loc : error.locations) {
            locations.push_back(boost::json::object{{"line", loc.line}, {"column", loc.column}});
        }
        out["locations"] = std::move(locations);
    }
    if (!error.path.empty()) {
        boost::json::array path;
        for (const auto& seg : error.path) {
            if (const auto* key = std::get_if<std::string>(&seg)) {
                path.emplace_back(*key);
            } else {
                path.emplace_back(std::get<std::int64_t>(seg));
            }
        }
        out["path"] = std::move(path);
    }
    return out;
}

boost::json::array to_json(const GraphQLErrors& errors) {
    boost::json::array out;
    for (const auto& e : errors)
        out.push_back(to_json(e));
    return out;
}

} // namespace walcast::graphql
