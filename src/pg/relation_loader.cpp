#include "pg/relation_loader.hpp"

namespace walcast::pg {

Result<RelationDescription> RelationLoader::load(Oid relation_oid) {
    auto t = catalog_->table(relation_oid);
    if (!t) return std::move(t).error();
    if (!*t)
        return make_error(Errc::NotFound, "the table with OID " + std::to_string(relation_oid) +
                                              " no longer exists");
    const CatalogTable& table = **t;
    std::vector<Oid> type_oids;
    type_oids.reserve(table.columns.size());
    for (const auto& c : table.columns)
        type_oids.push_back(c.type_oid);
    auto types = catalog_->types(type_oids);
    if (!types) return std::move(types).error().context("resolving column types of " + table.name);

    RelationDescription d;
    d.oid = relation_oid;
    d.schema = table.schema;
    d.table = table.name;
    d.replica_identity = table.replica_identity;
    d.columns.reserve(table.columns.size());
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const auto& c = table.columns[i];
        ColumnDescription col;
        col.name = c.name;
        col.type = (*types)[i];
        col.type_modifier = c.type_modifier;
        col.is_primary_key = c.is_primary_key;
        switch (table.replica_identity) {
        case 'f':
            col.is_identity_key = true;
            break;
        case 'i':
            col.is_identity_key = c.in_identity_index;
            break;
        case 'n':
            col.is_identity_key = false;
            break;
        default:
            col.is_identity_key = c.is_primary_key;
            break;
        }
        col.collation = c.collation;
        d.columns.push_back(std::move(col));
    }
    return d;
}

Result<RelationDescription> RelationLoader::describe(const pgoutput::Relation& m) {
    std::vector<Oid> type_oids;
    type_oids.reserve(m.columns.size());
    for (const auto& c : m.columns)
        type_oids.push_back(c.type_oid);
    auto types = catalog_->types(type_oids);
    if (!types) return std::move(types).error().context("resolving column types of " + m.name);
    auto table = catalog_->table(m.oid);
    if (!table) return std::move(table).error().context("reading columns of " + m.name);

    RelationDescription d;
    d.oid = m.oid;
    d.schema = m.namespace_name;
    d.table = m.name;
    d.replica_identity = m.replica_identity;
    d.columns.reserve(m.columns.size());
    for (std::size_t i = 0; i < m.columns.size(); ++i) {
        ColumnDescription col;
        col.name = m.columns[i].name;
        col.type = (*types)[i];
        col.type_modifier = m.columns[i].type_modifier;
        col.is_identity_key = m.columns[i].is_identity_key;
        if (*table) {
            for (const auto& cc : (*table)->columns) {
                if (cc.name == col.name) {
                    col.is_primary_key = cc.is_primary_key;
                    col.collation = cc.collation;
                    break;
                }
            }
        }
        d.columns.push_back(std::move(col));
    }
    return d;
}

} // namespace walcast::pg
