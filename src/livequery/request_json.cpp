#include "livequery/request_json.hpp"

#include <boost/json/serialize.hpp>

namespace walcast::livequery {

namespace {

Error bad(std::string what) {
    return make_error(Errc::InvalidInput, "live_query: " + what);
}

} // namespace

Result<Request> parse_request(const boost::json::value& v) {
    if (!v.is_object())
        return bad("must be an object, e.g. {\"name\": \"my_query\", \"params\": [1]}");
    const auto& o = v.as_object();
    Request req;
    for (const auto& [k, val] : o) {
        if (k == "name") {
            if (!val.is_string() || val.as_string().empty())
                return bad("name must be a non-empty string (a query of LIVE_QUERIES_DIR)");
            req.name = std::string(val.as_string());
        } else if (k == "sql") {
            if (!val.is_string() || val.as_string().empty())
                return bad("sql must be a non-empty string");
            req.sql = std::string(val.as_string());
        } else if (k == "params") {
            if (!val.is_array()) return bad("params must be an array ($1, $2, …)");
            for (const auto& p : val.as_array()) {
                if (p.is_null())
                    req.params.emplace_back(std::nullopt);
                else if (p.is_string())
                    req.params.emplace_back(std::string(p.as_string()));
                else
                    req.params.emplace_back(boost::json::serialize(p));
            }
        } else if (k == "throttle_ms") {
            if (!val.is_int64() && !val.is_uint64())
                return bad("throttle_ms must be a whole number of milliseconds (0 or more)");
            const auto ms =
                val.is_int64() ? val.as_int64() : static_cast<std::int64_t>(val.as_uint64());
            if (ms < 0 || ms > 3'600'000) return bad("throttle_ms must be between 0 and 3600000");
            req.throttle_ms = static_cast<std::uint32_t>(ms);
        } else if (k == "key") {
            if (val.is_string()) {
                req.key.emplace_back(val.as_string());
            } else if (val.is_array()) {
                for (const auto& c : val.as_array()) {
                    if (!c.is_string() || c.as_string().empty())
                        return bad("key must be a column name or an array of column names");
                    req.key.emplace_back(c.as_string());
                }
            } else {
                return bad("key must be a column name or an array of column names");
            }
        } else if (k == "refresh") {
            if (!val.is_object())
                return bad("refresh must be an object of table → condition, e.g. {\"items\": "
                           "\"order_id=eq.:result/id\"}");
            for (const auto& [table, filter] : val.as_object()) {
                if (table.empty() || !filter.is_string() || filter.as_string().empty())
                    return bad("refresh maps a table name to a condition string, e.g. "
                               "{\"orders\": \"status=eq.pending\"}");
                req.refresh.push_back({std::string(table), std::string(filter.as_string())});
            }
        } else if (k == "full") {
            if (!val.is_bool()) return bad("full must be true or false");
            req.full = val.as_bool();
        } else {
            return bad("unknown key '" + std::string(k) +
                       "' (known: name, sql, params, throttle_ms, key, full, refresh)");
        }
    }
    if (req.name.empty() == req.sql.empty())
        return bad("give exactly one of name (a named query) and sql");
    return req;
}

} // namespace walcast::livequery
