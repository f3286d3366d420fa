#include "core/subscription/binding_spec.hpp"

namespace walcast::core {

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

std::optional<std::string>
missing_select_column(const BindingSpec& spec, const capture::Relation& relation,
                      const std::unordered_set<std::string>* selectable) {
    if (!spec.select) return std::nullopt;
    for (const auto& col : *spec.select) {
        if (relation.column_index(col) < 0 || (selectable && selectable->count(col) == 0))
            return col;
    }
    return std::nullopt;
}

} // namespace walcast::core
