#include "pg/pg_type.hpp"

#include <unordered_map>

namespace walcast::pg {

TypeKind kind_from_typname(const std::string& n) {
    static const std::unordered_map<std::string, TypeKind> kinds = {
        {"bool", TypeKind::Bool},
        {"int2", TypeKind::Int},
        {"int4", TypeKind::Int},
        {"int8", TypeKind::Int},
        {"oid", TypeKind::Int},
        {"numeric", TypeKind::Numeric},
        {"float4", TypeKind::Float},
        {"float8", TypeKind::Float},
        {"text", TypeKind::Text},
        {"varchar", TypeKind::Text},
        {"bpchar", TypeKind::Text},
        {"name", TypeKind::Text},
        {"char", TypeKind::Text},
        {"citext", TypeKind::Text},
        {"json", TypeKind::Json},
        {"jsonb", TypeKind::Json},
        {"bytea", TypeKind::Bytea},
        {"uuid", TypeKind::Uuid},
        {"date", TypeKind::Date},
        {"time", TypeKind::Time},
        {"timetz", TypeKind::TimeTz},
        {"timestamp", TypeKind::Timestamp},
        {"timestamptz", TypeKind::TimestampTz},
        {"interval", TypeKind::Interval},
    };
    auto it = kinds.find(n);
    return it == kinds.end() ? TypeKind::Other : it->second;
}

} // namespace walcast::pg
