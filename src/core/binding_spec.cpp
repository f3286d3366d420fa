#include "core/binding_spec.hpp"

#include "core/elixir_inspect.hpp"

#include <utility>

namespace walcast::core {

namespace {

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

elixir::Term filters_term(const std::vector<FilterCondition>& filters) {
    std::vector<elixir::Term> items;
    for (const auto& f : filters)
        items.push_back(elixir::Term::tuple(
            {elixir::Term::string(f.column), elixir::Term::string(to_string(f.op)),
             elixir::Term::string(f.value), elixir::Term::boolean(f.negate)}));
    return elixir::Term::list(std::move(items));
}

} // namespace

std::string_view to_string(EventFilter e) {
    switch (e) {
    case EventFilter::All:
        return "*";
    case EventFilter::Insert:
        return "INSERT";
    case EventFilter::Update:
        return "UPDATE";
    case EventFilter::Delete:
        return "DELETE";
    }
    return "*";
}

bool BindingSpec::matches_event(capture::ChangeKind kind) const {
    switch (kind) {
    case capture::ChangeKind::Insert:
        return event == EventFilter::All || event == EventFilter::Insert;
    case capture::ChangeKind::Update:
        return event == EventFilter::All || event == EventFilter::Update;
    case capture::ChangeKind::Delete:
        return event == EventFilter::All || event == EventFilter::Delete;
    case capture::ChangeKind::Truncate:
        return false;
    }
    return false;
}

bool BindingSpec::matches_relation(std::string_view schema_name,
                                   std::string_view table_name) const {
    return (schema == "*" || schema_name == schema) && (table == "*" || table_name == table);
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

std::optional<SqlError> check_select_columns(const BindingSpec& spec,
                                             const capture::Relation& relation,
                                             const std::unordered_set<std::string>* selectable) {
    if (!spec.select) return std::nullopt;
    for (const auto& col : *spec.select) {
        if (relation.column_index(col) < 0 || (selectable && selectable->count(col) == 0))
            return SqlError{"P0001", "invalid column for select " + col};
    }
    return std::nullopt;
}

std::string format_params_for_log(const BindingSpec& spec) {
    std::string out = "event: ";
    out += to_string(spec.event);
    out += ", schema: " + spec.schema;
    out += ", table: " + spec.table;
    out += ", filters: " + elixir::inspect_pretty(filters_term(spec.filters));
    out += ", select: ";
    if (!spec.select) {
        out += "nil";
    } else {
        std::vector<elixir::Term> items;
        for (const auto& c : *spec.select)
            items.push_back(elixir::Term::string(c));
        out += elixir::inspect_pretty(elixir::Term::list(std::move(items)));
    }
    return out;
}

std::string unable_to_subscribe_message(const BindingSpec& spec) {
    return "Unable to subscribe to changes with given parameters. Please check Realtime is "
           "enabled for the given connect parameters: [" +
           format_params_for_log(spec) + "]";
}

std::string subscribe_exception_message(const BindingSpec& spec, const SqlError& error) {
    std::string out = "Unable to subscribe to changes with given parameters. An exception "
                      "happened so please check your connect parameters: [" +
                      format_params_for_log(spec) + "]. Exception: ";
    if (error.sqlstate.empty()) {
        out += error.message; // not a Postgres error: Postgrex prints the bare message
        return out;
    }
    out += "ERROR " + error.sqlstate + " (" +
           std::string(pg::sqlstate_condition_name(error.sqlstate)) + ") " + error.message;
    if (!error.hint.empty()) out += "\n\n    hint: " + error.hint;
    if (!error.detail.empty()) out += "\n\n" + error.detail;
    return out;
}

} // namespace walcast::core
