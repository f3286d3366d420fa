// BindingSpec: what one binding asks for — an event filter, a schema and table (or "*"), filter
// conditions, an optional select list — in generic form. The protocols parse their own
// request shapes into it (Supabase's postgres_changes binding JSON: protocol/supabase/binding).
#pragma once

#include "capture/change.hpp"
#include "core/filter/condition.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace walcast::core {

/// Which row changes a binding wants.
enum class EventFilter : unsigned char { All, Insert, Update, Delete };

/// "*", "INSERT", "UPDATE", "DELETE".
std::string_view to_string(EventFilter e);

/// A parsed binding. schema/table are exact names or "*" (any); see matches_relation.
struct BindingSpec {
    EventFilter event = EventFilter::All;
    std::string schema;
    std::string table;
    std::vector<FilterCondition> filters; ///< in the order written (ANDed)
    /// Column names to deliver; nullopt = all columns. The primary-key columns are always
    /// delivered as well (spec §5.6) — the router adds them.
    std::optional<std::vector<std::string>> select;

    /// Whether a change of this kind is wanted. TRUNCATE never is (spec §4.5).
    bool matches_event(capture::ChangeKind kind) const;

    /// Whether a table matches: each of schema and table equal to the name, or "*". (Supabase
    /// Realtime selects tables with `LIKE` and no escape character, spec §3.4, so there `_` and
    /// `%` inside a name are wildcards; walcast matches names exactly — a subscriber gets the
    /// table it named.)
    bool matches_relation(std::string_view schema_name, std::string_view table_name) const;
};

/// The select check (spec §5.5, run after the filters compiled): the first selected column
/// missing from relation, or not in selectable_columns when given; nullopt = fine.
std::optional<std::string>
missing_select_column(const BindingSpec& spec, const capture::Relation& relation,
                      const std::unordered_set<std::string>* selectable_columns = nullptr);

} // namespace walcast::core
