#include "capture/change_json.hpp"

#include "common/json_writer.hpp"

namespace walcast::capture {

namespace {

using pg::TypeKind;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
    std::size_t i = 0, n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i == n) return false;
    if (s[i] == '0') {
        ++i;
    } else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i]))
            ++i;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (i == n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i]))
            ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (i == n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i]))
            ++i;
    }
    return i == n;
}

bool is_special_number(std::string_view s) {
    return s == "NaN" || s == "Infinity" || s == "-Infinity";
}

void append_number_or_string(std::string& out, std::string_view s) {
    if (is_json_number(s))
        out.append(s);
    else
        json::append_string(out, s);
}

// "2024-01-02 03:04:05" → "2024-01-02T03:04:05"; with_offset also turns a bare "+HH" offset
// into "+HH:00" (to_jsonb's ISO 8601 rendering, JsonEncodeDateTime with USE_XSD_DATES).
void append_timestamp(std::string& out, std::string_view s, bool with_offset) {
    std::size_t space = s.find(' ');
    if (space == std::string_view::npos || space == 0 || !is_digit(s[space - 1])) {
        json::append_string(out, s); // infinity, -infinity, or unexpected text
        return;
    }
    out += '"';
    json::append_escaped(out, s.substr(0, space));
    out += 'T';
    std::string_view rest = s.substr(space + 1);
    if (with_offset) {
        std::size_t sign = rest.find_first_of("+-");
        if (sign != std::string_view::npos) {
            std::size_t end = sign + 1;
            while (end < rest.size() && is_digit(rest[end]))
                ++end;
            if (end - sign - 1 == 2 && (end == rest.size() || rest[end] != ':')) {
                json::append_escaped(out, rest.substr(0, end));
                out += ":00";
                rest = rest.substr(end);
            }
        }
    }
    json::append_escaped(out, rest);
    out += '"';
}

void append_scalar(std::string& out, TypeKind kind, std::string_view s, bool in_array) {
    switch (kind) {
    case TypeKind::Int:
        append_number_or_string(out, s);
        return;
    case TypeKind::Numeric:
    case TypeKind::Float:
        if (is_special_number(s))
            json::append_string(out, s);
        else
            append_number_or_string(out, s);
        return;
    case TypeKind::Bool:
        if (s == "t")
            out += "true";
        else if (s == "f")
            out += "false";
        else
            json::append_string(out, s);
        return;
    case TypeKind::Json:
        // Postgres only emits valid JSON text for json/jsonb; embed it unchanged.
        if (s.empty())
            out += "null";
        else
            out.append(s);
        return;
    case TypeKind::Bytea:
        // Top-level bytea is wal2json's hex without "\x" (spec §6.7); inside arrays RT casts
        // the array text with to_jsonb, which keeps the "\x" form of each element.
        if (!in_array && s.size() >= 2 && s[0] == '\\' && s[1] == 'x')
            json::append_string(out, s.substr(2));
        else
            json::append_string(out, s);
        return;
    case TypeKind::Timestamp:
        append_timestamp(out, s, false);
        return;
    case TypeKind::TimestampTz:
        append_timestamp(out, s, true);
        return;
    default:
        json::append_string(out, s);
        return;
    }
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool equals_null_ci(std::string_view s) {
    return s.size() == 4 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'U' || s[1] == 'u') &&
           (s[2] == 'L' || s[2] == 'l') && (s[3] == 'L' || s[3] == 'l');
}

// Parser of Postgres array text output (PostgreSQL docs, "Arrays", Array Value Input/Output):
// optional "[lo:hi]…=" bounds, nested braces per dimension, elements separated by the element
// type's delimiter, double-quoted elements with backslash escapes, unquoted NULL.
class ArrayRenderer {
public:
    ArrayRenderer(std::string& out, TypeKind element_kind, char delimiter)
        : out_(out), kind_(element_kind), delim_(delimiter) {}

    bool render(std::string_view s) {
        s_ = s;
        pos_ = 0;
        if (pos_ < s_.size() && s_[pos_] == '[') {
            std::size_t eq = s_.find('=');
            if (eq == std::string_view::npos) return false;
            pos_ = eq + 1;
        }
        skip_space();
        if (!level(0)) return false;
        skip_space();
        return pos_ == s_.size();
    }

private:
    void skip_space() {
        while (pos_ < s_.size() && is_space(s_[pos_]))
            ++pos_;
    }

    bool level(int depth) {
        if (depth > 6 || pos_ >= s_.size() || s_[pos_] != '{') return false; // MAXDIM is 6
        ++pos_;
        out_ += '[';
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            out_ += ']';
            return true;
        }
        for (bool first = true;; first = false) {
            if (!first) out_ += ',';
            skip_space();
            if (pos_ >= s_.size()) return false;
            if (s_[pos_] == '{') {
                if (!level(depth + 1)) return false;
            } else if (!element()) {
                return false;
            }
            skip_space();
            if (pos_ >= s_.size()) return false;
            if (s_[pos_] == delim_) {
                ++pos_;
                continue;
            }
            if (s_[pos_] == '}') {
                ++pos_;
                out_ += ']';
                return true;
            }
            return false;
        }
    }

    bool element() {
        scratch_.clear();
        if (s_[pos_] == '"') {
            ++pos_;
            for (;;) {
                if (pos_ >= s_.size()) return false;
                char c = s_[pos_++];
                if (c == '"') break;
                if (c == '\\') {
                    if (pos_ >= s_.size()) return false;
                    c = s_[pos_++];
                }
                scratch_ += c;
            }
            append_scalar(out_, kind_, scratch_, true);
            return true;
        }
        // Unquoted: up to the delimiter or '}', backslash escapes allowed, surrounding
        // whitespace not part of the value.
        bool escaped_any = false;
        std::size_t trailing_ws_start = 0;
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == delim_ || c == '}') break;
            if (c == '{' || c == '"') return false;
            ++pos_;
            if (c == '\\') {
                if (pos_ >= s_.size()) return false;
                scratch_ += s_[pos_++];
                escaped_any = true;
                trailing_ws_start = scratch_.size();
                continue;
            }
            scratch_ += c;
            if (!is_space(c)) trailing_ws_start = scratch_.size();
        }
        scratch_.resize(trailing_ws_start);
        if (scratch_.empty() && !escaped_any) return false;
        if (!escaped_any && equals_null_ci(scratch_))
            out_ += "null";
        else
            append_scalar(out_, kind_, scratch_, true);
        return true;
    }

    std::string& out_;
    TypeKind kind_;
    char delim_;
    std::string_view s_;
    std::size_t pos_ = 0;
    std::string scratch_;
};

void append_array(std::string& out, const pg::PgType& type, std::string_view s) {
    const std::size_t start = out.size();
    ArrayRenderer r(out, type.element_kind, type.delimiter);
    if (!r.render(s)) {
        out.resize(start);
        json::append_string(out, s); // not array text (e.g. int2vector "1 2"): keep it readable
    }
}

bool masked_out(const ColumnMask* mask, std::size_t i) {
    return mask && (i >= mask->size() || !(*mask)[i]);
}

// The shared loop of record/old_record: key_only restricts to replica identity key columns.
void append_object(std::string& out, const Relation& relation, const pg::Tuple& tuple,
                   const ColumnMask* mask, const pg::Tuple* toast_source, bool key_only,
                   std::size_t max_value_bytes) {
    out += '{';
    bool first = true;
    const std::size_t n = std::min(relation.columns.size(), tuple.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (masked_out(mask, i)) continue;
        const Column& col = relation.columns[i];
        if (key_only && !col.is_identity_key) continue;
        const pg::Tuple* src = &tuple;
        pg::ValueState state = tuple.state(i);
        if (state == pg::ValueState::UnchangedToast) {
            if (!toast_source || i >= toast_source->size() || toast_source->is_unchanged_toast(i))
                continue; // spec §6.6: absent from the record
            src = toast_source;
            state = toast_source->state(i);
        }
        if (state == pg::ValueState::Null && max_value_bytes != 0) continue;
        const std::size_t mark = out.size();
        if (!first) out += ',';
        json::append_string(out, col.name);
        out += ':';
        const std::size_t value_start = out.size();
        if (state == pg::ValueState::Null)
            out += "null";
        else if (state == pg::ValueState::Binary)
            json::append_string(out, src->text(i));
        else
            append_value_json(out, col.type, src->text(i));
        if (max_value_bytes != 0 && out.size() - value_start > max_value_bytes) {
            out.resize(mark);
            continue;
        }
        first = false;
    }
    out += '}';
}

} // namespace

void append_value_json(std::string& out, const pg::PgType& type, std::string_view text) {
    if (type.kind == TypeKind::Array)
        append_array(out, type, text);
    else
        append_scalar(out, type.kind, text, false);
}

void append_columns_json(std::string& out, const Relation& relation, const ColumnMask* mask) {
    out += '[';
    bool first = true;
    for (std::size_t i = 0; i < relation.columns.size(); ++i) {
        if (masked_out(mask, i)) continue;
        if (!first) out += ',';
        first = false;
        out += "{\"name\":";
        json::append_string(out, relation.columns[i].name);
        out += ",\"type\":";
        json::append_string(out, relation.columns[i].type.name);
        out += '}';
    }
    out += ']';
}

void append_record_json(std::string& out, const Relation& relation, const pg::Tuple& tuple,
                        const ColumnMask* mask, const pg::Tuple* old_tuple_for_toast,
                        std::size_t max_value_bytes) {
    append_object(out, relation, tuple, mask, old_tuple_for_toast, false, max_value_bytes);
}

void append_new_record_json(std::string& out, const Change& change, const ColumnMask* mask,
                            std::size_t max_value_bytes) {
    if (!change.relation || !change.new_tuple) {
        out += "{}";
        return;
    }
    const pg::Tuple* toast = change.old_tuple && change.old_is_full ? &*change.old_tuple : nullptr;
    append_object(out, *change.relation, *change.new_tuple, mask, toast, false, max_value_bytes);
}

void append_old_record_json(std::string& out, const Change& change, const ColumnMask* mask,
                            std::size_t max_value_bytes) {
    if (!change.relation) {
        out += "{}";
        return;
    }
    const Relation& rel = *change.relation;
    if (change.old_tuple) {
        append_object(out, rel, *change.old_tuple, mask, nullptr, !change.old_is_full,
                      max_value_bytes);
        return;
    }
    // pgoutput sends no old tuple for an UPDATE that kept its key: the key is the new one.
    if (change.kind == ChangeKind::Update && change.new_tuple &&
        (rel.replica_identity == ReplicaIdentity::Default ||
         rel.replica_identity == ReplicaIdentity::Index)) {
        append_object(out, rel, *change.new_tuple, mask, nullptr, true, max_value_bytes);
        return;
    }
    out += "{}";
}

} // namespace walcast::capture
