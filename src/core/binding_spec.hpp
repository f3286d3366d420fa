// BindingSpec: one `postgres_changes` binding of a join payload (`{event, schema, table,
// filter, select}`), parsed and checked the way Supabase Realtime does it (spec §5.1, §5.4,
// §5.6), plus the exact `system` error messages built from it (spec §3.5).
#pragma once

#include "capture/change.hpp"
#include "common/result.hpp"
#include "core/filter_parser.hpp"
#include "core/value_normalizer.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace walcast::core {

/// The action filter of a binding (RT `action_filter`).
enum class EventFilter : unsigned char { All, Insert, Update, Delete };

/// "*", "INSERT", "UPDATE", "DELETE".
std::string_view to_string(EventFilter e);

/// A parsed binding. schema/table are exact names or "*" (any); see matches_relation.
struct BindingSpec {
    EventFilter event = EventFilter::All;
    std::string schema;
    std::string table;
    std::vector<FilterCondition> filters; ///< in the order written (ANDed)
    /// `select` column names as sent (non-strings dropped); nullopt = all columns (`nil`). The
    /// primary-key columns are always delivered as well (spec §5.6) — the caller adds them.
    std::optional<std::vector<std::string>> select;

    /// Whether a change of this kind is wanted. TRUNCATE never is (spec §4.5).
    bool matches_event(capture::ChangeKind kind) const;

    /// Whether a table matches: each of schema and table equal to the name, or "*". RT selects
    /// tables with `LIKE` and no escape character (spec §3.4), so there `_` and `%` inside a
    /// name are wildcards and a binding on `todo_items` also receives `todoXitems`; walcast
    /// matches names exactly — a subscriber gets the table it named.
    bool matches_relation(std::string_view schema_name, std::string_view table_name) const;
};

/// Parses one binding object as RT's `parse_subscription_params/1` (spec §5.1):
///  * `event`: "*", or any case of insert/update/delete; anything else (or absent) = all;
///  * accepted shapes: schema+table+filter, schema+table, schema alone (table "*"), table alone
///    (schema "public"); all present values must be strings; a `filter` key with a non-string
///    value (even null) fits no shape;
///  * `select`: a list (non-strings dropped, [] = nil), a string is an error, other values nil.
/// Errors (Errc::InvalidInput), message exactly as RT sends it in the `system` error:
///  * select is a string → "Error parsing `select` params: expected a list of column name
///    strings, e.g. select: [\"col1\", \"col2\"]" (checked first);
///  * the filter's parse error (filter_parser.hpp);
///  * no accepted shape → "No subscription params provided. Please provide at least a `schema`
///    or `table` to subscribe to: " + Elixir inspect of the object (keys sorted), or
///    "<redacted>" when it has a `user_token` or `auth_token` key;
///  * select with schema or table "*" → "Column selection is not supported for wildcard
///    subscriptions. Provide an explicit schema and table name."
/// Pure function, any thread.
Result<BindingSpec> parse_binding(const boost::json::object& params);

/// The `select` check of RT's subscription_check_filters (spec §5.5), run after the filters
/// compiled: each selected column must exist in relation (and be in selectable_columns when
/// given) else P0001 `invalid column for select <col>`. nullopt = fine.
std::optional<SqlError>
check_select_columns(const BindingSpec& spec, const capture::Relation& relation,
                     const std::unordered_set<std::string>* selectable_columns = nullptr);

/// RT's params_to_log: "event: *, schema: public, table: todos, filters: [{\"id\", \"eq\",
/// \"1\", false}], select: nil" — event/schema/table raw, filters and select as
/// `inspect(…, pretty: true)` (width 80, so long lists span lines exactly as RT prints them).
std::string format_params_for_log(const BindingSpec& spec);

/// The `system` error when no publication table matches the binding (spec §3.5):
/// "Unable to subscribe to changes with given parameters. Please check Realtime is enabled
/// for the given connect parameters: [<format_params_for_log>]".
std::string unable_to_subscribe_message(const BindingSpec& spec);

/// The `system` error when subscribing failed in SQL (spec §3.5, §5.5): "Unable to subscribe to
/// changes with given parameters. An exception happened so please check your connect
/// parameters: [<params>]. Exception: ERROR <SQLSTATE> (<condition>) <message>" followed, as
/// Postgrex prints them, by "\n\n    hint: <hint>" when there is a hint and "\n\n<detail>"
/// when there is a detail.
std::string subscribe_exception_message(const BindingSpec& spec, const SqlError& error);

} // namespace walcast::core
