#include "capture/change.hpp"

namespace walcast::capture {

const char* to_string(ChangeKind kind) {
    switch (kind) {
    case ChangeKind::Insert:
        return "INSERT";
    case ChangeKind::Update:
        return "UPDATE";
    case ChangeKind::Delete:
        return "DELETE";
    case ChangeKind::Truncate:
        return "TRUNCATE";
    }
    return "UNKNOWN";
}

RelationPtr make_relation(pg::RelationDescription d) {
    auto rel = std::make_shared<Relation>();
    rel->oid = d.oid;
    rel->schema = std::move(d.schema);
    rel->table = std::move(d.table);
    switch (d.replica_identity) {
    case 'n':
        rel->replica_identity = ReplicaIdentity::Nothing;
        break;
    case 'f':
        rel->replica_identity = ReplicaIdentity::Full;
        break;
    case 'i':
        rel->replica_identity = ReplicaIdentity::Index;
        break;
    default:
        rel->replica_identity = ReplicaIdentity::Default;
        break;
    }
    rel->columns.reserve(d.columns.size());
    for (auto& c : d.columns) {
        Column col;
        col.name = std::move(c.name);
        col.type = std::move(c.type);
        col.type_modifier = c.type_modifier;
        col.is_primary_key = c.is_primary_key;
        col.is_identity_key = c.is_identity_key;
        col.collation = std::move(c.collation);
        rel->columns.push_back(std::move(col));
    }
    return rel;
}

} // namespace walcast::capture
