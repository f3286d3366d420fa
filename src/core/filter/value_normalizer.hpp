// ValueNormalizer: what the filter compiler asks Postgres once per binding — cast a filter
// value to a column type and return Postgres's canonical text, split an `in` array literal,
// validate a regex, list enum labels, describe a type or collation — and PgValueNormalizer,
// its implementation over a libpq connection. Never called per change.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"
#include "pg/pg_error.hpp"
#include "pg/pg_type.hpp"

#include <cassert>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace walcast::core {

/// An error as Postgres raised it (or would raise it): pg::PgError (SQLSTATE, message,
/// DETAIL/HINT, transient = the question could not be asked — connection lost, timeout —
/// so retrying later may succeed and the binding itself is not known to be wrong).
using SqlError = pg::PgError;

/// A value or an SqlError.
template <class T> using SqlResult = pg::SqlResult<T>;

/// How a collation orders and case-folds text (pg_collation / pg_database).
struct CollationInfo {
    enum class Provider : unsigned char {
        Bytewise, ///< "C", "POSIX", and libc "C.UTF-8" (code point order = UTF-8 byte order)
        Libc,     ///< a libc locale: strcoll_l / towlower_l with `locale`
        Icu,      ///< ICU: walcast has no ICU; see filter.hpp for what is refused
    };
    Provider provider = Provider::Bytewise;
    std::string locale;        ///< collcollate (libc) or colliculocale (ICU); "C" for Bytewise
    std::string ctype;         ///< collctype (libc): the locale for lower() and regex classes
    bool deterministic = true; ///< collisdeterministic
};

/// The questions the filter compiler asks Postgres. Implementations may block (one query
/// each); callers use them off the change path (at join time). Not required to be
/// thread-safe: one caller at a time.
class ValueNormalizer {
public:
    virtual ~ValueNormalizer() = default;

    /// `'<value>'::<type>` rendered by the type's output function: Postgres's canonical text
    /// of value as the type, i.e. what a tuple of that type carries (type by OID,
    /// without typmod, as RT casts), in walcast's session settings (DateStyle ISO, TimeZone
    /// UTC, IntervalStyle postgres, extra_float_digits 3). Errors: the cast's SqlError, e.g.
    /// 22P02 `invalid input syntax for type integer: "abc"`.
    virtual SqlResult<std::string> cast(std::string_view value, const pg::PgType& type) = 0;

    /// `'<array_literal>'::<element type>[]` unnested: each element's canonical text, nullopt
    /// for a NULL element, in order. Errors: the cast's SqlError (malformed literal, element
    /// not castable).
    virtual SqlResult<std::vector<std::optional<std::string>>>
    cast_array(std::string_view array_literal, const pg::PgType& element_type) = 0;

    /// Whether `'' ~ pattern` compiles in Postgres. Errors: Postgres's regex error (2201B,
    /// "invalid regular expression: parentheses () not balanced").
    virtual SqlResult<std::monostate> check_regex(std::string_view pattern) = 0;

    /// Labels of an enum type in pg_enum.enumsortorder order.
    virtual SqlResult<std::vector<std::string>> enum_labels(pg::Oid enum_type) = 0;

    /// The type as `regtype` prints it ("integer", "character varying", "timestamp with time
    /// zone", "public.mood"): used in error messages exactly as RT's SQL prints it.
    virtual SqlResult<std::string> type_display_name(pg::Oid type) = 0;

    /// Facts about a collation by name as capture::Column.collation holds it ("" or "default"
    /// = the database's default collation).
    virtual SqlResult<CollationInfo> collation(std::string_view name) = 0;
};

/// ValueNormalizer over a pg::Connection (borrowed; must outlive this object and be used by
/// no one else meanwhile). The connection must carry walcast's session settings
/// (pg::ConnectParams::options: DateStyle ISO, TimeZone UTC, IntervalStyle postgres,
/// extra_float_digits 3), the same as the replication connection whose tuples the filters
/// see. Type names and collations are cached per OID/name. Queries are
/// parameterised: the user's value is always a bound parameter; the type is spliced only as
/// Postgres's own format_type() output for the OID.
class PgValueNormalizer final : public ValueNormalizer {
public:
    explicit PgValueNormalizer(const pg::Connection& conn) : conn_(conn) {}

    SqlResult<std::string> cast(std::string_view value, const pg::PgType& type) override;
    SqlResult<std::vector<std::optional<std::string>>>
    cast_array(std::string_view array_literal, const pg::PgType& element_type) override;
    SqlResult<std::monostate> check_regex(std::string_view pattern) override;
    SqlResult<std::vector<std::string>> enum_labels(pg::Oid enum_type) override;
    SqlResult<std::string> type_display_name(pg::Oid type) override;
    SqlResult<CollationInfo> collation(std::string_view name) override;

private:
    /// format_type(oid, NULL): a quoted, schema-qualified-when-needed type name safe to splice.
    SqlResult<std::string> sql_type_name(pg::Oid type);

    const pg::Connection& conn_;
    std::map<pg::Oid, std::string> sql_names_;
    std::map<pg::Oid, std::string> display_names_;
    std::map<std::string, CollationInfo, std::less<>> collations_;
};

} // namespace walcast::core
