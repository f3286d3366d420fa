// PgType: what walcast knows about a column type — its pg_type.typname and the coarse kind
// that decides JSON rendering (spec §6.7) and filter comparison semantics (spec §5.3).
#pragma once

#include <cstdint>
#include <string>

namespace walcast::pg {

using Oid = std::uint32_t;

/// How values of a type are rendered and compared. Derived from the type (and, for arrays,
/// its element type); anything unrecognised is Other (rendered and compared as text).
enum class TypeKind : std::uint8_t {
    Bool,
    Int,     ///< int2, int4, int8, oid
    Numeric, ///< numeric (arbitrary precision; NaN/Infinity possible)
    Float,   ///< float4, float8
    Text,    ///< text, varchar, bpchar, name, citext-like strings: JSON strings
    Json,    ///< json, jsonb: embedded as JSON
    Bytea,   ///< rendered as hex without the \x prefix
    Uuid,
    Date,
    Time,        ///< time without time zone
    TimeTz,      ///< time with time zone
    Timestamp,   ///< timestamp without time zone
    TimestampTz, ///< timestamp with time zone
    Interval,
    Enum,
    Array, ///< see element
    Other,
};

/// A resolved column type.
struct PgType {
    Oid oid = 0;
    std::string name; ///< pg_type.typname, e.g. "int4", "_text", "Color"
    TypeKind kind = TypeKind::Other;
    Oid element_oid = 0;                     ///< arrays: element type oid
    TypeKind element_kind = TypeKind::Other; ///< arrays: element kind
    char delimiter = ','; ///< arrays: typdelim of the element type (',' except box: ';')
};

/// Kind of a built-in scalar type by typname ("int4" -> Int); Other when not built in.
/// Enums are recognised from pg_type.typtype = 'e' by the catalog, not by name.
TypeKind kind_from_typname(const std::string& typname);

/// Well-known OIDs of built-in types (PostgreSQL src/include/catalog/pg_type.dat).
namespace oids {
constexpr Oid bool_ = 16, bytea = 17, name = 19, int8 = 20, int2 = 21, int4 = 23, text = 25,
              oid = 26, json = 114, float4 = 700, float8 = 701, bpchar = 1042, varchar = 1043,
              date = 1082, time = 1083, timestamp = 1114, timestamptz = 1184, interval = 1186,
              timetz = 1266, numeric = 1700, uuid = 2950, jsonb = 3802;
} // namespace oids

} // namespace walcast::pg
