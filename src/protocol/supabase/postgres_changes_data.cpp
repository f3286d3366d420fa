#include "protocol/supabase/postgres_changes_data.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"

namespace walcast::protocol::supabase {

using core::ErrorRow;

namespace {

/// §6.5: fields whose JSON-encoded value is at most this many bytes survive a 413 reduction.
constexpr std::size_t reduced_value_max_bytes = 64;

const char* error_text(ErrorRow e) {
    switch (e) {
    case ErrorRow::NoPrimaryKey:
        return "Error 400: Bad Request, no primary key";
    case ErrorRow::Unauthorized:
        return "Error 401: Unauthorized";
    case ErrorRow::CheckFailed:
        return "Error 500: row-level security check failed; the server log has the details";
    case ErrorRow::None:
        break;
    }
    return "";
}

void append_head(std::string& out, const capture::Change& c) {
    out += "{\"type\":\"";
    out += capture::to_string(c.kind);
    out += "\",\"schema\":";
    json::append_string(out, c.relation->schema);
    out += ",\"table\":";
    json::append_string(out, c.relation->table);
}

} // namespace

std::string render_change_data(const capture::Change& c, const core::PayloadVariant& v,
                               bool too_big) {
    std::string out;
    out.reserve(256 + (c.new_tuple ? c.new_tuple->data_bytes() : 0) +
                (c.old_tuple ? c.old_tuple->data_bytes() : 0));
    append_head(out, c);
    const bool has_record =
        c.kind == capture::ChangeKind::Insert || c.kind == capture::ChangeKind::Update;
    const bool has_old =
        c.kind == capture::ChangeKind::Update || c.kind == capture::ChangeKind::Delete;

    if (v.error != ErrorRow::None) {
        out += ",\"commit_timestamp\":null,\"columns\":[]";
        if (has_record) out += ",\"record\":{}";
        if (has_old) out += ",\"old_record\":{}";
        out += ",\"errors\":[";
        json::append_string(out, error_text(v.error));
        out += "]}";
        return out;
    }

    const auto& rel = *c.relation;
    const capture::ColumnMask* mask = v.columns.empty() ? nullptr : &v.columns;
    const std::size_t value_limit = too_big ? reduced_value_max_bytes : 0;
    out += ",\"commit_timestamp\":\"";
    append_commit_timestamp(out, c.txn.commit_time_pg_us);
    out += "\",\"columns\":";
    capture::append_columns_json(out, rel, mask);
    if (has_record) {
        out += ",\"record\":";
        capture::append_new_record_json(out, c, mask, value_limit);
    }
    if (has_old) {
        out += ",\"old_record\":";
        if (v.old_record_omitted) {
            // The subscriber could not see the version before this UPDATE.
            out += "{}";
        } else if (v.old_record_pk_only) {
            // DELETE on a table with RLS on: the primary key only (spec §6.3).
            capture::ColumnMask pk(rel.columns.size(), false);
            for (std::size_t i = 0; i < rel.columns.size(); ++i)
                pk[i] = rel.columns[i].is_primary_key && (!mask || (*mask)[i]);
            capture::append_old_record_json(out, c, &pk, value_limit);
        } else {
            capture::append_old_record_json(out, c, mask, value_limit);
        }
    }
    out += too_big ? ",\"errors\":[\"Error 413: Payload Too Large\"]}" : ",\"errors\":null}";
    return out;
}

namespace {

class PostgresChangesFormat final : public core::PayloadFormat {
public:
    std::string render(const capture::Change& change, const core::PayloadVariant& variant,
                       bool too_big) const override {
        return render_change_data(change, variant, too_big);
    }
};

} // namespace

const core::PayloadFormat& postgres_changes_format() {
    static const PostgresChangesFormat format;
    return format;
}

} // namespace walcast::protocol::supabase
