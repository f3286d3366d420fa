#include "capture/relation_cache.hpp"

namespace walcast::capture {

Result<RelationPtr> RelationCache::update(const pg::pgoutput::Relation& m, pg::Catalog& catalog) {
    auto rel = std::make_shared<Relation>();
    rel->oid = m.oid;
    rel->schema = m.namespace_name;
    rel->table = m.name;
    switch (m.replica_identity) {
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

    std::vector<pg::Oid> type_oids;
    type_oids.reserve(m.columns.size());
    for (const auto& c : m.columns)
        type_oids.push_back(c.type_oid);
    auto types = catalog.types(type_oids);
    if (!types) return std::move(types).error().context("resolving column types of " + m.name);
    auto cat_cols = catalog.columns(m.oid);
    if (!cat_cols) return std::move(cat_cols).error().context("reading columns of " + m.name);

    rel->columns.reserve(m.columns.size());
    for (std::size_t i = 0; i < m.columns.size(); ++i) {
        Column col;
        col.name = m.columns[i].name;
        col.type = (*types)[i];
        col.type_modifier = m.columns[i].type_modifier;
        col.is_identity_key = m.columns[i].is_identity_key;
        for (const auto& cc : *cat_cols) {
            if (cc.name == col.name) {
                col.is_primary_key = cc.is_primary_key;
                col.collation = cc.collation;
                break;
            }
        }
        rel->columns.push_back(std::move(col));
    }
    RelationPtr ptr = std::move(rel);
    relations_[m.oid] = ptr;
    return ptr;
}

} // namespace walcast::capture
