#include "graphql/catalog/read_catalog.hpp"

#include "pg/sql_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace walcast::graphql::catalog {

namespace {

// $1 schemas text[], $2 roles text[], $3 whether to return the document (else only its md5).
constexpr std::string_view catalog_sql = R"sql(
WITH RECURSIVE
roles AS (
    SELECT rolname FROM pg_roles WHERE rolname = ANY ($2::text[])
    UNION ALL
    SELECT current_user WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ANY ($2::text[]))
),
rels AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind, array_position($1::text[], n.nspname::text) AS spos,
           EXISTS (SELECT 1 FROM roles r
                    WHERE has_schema_privilege(r.rolname, n.oid, 'USAGE')
                      AND (has_table_privilege(r.rolname, c.oid, 'SELECT')
                           OR has_any_column_privilege(r.rolname, c.oid, 'SELECT'))) AS readable
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT c.relispartition
),
cols AS (
    SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.attnotnull,
           EXISTS (SELECT 1 FROM roles r
                    WHERE has_column_privilege(r.rolname, a.attrelid, a.attnum, 'SELECT')) AS readable
      FROM pg_attribute a JOIN rels ON rels.oid = a.attrelid
     WHERE a.attnum > 0 AND NOT a.attisdropped
),
typ(oid) AS (
    SELECT atttypid FROM cols
    UNION
    SELECT x.o FROM typ JOIN pg_type t ON t.oid = typ.oid
     CROSS JOIN LATERAL (
        SELECT t.typelem WHERE t.typcategory = 'A' AND t.typelem <> 0
        UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
        UNION ALL SELECT a.atttypid FROM pg_attribute a
                   WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                     AND NOT a.attisdropped) x(o)
),
doc AS (
    SELECT json_build_object(
        'relations', (SELECT coalesce(json_agg(json_build_object(
            'oid', r.oid::bigint, 'schema', r.nspname, 'name', r.relname, 'kind', r.relkind,
            'readable', r.readable,
            'columns', (SELECT coalesce(json_agg(json_build_object(
                    'name', c.attname, 'attnum', c.attnum, 'type', c.atttypid::bigint,
                    'notNull', c.attnotnull, 'readable', c.readable) ORDER BY c.attnum), '[]')
                  FROM cols c WHERE c.attrelid = r.oid),
            'primaryKey', (SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]')
                  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = r.oid AND i.indisprimary),
            'foreignKeys', (SELECT coalesce(json_agg(json_build_object(
                    'name', f.conname, 'references', f.confrelid::bigint,
                    'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                  FROM unnest(f.conkey) WITH ORDINALITY k(attnum, ord)
                                  JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum),
                    'referencedColumns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                  FROM unnest(f.confkey) WITH ORDINALITY k(attnum, ord)
                                  JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.attnum))
                    ORDER BY f.conname), '[]')
                  FROM pg_constraint f WHERE f.conrelid = r.oid AND f.contype = 'f'))
            ORDER BY r.spos, r.relname), '[]') FROM rels r),
        'types', (SELECT coalesce(json_agg(json_build_object(
            'oid', t.oid::bigint, 'schema', n.nspname, 'name', t.typname, 'typtype', t.typtype,
            'category', t.typcategory,
            'element', CASE WHEN t.typtype = 'd' THEN t.typbasetype::bigint ELSE t.typelem::bigint END,
            'labels', (SELECT coalesce(json_agg(e.enumlabel ORDER BY e.enumsortorder), '[]')
                         FROM pg_enum e WHERE e.enumtypid = t.oid),
            'attributes', (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', a.atttypid::bigint)
                                  ORDER BY a.attnum), '[]')
                             FROM pg_attribute a
                            WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                              AND NOT a.attisdropped))
            ORDER BY t.oid), '[]')
          FROM typ JOIN pg_type t ON t.oid = typ.oid JOIN pg_namespace n ON n.oid = t.typnamespace)
    )::text AS body
)
SELECT md5(body), CASE WHEN $3 THEN body END FROM doc
)sql";

Error shape_error(std::string_view what) {
    return make_error(Errc::Internal,
                      "the GraphQL catalog statement returned an unexpected " + std::string(what));
}

RelationKind relation_kind(std::string_view k) {
    if (k == "p") return RelationKind::PartitionedTable;
    if (k == "v") return RelationKind::View;
    if (k == "m") return RelationKind::MaterializedView;
    if (k == "f") return RelationKind::ForeignTable;
    return RelationKind::Table;
}

std::vector<std::string> strings(const boost::json::value& v) {
    std::vector<std::string> out;
    if (const auto* a = v.if_array())
        for (const auto& s : *a)
            if (s.is_string()) out.emplace_back(s.get_string());
    return out;
}

/// An OID member (a JSON integer; 0 when absent or not one).
Oid oid_of(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v && v->is_int64() && v->get_int64() >= 0) return static_cast<Oid>(v->get_int64());
    if (v && v->is_uint64()) return static_cast<Oid>(v->get_uint64());
    return 0;
}

std::string str(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool flag(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->get_bool();
}

const boost::json::array* array_of(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? v->if_array() : nullptr;
}

} // namespace

Result<CatalogSnapshot> parse_catalog_document(std::string_view json,
                                               std::vector<std::string> schemas) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(json, ec);
    if (ec || !doc.is_object()) return shape_error("document (not a JSON object)");
    CatalogSnapshot snap;
    snap.schemas = std::move(schemas);
    const auto* rels = array_of(doc.get_object(), "relations");
    const auto* types = array_of(doc.get_object(), "types");
    if (!rels || !types) return shape_error("document (no relations or types)");
    for (const auto& rv : *rels) {
        if (!rv.is_object()) return shape_error("relation");
        const auto& r = rv.get_object();
        RelationInfo rel;
        rel.oid = oid_of(r, "oid");
        rel.schema = str(r, "schema");
        rel.name = str(r, "name");
        rel.kind = relation_kind(str(r, "kind"));
        rel.readable = flag(r, "readable");
        if (const auto* cols = array_of(r, "columns")) {
            for (const auto& cv : *cols) {
                if (!cv.is_object()) return shape_error("column");
                const auto& c = cv.get_object();
                ColumnInfo col;
                col.name = str(c, "name");
                if (const auto* n = c.if_contains("attnum"); n && n->is_int64())
                    col.attnum = static_cast<std::int16_t>(n->get_int64());
                col.type_oid = oid_of(c, "type");
                col.not_null = flag(c, "notNull");
                col.readable = flag(c, "readable");
                rel.columns.push_back(std::move(col));
            }
        }
        if (const auto* pk = r.if_contains("primaryKey")) rel.primary_key = strings(*pk);
        if (const auto* fks = array_of(r, "foreignKeys")) {
            for (const auto& fv : *fks) {
                if (!fv.is_object()) return shape_error("foreign key");
                const auto& f = fv.get_object();
                ForeignKey fk;
                fk.name = str(f, "name");
                fk.referenced_oid = oid_of(f, "references");
                if (const auto* c = f.if_contains("columns")) fk.columns = strings(*c);
                if (const auto* c = f.if_contains("referencedColumns"))
                    fk.referenced_columns = strings(*c);
                if (fk.columns.empty() || fk.columns.size() != fk.referenced_columns.size())
                    return shape_error("foreign key (column lists differ)");
                rel.foreign_keys.push_back(std::move(fk));
            }
        }
        snap.relations.push_back(std::move(rel));
    }
    for (const auto& tv : *types) {
        if (!tv.is_object()) return shape_error("type");
        const auto& t = tv.get_object();
        TypeInfo type;
        type.oid = oid_of(t, "oid");
        type.schema = str(t, "schema");
        type.name = str(t, "name");
        const std::string typtype = str(t, "typtype");
        const std::string category = str(t, "category");
        type.element_oid = oid_of(t, "element");
        if (typtype == "e") {
            type.kind = TypeInfo::Kind::Enum;
        } else if (typtype == "c") {
            type.kind = TypeInfo::Kind::Composite;
        } else if (typtype == "d") {
            type.kind = TypeInfo::Kind::Domain;
        } else if (category == "A" && type.element_oid != 0) {
            type.kind = TypeInfo::Kind::Array;
        } else {
            type.kind = TypeInfo::Kind::Base;
            type.element_oid = 0;
        }
        if (const auto* l = t.if_contains("labels")) type.enum_labels = strings(*l);
        if (const auto* attrs = array_of(t, "attributes")) {
            for (const auto& av : *attrs) {
                if (!av.is_object()) return shape_error("attribute");
                type.attributes.push_back(
                    {str(av.get_object(), "name"), oid_of(av.get_object(), "type")});
            }
        }
        snap.types.emplace(type.oid, std::move(type));
    }
    return snap;
}

Result<CatalogSnapshot> read_catalog(const pg::Connection& conn,
                                     const std::vector<std::string>& schemas,
                                     const std::vector<std::string>& roles, bool fingerprint_only) {
    // SET LOCAL needs a transaction; a failed statement ends it with ROLLBACK below.
    if (auto begin = conn.exec("BEGIN READ ONLY"); !begin) return begin.error().to_error();
    auto rollback = [&] { (void)conn.exec("ROLLBACK"); };
    if (auto jit = conn.exec("SET LOCAL jit = off"); !jit) {
        rollback();
        return jit.error().to_error();
    }
    auto rows = conn.exec(catalog_sql, {pg::array_literal(schemas), pg::array_literal(roles),
                                        fingerprint_only ? "f" : "t"});
    rollback();
    if (!rows) {
        auto err = rows.error().to_error();
        return err.context("reading the GraphQL schema's catalog");
    }
    if (rows->size() != 1) return shape_error("number of rows");
    CatalogSnapshot snap;
    if (!fingerprint_only) {
        auto body = rows->text(0, 1);
        if (!body) return shape_error("document (NULL)");
        auto parsed = parse_catalog_document(*body, schemas);
        if (!parsed) return parsed;
        snap = std::move(parsed).value();
    } else {
        snap.schemas = schemas;
    }
    snap.fingerprint = rows->string(0, 0);
    return snap;
}

} // namespace walcast::graphql::catalog
