#include "protocol/supabase/binding.hpp"

#include "auth/claims.hpp"
#include "protocol/supabase/elixir_inspect.hpp"
#include "protocol/supabase/filter_grammar.hpp"

#include <utility>

namespace walcast::protocol::supabase {

using core::BindingSpec;
using core::EventFilter;

namespace {

/// phash2's range (spec §3.2): ids are 27-bit, like the reference's.
constexpr std::uint64_t binding_id_mask = (1u << 27) - 1;

constexpr std::string_view no_params_message =
    "No subscription params provided. Please provide at least a `schema` or `table` to "
    "subscribe to: ";

EventFilter event_filter(const boost::json::object& params) {
    auto it = params.find("event");
    if (it == params.end() || !it->value().is_string()) return EventFilter::All;
    std::string_view e = it->value().get_string();
    if (e == "*") return EventFilter::All;
    // String.upcase/1 on the ASCII letters that matter; any other spelling is "*".
    std::string up(e);
    for (auto& c : up)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - ('a' - 'A'));
    if (up == "INSERT") return EventFilter::Insert;
    if (up == "UPDATE") return EventFilter::Update;
    if (up == "DELETE") return EventFilter::Delete;
    return EventFilter::All;
}

} // namespace

std::int64_t binding_id(const boost::json::object& binding) {
    // FNV-1a 64 over the canonical JSON (keys sorted), folded to 27 bits.
    const std::string text = auth::canonical_json(binding);
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    std::uint64_t id = (h ^ (h >> 27) ^ (h >> 54)) & binding_id_mask;
    return static_cast<std::int64_t>(id == 0 ? 1 : id);
}

Result<BindingSpec> parse_binding(const boost::json::object& params) {
    BindingSpec spec;
    spec.event = event_filter(params);

    if (auto it = params.find("select"); it != params.end()) {
        const auto& v = it->value();
        if (v.is_string())
            return make_error(Errc::InvalidInput,
                              "Error parsing `select` params: expected a list of column name "
                              "strings, e.g. select: [\"col1\", \"col2\"]");
        if (v.is_array()) {
            std::vector<std::string> cols;
            for (const auto& c : v.get_array())
                if (c.is_string()) cols.emplace_back(c.get_string());
            if (!cols.empty()) spec.select = std::move(cols);
        }
    }

    auto string_at = [&](std::string_view key) -> std::optional<std::string> {
        auto it = params.find(key);
        if (it == params.end() || !it->value().is_string()) return std::nullopt;
        return std::string(it->value().get_string());
    };
    auto has = [&](std::string_view key) { return params.find(key) != params.end(); };
    auto schema = string_at("schema");
    auto table = string_at("table");
    auto filter = string_at("filter");

    if (schema && table && filter) {
        auto f = parse_filter(*filter);
        if (!f) return std::move(f).error();
        spec.schema = std::move(*schema);
        spec.table = std::move(*table);
        spec.filters = std::move(f).value();
    } else if (schema && table && !has("filter")) {
        spec.schema = std::move(*schema);
        spec.table = std::move(*table);
    } else if (schema && !has("table") && !has("filter")) {
        spec.schema = std::move(*schema);
        spec.table = "*";
    } else if (table && !has("schema") && !has("filter")) {
        spec.schema = "public";
        spec.table = std::move(*table);
    } else if (has("user_token") || has("auth_token")) {
        return make_error(Errc::InvalidInput, std::string(no_params_message) + "<redacted>");
    } else {
        return make_error(Errc::InvalidInput,
                          std::string(no_params_message) +
                              elixir::inspect(elixir::from_json(boost::json::value(params))));
    }

    if (spec.select && (spec.schema == "*" || spec.table == "*"))
        return make_error(Errc::InvalidInput,
                          "Column selection is not supported for wildcard subscriptions. Provide "
                          "an explicit schema and table name.");
    return spec;
}

} // namespace walcast::protocol::supabase
