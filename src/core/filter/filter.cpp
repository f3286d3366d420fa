#include "core/filter/filter.hpp"

#include "core/filter/filter_eval.hpp"

#include <algorithm>
#include <cstring>

namespace walcast::core {

namespace {

/// How values of a column are parsed and compared (see the comment of filter.hpp).
enum class ValueClass : unsigned char {
    Bool,
    Int,
    Float4,
    Float8,
    Numeric,
    Text,
    Bpchar,
    Citext,
    Bytes, ///< uuid, bytea: canonical text in byte order
    Date,
    Timestamp,
    TimestampTz,
    Time,
    TimeTz,
    Interval,
    Enum,
    Canonical, ///< equality on canonical text only
};

/// A filter value in the form its class compares.
struct Constant {
    std::string text; ///< canonical text (bpchar: without trailing spaces; citext: lowered)
    std::int64_t i = 0;
    double d = 0;
    pgsem::TimeTz tz;
    __int128 big = 0;
};

enum class IsKind : unsigned char { Null, True, False, Unknown };

bool is_text_class(ValueClass c) {
    return c == ValueClass::Text || c == ValueClass::Bpchar || c == ValueClass::Citext;
}

bool is_ordering(FilterOp op) {
    return op == FilterOp::Lt || op == FilterOp::Lte || op == FilterOp::Gt || op == FilterOp::Gte;
}

ValueClass class_of(const pg::PgType& t) {
    using pg::TypeKind;
    switch (t.kind) {
    case TypeKind::Bool:
        return ValueClass::Bool;
    case TypeKind::Int:
        return ValueClass::Int;
    case TypeKind::Numeric:
        return ValueClass::Numeric;
    case TypeKind::Float:
        return (t.oid == pg::oids::float4 || t.name == "float4") ? ValueClass::Float4
                                                                 : ValueClass::Float8;
    case TypeKind::Text:
        if (t.name == "bpchar") return ValueClass::Bpchar;
        if (t.name == "citext") return ValueClass::Citext;
        return ValueClass::Text;
    case TypeKind::Bytea:
    case TypeKind::Uuid:
        return ValueClass::Bytes;
    case TypeKind::Date:
        return ValueClass::Date;
    case TypeKind::Time:
        return ValueClass::Time;
    case TypeKind::TimeTz:
        return ValueClass::TimeTz;
    case TypeKind::Timestamp:
        return ValueClass::Timestamp;
    case TypeKind::TimestampTz:
        return ValueClass::TimestampTz;
    case TypeKind::Interval:
        return ValueClass::Interval;
    case TypeKind::Enum:
        return ValueClass::Enum;
    default:
        return ValueClass::Canonical;
    }
}

FilterError typed(FilterError::Kind kind) {
    FilterError e;
    e.kind = kind;
    return e;
}

std::string quoted_ident(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

} // namespace

struct CompiledFilter::Condition {
    std::string column;
    pg::Oid type_oid = 0;
    FilterOp op = FilterOp::Eq;
    bool negate = false;
    ValueClass cls = ValueClass::Canonical;
    Constant constant;
    std::vector<Constant> in_values;
    bool in_has_null = false;
    IsKind is_kind = IsKind::Null;
    std::shared_ptr<const pgsem::Collator> collator = pgsem::Collator::bytewise();
    std::shared_ptr<const pgsem::CaseFolder> folder; ///< citext values, ilike
    std::shared_ptr<const pgsem::Regex> regex;
    std::string pattern;     ///< like/ilike (lowered for ilike)
    bool like_fold = false;  ///< lower() the value before LIKE
    bool like_bytes = false; ///< bytea LIKE on decoded bytes
    std::vector<std::string> enum_labels;
    std::string ctype; ///< the collation's ctype locale (regex classes and case folding)
};

namespace {

using Condition = CompiledFilter::Condition;

/// Parses canonical text into the constant its class compares; false when Postgres's output
/// was not understood (an internal inconsistency, reported at compile time).
bool make_constant(const Condition& c, std::string text, Constant& k) {
    switch (c.cls) {
    case ValueClass::Bool:
        if (text != "t" && text != "f") return false;
        k.i = text == "t";
        break;
    case ValueClass::Int: {
        auto v = pgsem::parse_int(text);
        if (!v) return false;
        k.i = *v;
        break;
    }
    case ValueClass::Float4: {
        auto v = pgsem::parse_float4(text);
        if (!v) return false;
        k.d = *v;
        break;
    }
    case ValueClass::Float8: {
        auto v = pgsem::parse_float8(text);
        if (!v) return false;
        k.d = *v;
        break;
    }
    case ValueClass::Numeric:
        if (!pgsem::parse_numeric(text)) return false;
        break;
    case ValueClass::Bpchar:
        text = std::string(pgsem::strip_trailing_spaces(text));
        break;
    case ValueClass::Citext: {
        std::string lowered;
        c.folder->lower(text, lowered);
        text = std::move(lowered);
        break;
    }
    case ValueClass::Date: {
        auto v = pgsem::parse_date(text);
        if (!v) return false;
        k.i = *v;
        break;
    }
    case ValueClass::Timestamp:
    case ValueClass::TimestampTz: {
        auto v = pgsem::parse_timestamp(text, c.cls == ValueClass::TimestampTz);
        if (!v) return false;
        k.i = *v;
        break;
    }
    case ValueClass::Time: {
        auto v = pgsem::parse_time(text);
        if (!v) return false;
        k.i = *v;
        break;
    }
    case ValueClass::TimeTz: {
        auto v = pgsem::parse_timetz(text);
        if (!v) return false;
        k.tz = *v;
        break;
    }
    case ValueClass::Interval: {
        auto v = pgsem::parse_interval(text);
        if (!v) return false;
        k.big = *v;
        break;
    }
    case ValueClass::Enum: {
        auto it = std::find(c.enum_labels.begin(), c.enum_labels.end(), text);
        k.i = it == c.enum_labels.end() ? -1 : it - c.enum_labels.begin();
        break;
    }
    case ValueClass::Text:
    case ValueClass::Bytes:
    case ValueClass::Canonical:
        break;
    }
    k.text = std::move(text);
    return true;
}

int sign_of(int v) {
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

template <class T> int three_way(const T& a, const T& b) {
    return a < b ? -1 : b < a ? 1 : 0;
}

bool bytes_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

/// Compares a row value (text output) with a constant; nullopt when the row text cannot be
/// parsed (→ no match). With equality_only, any non-zero result means "not equal".
std::optional<int> compare_row(const Condition& c, std::string_view row, const Constant& k,
                               bool equality_only) {
    switch (c.cls) {
    case ValueClass::Bool:
        if (row != "t" && row != "f") return std::nullopt;
        return three_way<std::int64_t>(row == "t", k.i);
    case ValueClass::Int: {
        auto v = pgsem::parse_int(row);
        if (!v) return std::nullopt;
        return three_way(*v, k.i);
    }
    case ValueClass::Float4: {
        auto v = pgsem::parse_float4(row);
        if (!v) return std::nullopt;
        return pgsem::compare_float(*v, k.d);
    }
    case ValueClass::Float8: {
        auto v = pgsem::parse_float8(row);
        if (!v) return std::nullopt;
        return pgsem::compare_float(*v, k.d);
    }
    case ValueClass::Numeric: {
        auto v = pgsem::parse_numeric(row);
        auto kv = pgsem::parse_numeric(k.text);
        if (!v || !kv) return std::nullopt;
        return pgsem::compare_numeric(*v, *kv);
    }
    case ValueClass::Text:
        if (equality_only) return bytes_equal(row, k.text) ? 0 : 1;
        return sign_of(c.collator->compare(row, k.text));
    case ValueClass::Bpchar: {
        auto r = pgsem::strip_trailing_spaces(row);
        if (equality_only) return bytes_equal(r, k.text) ? 0 : 1;
        return sign_of(c.collator->compare(r, k.text));
    }
    case ValueClass::Citext: {
        thread_local std::string lowered;
        c.folder->lower(row, lowered);
        if (equality_only) return bytes_equal(lowered, k.text) ? 0 : 1;
        return sign_of(c.collator->compare(lowered, k.text));
    }
    case ValueClass::Bytes:
    case ValueClass::Canonical:
        if (equality_only) return bytes_equal(row, k.text) ? 0 : 1;
        return sign_of(pgsem::Collator::bytewise()->compare(row, k.text));
    case ValueClass::Date: {
        auto v = pgsem::parse_date(row);
        if (!v) return std::nullopt;
        return three_way(*v, k.i);
    }
    case ValueClass::Timestamp:
    case ValueClass::TimestampTz: {
        auto v = pgsem::parse_timestamp(row, c.cls == ValueClass::TimestampTz);
        if (!v) return std::nullopt;
        return three_way(*v, k.i);
    }
    case ValueClass::Time: {
        auto v = pgsem::parse_time(row);
        if (!v) return std::nullopt;
        return three_way(*v, k.i);
    }
    case ValueClass::TimeTz: {
        auto v = pgsem::parse_timetz(row);
        if (!v) return std::nullopt;
        return pgsem::compare_timetz(*v, k.tz);
    }
    case ValueClass::Interval: {
        auto v = pgsem::parse_interval(row);
        if (!v) return std::nullopt;
        return three_way(*v, k.big);
    }
    case ValueClass::Enum: {
        if (equality_only) return bytes_equal(row, k.text) ? 0 : 1;
        auto it = std::find(c.enum_labels.begin(), c.enum_labels.end(), row);
        if (it == c.enum_labels.end() || k.i < 0) return std::nullopt; // label added later
        return three_way<std::int64_t>(it - c.enum_labels.begin(), k.i);
    }
    }
    return std::nullopt;
}

/// The row value as the int64 its class compares by, for classes where that is the whole
/// comparison (int, bool, date, timestamp[tz], time); nullopt otherwise or when unparsable.
std::optional<std::int64_t> integer_key(const Condition& c, std::string_view row) {
    switch (c.cls) {
    case ValueClass::Int:
        return pgsem::parse_int(row);
    case ValueClass::Bool:
        if (row == "t") return 1;
        if (row == "f") return 0;
        return std::nullopt;
    case ValueClass::Date:
        return pgsem::parse_date(row);
    case ValueClass::Timestamp:
        return pgsem::parse_timestamp(row, false);
    case ValueClass::TimestampTz:
        return pgsem::parse_timestamp(row, true);
    case ValueClass::Time:
        return pgsem::parse_time(row);
    default:
        return std::nullopt;
    }
}

/// The operators whose cost grows with the value's length (pattern matching).
bool scans_text(FilterOp op) {
    return op == FilterOp::Like || op == FilterOp::Ilike || op == FilterOp::Match ||
           op == FilterOp::Imatch;
}

bool apply_op(FilterOp op, int cmp) {
    switch (op) {
    case FilterOp::Eq:
        return cmp == 0;
    case FilterOp::Neq:
        return cmp != 0;
    case FilterOp::Lt:
        return cmp < 0;
    case FilterOp::Lte:
        return cmp <= 0;
    case FilterOp::Gt:
        return cmp > 0;
    case FilterOp::Gte:
        return cmp >= 0;
    default:
        return false;
    }
}

/// SQL three-valued evaluation of one condition, reduced to "matches".
bool evaluate(const Condition& c, pg::ValueState state, std::string_view text) {
    const bool null = state == pg::ValueState::Null;
    switch (c.op) {
    case FilterOp::Is: {
        bool r = false;
        switch (c.is_kind) {
        case IsKind::Null:
        case IsKind::Unknown:
            r = null;
            break;
        case IsKind::True:
            r = !null && text == "t";
            break;
        case IsKind::False:
            r = !null && text == "f";
            break;
        }
        return c.negate ? !r : r;
    }
    case FilterOp::IsDistinct: {
        if (null) return !c.negate;
        auto cmp = compare_row(c, text, c.constant, true);
        if (!cmp) return false;
        bool distinct = *cmp != 0;
        return c.negate ? !distinct : distinct;
    }
    case FilterOp::In:
        // x = ANY('{}') is false even for a NULL x, so `not.in.()` matches NULLs (Postgres).
        if (c.in_values.empty() && !c.in_has_null) return c.negate;
        break;
    default:
        break;
    }
    if (null) return false;
    switch (c.op) {
    case FilterOp::In: {
        if (auto key = integer_key(c, text)) { // parse the row once for integer-like classes
            for (const auto& k : c.in_values)
                if (k.i == *key) return !c.negate;
            return c.in_has_null ? false : c.negate;
        }
        for (const auto& k : c.in_values) {
            auto cmp = compare_row(c, text, k, true);
            if (!cmp) return false;
            if (*cmp == 0) return !c.negate;
        }
        if (c.in_has_null) return false; // x = ANY('{…,NULL}') is NULL when not found
        return c.negate;
    }
    case FilterOp::Like:
    case FilterOp::Ilike: {
        bool r;
        if (c.like_bytes) {
            auto bytes = pgsem::decode_bytea_hex(text);
            if (!bytes) return false;
            r = pgsem::like_match(*bytes, c.pattern, true);
        } else if (c.like_fold) {
            thread_local std::string lowered;
            c.folder->lower(text, lowered);
            r = pgsem::like_match(lowered, c.pattern);
        } else {
            r = pgsem::like_match(text, c.pattern);
        }
        return c.negate ? !r : r;
    }
    case FilterOp::Match:
    case FilterOp::Imatch: {
        bool r = c.regex->search(text);
        return c.negate ? !r : r;
    }
    default: {
        bool equality = c.op == FilterOp::Eq || c.op == FilterOp::Neq;
        auto cmp = compare_row(c, text, c.constant, equality);
        if (!cmp) return false;
        bool r = apply_op(c.op, *cmp);
        return c.negate ? !r : r;
    }
    }
}

/// Looks up the display name for error messages; falls back to typname.
std::string display_name(ValueNormalizer& n, const pg::PgType& t) {
    auto r = n.type_display_name(t.oid);
    return r ? *r : t.name;
}

/// Refusals for what walcast cannot evaluate like Postgres (see filter.hpp).
std::optional<SqlError> unsupported(const Condition& c, const capture::Column& col,
                                    ValueNormalizer& n) {
    const bool equality_op = c.op == FilterOp::Eq || c.op == FilterOp::Neq ||
                             c.op == FilterOp::In || c.op == FilterOp::IsDistinct;
    const std::string& tn = col.type.name;
    if (equality_op && (tn == "json" || tn == "xml" || tn == "point" || tn == "polygon")) {
        std::string d = display_name(n, col.type);
        return SqlError{"42883", "operator does not exist: " + d + " = " + d};
    }
    if (equality_op && (tn == "box" || tn == "circle" || tn == "path")) {
        return SqlError{"0A000", "walcast cannot evaluate " + std::string(to_string(c.op)) +
                                     " on column " + quoted_ident(c.column) + " of type " +
                                     display_name(n, col.type) +
                                     ": Postgres's = for this type is not an equality of values; "
                                     "filter on another column"};
    }
    if (is_ordering(c.op) && c.cls == ValueClass::Canonical) {
        return SqlError{"0A000", "walcast cannot evaluate " + std::string(to_string(c.op)) +
                                     " on column " + quoted_ident(c.column) + " of type " +
                                     display_name(n, col.type) +
                                     ": only eq, neq, in, is and isdistinct are supported for "
                                     "this type; filter on a column of another type"};
    }
    return std::nullopt;
}

/// Sets up collation-dependent parts of a text condition.
std::optional<FilterError> bind_collation(Condition& c, const capture::Column& col,
                                          ValueNormalizer& n) {
    if (col.type.name == "char") { // "char" has no collation: byte order
        c.folder = pgsem::CaseFolder::ascii();
        return std::nullopt;
    }
    auto info = n.collation(col.collation);
    if (!info) return FilterError(std::move(info).error());
    auto refuse = [&](const std::string& why) {
        return FilterError(
            SqlError{"0A000", "walcast cannot evaluate " + std::string(to_string(c.op)) +
                                  " on column " + quoted_ident(c.column) + " with collation " +
                                  (col.collation.empty() ? std::string("default") : col.collation) +
                                  ": " + why},
            FilterError::Kind::Unsupported);
    };
    if (!info->deterministic && c.op != FilterOp::Is)
        return refuse("nondeterministic collations are not supported; filter on a column with "
                      "a deterministic collation");
    const bool icu = info->provider == CollationInfo::Provider::Icu;
    if (icu && (is_ordering(c.op) || c.op == FilterOp::Ilike || c.op == FilterOp::Imatch ||
                c.cls == ValueClass::Citext))
        return refuse("ICU collations are not available in walcast for ordering or case "
                      "folding; use eq/neq/in/like/match or a libc collation");
    if (info->provider == CollationInfo::Provider::Libc && !icu) {
        auto coll = pgsem::Collator::libc(info->locale);
        if (!coll)
            return FilterError(SqlError{"0A000", coll.error().message},
                               FilterError::Kind::Unsupported);
        c.collator = *coll;
    }
    // citext folds with the database default collation (citext_eq/citextcmp).
    std::string ctype = info->ctype;
    if (c.cls == ValueClass::Citext) {
        auto def = n.collation("");
        if (!def) return FilterError(std::move(def).error());
        ctype = def->ctype;
    }
    auto folder = pgsem::CaseFolder::libc(icu ? std::string("C") : ctype);
    if (!folder)
        return FilterError(SqlError{"0A000", folder.error().message},
                           FilterError::Kind::Unsupported);
    c.folder = *folder;
    c.ctype = ctype;
    return std::nullopt;
}

FilterResult<Condition> compile_one(const FilterCondition& fc, const capture::Relation& rel,
                                    ValueNormalizer& n,
                                    const std::unordered_set<std::string>* selectable) {
    int idx = rel.column_index(fc.column);
    if (idx < 0 || (selectable && selectable->count(fc.column) == 0)) {
        auto e = typed(FilterError::Kind::InvalidColumn);
        e.column = fc.column;
        return e;
    }
    const capture::Column& col = rel.columns[static_cast<std::size_t>(idx)];
    // Postgres text cannot hold NUL: it refuses the value (22021) where libpq would pass only
    // the bytes before it (`a\u0000b` would filter for 'a').
    if (fc.value.find('\0') != std::string::npos) {
        SqlError e{"22021", "invalid byte sequence for encoding \"UTF8\": 0x00", "", "", false};
        e.hint = "a filter value cannot contain the NUL character (\\u0000); remove it";
        return FilterError(std::move(e));
    }
    Condition c;
    c.column = fc.column;
    c.type_oid = col.type.oid;
    c.op = fc.op;
    c.negate = fc.negate;
    c.cls = class_of(col.type);
    const std::string op_name(to_string(fc.op));

    switch (fc.op) {
    case FilterOp::Is:
        if (fc.value == "null")
            c.is_kind = IsKind::Null;
        else if (fc.value == "true")
            c.is_kind = IsKind::True;
        else if (fc.value == "false")
            c.is_kind = IsKind::False;
        else if (fc.value == "unknown")
            c.is_kind = IsKind::Unknown;
        else {
            auto e = typed(FilterError::Kind::InvalidIsValue);
            e.column = fc.column;
            e.value = fc.value;
            return e;
        }
        if (c.is_kind != IsKind::Null && c.cls != ValueClass::Bool) {
            auto e = typed(FilterError::Kind::IsNeedsBoolean);
            e.column = fc.column;
            e.value = fc.value;
            e.type = display_name(n, col.type);
            return e;
        }
        return c;
    case FilterOp::Like:
    case FilterOp::Ilike:
    case FilterOp::Match:
    case FilterOp::Imatch: {
        const bool like = fc.op == FilterOp::Like || fc.op == FilterOp::Ilike;
        const bool text_ok = is_text_class(c.cls) && col.type.name != "char";
        const bool bytea_like = fc.op == FilterOp::Like && col.type.kind == pg::TypeKind::Bytea;
        if (!text_ok && !bytea_like) {
            auto e = typed(FilterError::Kind::NeedsText);
            e.column = fc.column;
            e.op = op_name;
            e.type = display_name(n, col.type);
            return e;
        }
        if (!like) {
            if (auto r = n.check_regex(fc.value); !r) {
                if (r.error().transient) return FilterError(std::move(r).error());
                FilterError e(std::move(r).error(), FilterError::Kind::InvalidRegex);
                e.column = fc.column;
                e.op = op_name;
                return e;
            }
        }
        if (bytea_like) {
            // The pattern is a bytea value too: Postgres casts it, then matches bytes.
            auto canon = n.cast(fc.value, col.type);
            if (!canon) return FilterError(std::move(canon).error());
            auto bytes = pgsem::decode_bytea_hex(*canon);
            if (!bytes)
                return FilterError(SqlError{"XX000", "unexpected bytea output: " + *canon},
                                   FilterError::Kind::Unsupported);
            if (auto e = pgsem::like_pattern_error(*bytes))
                return FilterError(SqlError{"22025", *e});
            c.pattern = std::move(*bytes);
            c.like_bytes = true;
            return c;
        }
        if (auto e = bind_collation(c, col, n)) return std::move(*e);
        const bool fold =
            fc.op == FilterOp::Ilike || fc.op == FilterOp::Imatch || c.cls == ValueClass::Citext;
        if (like) {
            if (auto e = pgsem::like_pattern_error(fc.value))
                return FilterError(SqlError{"22025", *e});
            c.like_fold = fold;
            if (fold)
                c.folder->lower(fc.value, c.pattern);
            else
                c.pattern = fc.value;
            return c;
        }
        // Postgres accepted the pattern; what RE2 cannot match in linear time is refused with
        // the rewrite named (0A000).
        auto rx = pgsem::Regex::compile(fc.value, fold, c.ctype);
        if (!rx)
            return FilterError(SqlError{"0A000", "invalid regular expression for " + op_name +
                                                     " filter: " + rx.error().message},
                               FilterError::Kind::Unsupported);
        c.regex = *rx;
        return c;
    }
    default:
        break;
    }

    if (auto e = unsupported(c, col, n))
        return FilterError(std::move(*e), FilterError::Kind::Unsupported);
    if (is_text_class(c.cls)) {
        if (auto e = bind_collation(c, col, n)) return std::move(*e);
    }
    if (c.cls == ValueClass::Enum) {
        auto labels = n.enum_labels(col.type.oid);
        if (!labels) return FilterError(std::move(labels).error());
        c.enum_labels = std::move(*labels);
    }
    auto bad_output = [&](const std::string& text) {
        return FilterError(
            SqlError{"XX000", "walcast does not understand Postgres's text output \"" + text +
                                  "\" for type " + display_name(n, col.type) +
                                  "; filter on another column and report this"},
            FilterError::Kind::Unsupported);
    };
    if (fc.op == FilterOp::In) {
        auto elems = n.cast_array(fc.value, col.type);
        if (!elems) return FilterError(std::move(elems).error());
        if (elems->size() > max_in_values) {
            auto e = typed(FilterError::Kind::TooManyInValues);
            e.column = fc.column;
            return e;
        }
        for (auto& e : *elems) {
            if (!e) {
                c.in_has_null = true;
                continue;
            }
            Constant k;
            if (!make_constant(c, *e, k)) return bad_output(*e);
            c.in_values.push_back(std::move(k));
        }
        return c;
    }
    auto canon = n.cast(fc.value, col.type);
    if (!canon) return FilterError(std::move(canon).error());
    if (!make_constant(c, *canon, c.constant)) return bad_output(*canon);
    return c;
}

} // namespace

CompiledFilter::CompiledFilter() = default;
CompiledFilter::CompiledFilter(CompiledFilter&&) noexcept = default;
CompiledFilter& CompiledFilter::operator=(CompiledFilter&&) noexcept = default;
CompiledFilter::~CompiledFilter() = default;

std::string FilterError::describe() const {
    switch (kind) {
    case Kind::InvalidColumn:
        return "no column " + column + " to filter on (or it may not be read)";
    case Kind::TooManyInValues:
        return "an `in` filter on " + column + " has more than " + std::to_string(max_in_values) +
               " values";
    case Kind::InvalidIsValue:
        return "`is` takes null, true, false or unknown, not " + value;
    case Kind::IsNeedsBoolean:
        return "`is " + value + "` needs a boolean column; " + column + " is " + type;
    case Kind::NeedsText:
        return op + " needs a text column; " + column + " is " + type;
    case Kind::InvalidRegex:
        return "the " + op + " pattern on " + column + " is not valid: " + postgres.message;
    case Kind::Postgres:
    case Kind::Unsupported:
        break;
    }
    return postgres.describe();
}

FilterResult<CompiledFilter>
CompiledFilter::compile(const std::vector<FilterCondition>& conditions,
                        const capture::Relation& relation, ValueNormalizer& normalizer,
                        const std::unordered_set<std::string>* selectable) {
    CompiledFilter f;
    for (const auto& fc : conditions) {
        auto c = compile_one(fc, relation, normalizer, selectable);
        if (!c) return std::move(c).error();
        f.conditions_.push_back(std::move(c).value());
    }
    return f;
}

bool CompiledFilter::resolve(const capture::Relation& rel) const {
    const std::size_t n = conditions_.size();
    auto valid = [&](std::size_t i) {
        int idx = cached_index_[i];
        if (idx < 0 || static_cast<std::size_t>(idx) >= rel.columns.size()) return false;
        const auto& col = rel.columns[static_cast<std::size_t>(idx)];
        return col.type.oid == conditions_[i].type_oid && col.name == conditions_[i].column;
    };
    if (cached_relation_ == &rel && cached_index_.size() == n) {
        bool all = true;
        for (std::size_t i = 0; i < n && all; ++i)
            all = valid(i);
        if (all) return true;
    }
    cached_relation_ = &rel;
    cached_index_.resize(n);
    bool all = true;
    for (std::size_t i = 0; i < n; ++i) {
        cached_index_[i] = rel.column_index(conditions_[i].column);
        if (!valid(i)) {
            cached_index_[i] = -1;
            all = false;
        }
    }
    return all;
}

bool CompiledFilter::matches(const capture::Relation& relation, const pg::Tuple& tuple,
                             TupleScope scope, std::uint64_t* scanned_bytes) const {
    if (conditions_.empty()) return true;
    if (!resolve(relation)) return false;
    for (std::size_t i = 0; i < conditions_.size(); ++i) {
        auto idx = static_cast<std::size_t>(cached_index_[i]);
        if (idx >= tuple.size()) return false;
        if (scope == TupleScope::KeyOnly && !relation.columns[idx].is_identity_key) return false;
        auto state = tuple.state(idx);
        if (state == pg::ValueState::UnchangedToast || state == pg::ValueState::Binary)
            return false;
        const auto text = tuple.text(idx);
        if (scanned_bytes && state != pg::ValueState::Null && scans_text(conditions_[i].op))
            *scanned_bytes += text.size();
        if (!evaluate(conditions_[i], state, text)) return false;
    }
    return true;
}

bool CompiledFilter::empty() const {
    return conditions_.empty();
}
std::size_t CompiledFilter::size() const {
    return conditions_.size();
}

} // namespace walcast::core
