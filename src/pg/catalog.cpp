#include "pg/catalog.hpp"

namespace walcast::pg {

namespace {

std::string oid_array(const std::vector<Oid>& oids) {
    std::string s = "{";
    for (std::size_t i = 0; i < oids.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(oids[i]);
    }
    s += '}';
    return s;
}

Oid oid_at(const Rows& rows, int row, int col) {
    return rows.integer<Oid>(row, col).value_or(0);
}

} // namespace

Status Catalog::load(const std::vector<Oid>& wanted) {
    std::vector<Oid> missing;
    for (Oid o : wanted)
        if (o != 0 && !types_.count(o)) missing.push_back(o);
    // Element and base types refer to further types: at most a few rounds (array of domain
    // over enum is three levels).
    for (int round = 0; round < 4 && !missing.empty(); ++round) {
        auto r = conn_->exec(
            "SELECT t.oid, t.typname, n.nspname, t.typtype, "
            "       CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE 0 END, "
            "       t.typbasetype, coalesce(e.typdelim, ',') "
            "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "LEFT JOIN pg_type e ON e.oid = t.typelem "
            "WHERE t.oid = ANY($1::oid[])",
            {oid_array(missing)});
        if (!r) return r.error().to_error().context("reading pg_type");
        const Rows& rows = *r;
        std::vector<Oid> next;
        for (int i = 0; i < rows.size(); ++i) {
            Entry e;
            Oid oid = oid_at(rows, i, 0);
            e.name = rows.string(i, 1);
            e.namespace_name = rows.string(i, 2);
            std::string tt = rows.string(i, 3);
            e.typtype = tt.empty() ? 'b' : tt[0];
            e.element = oid_at(rows, i, 4);
            e.base = e.typtype == 'd' ? oid_at(rows, i, 5) : 0;
            std::string delim = rows.string(i, 6);
            e.delimiter = delim.empty() ? ',' : delim[0];
            for (Oid ref : {e.element, e.base})
                if (ref != 0 && !types_.count(ref)) next.push_back(ref);
            types_.emplace(oid, std::move(e));
        }
        // OIDs the catalog does not know are remembered as unknown so they are not re-queried.
        for (Oid o : missing)
            if (!types_.count(o)) types_.emplace(o, Entry{"unknown", "", 'b', 0, 0, ','});
        missing = std::move(next);
    }
    return {};
}

TypeKind Catalog::kind_of(Oid oid, int depth) const {
    auto it = types_.find(oid);
    if (it == types_.end() || depth > 8) return TypeKind::Other;
    const Entry& e = it->second;
    if (e.typtype == 'd') return kind_of(e.base, depth + 1);
    if (e.typtype == 'e') return TypeKind::Enum;
    if (e.element != 0) return TypeKind::Array;
    if (e.namespace_name == "pg_catalog") return kind_from_typname(e.name);
    // Extension types: citext compares and renders as text wherever it is installed.
    if (e.name == "citext") return TypeKind::Text;
    return TypeKind::Other;
}

PgType Catalog::resolve(Oid oid) const {
    PgType t;
    t.oid = oid;
    auto it = types_.find(oid);
    if (it == types_.end()) {
        t.name = "unknown";
        return t;
    }
    t.name = it->second.name;
    t.kind = kind_of(oid, 0);
    // A domain over an array type renders as that array: take element facts from the base.
    Oid array_oid = oid;
    for (int depth = 0; depth < 8; ++depth) {
        auto a = types_.find(array_oid);
        if (a == types_.end() || a->second.typtype != 'd') break;
        array_oid = a->second.base;
    }
    if (t.kind == TypeKind::Array) {
        auto a = types_.find(array_oid);
        if (a != types_.end()) {
            t.element_oid = a->second.element;
            t.element_kind = kind_of(a->second.element, 0);
            t.delimiter = a->second.delimiter;
        }
    }
    return t;
}

Result<std::vector<PgType>> Catalog::types(const std::vector<Oid>& oids) {
    if (auto st = load(oids); !st) return std::move(st).error();
    std::vector<PgType> out;
    out.reserve(oids.size());
    for (Oid o : oids)
        out.push_back(resolve(o));
    return out;
}

Result<PgType> Catalog::type(Oid oid) {
    auto r = types({oid});
    if (!r) return std::move(r).error();
    return std::move(r->front());
}

Result<std::optional<CatalogTable>> Catalog::table(Oid relation_oid) {
    auto r = conn_->exec(
        "SELECT n.nspname, c.relname, c.relreplident::text, a.attname, a.atttypid, a.atttypmod, "
        "       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid "
        "               AND i.indisprimary AND a.attnum = ANY(i.indkey)), "
        "       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid "
        "               AND i.indisreplident AND a.attnum = ANY(i.indkey)), "
        "       CASE WHEN a.attcollation IN (0, 100) THEN '' ELSE co.collname END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
        "WHERE c.oid = $1::oid ORDER BY a.attnum",
        {std::to_string(relation_oid)});
    if (!r) return r.error().to_error().context("reading pg_class/pg_attribute/pg_index");
    const Rows& rows = *r;
    if (rows.empty()) return std::optional<CatalogTable>();
    CatalogTable t;
    t.oid = relation_oid;
    t.schema = rows.string(0, 0);
    t.name = rows.string(0, 1);
    const std::string ri = rows.string(0, 2);
    t.replica_identity = ri.empty() ? 'd' : ri[0];
    t.columns.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
        if (!rows.text(i, 3)) continue; // a table without columns
        CatalogColumn col;
        col.name = rows.string(i, 3);
        col.type_oid = oid_at(rows, i, 4);
        col.type_modifier = rows.integer<std::int32_t>(i, 5).value_or(-1);
        col.is_primary_key = rows.boolean(i, 6).value_or(false);
        col.in_identity_index = rows.boolean(i, 7).value_or(false);
        col.collation = rows.string(i, 8);
        t.columns.push_back(std::move(col));
    }
    return std::optional<CatalogTable>(std::move(t));
}

Status Catalog::check_wal_level() {
    auto r = conn_->exec("SELECT current_setting('wal_level')");
    if (!r) return r.error().to_error().context("reading wal_level");
    std::string level = r->string(0, 0);
    if (level != "logical")
        return make_error(Errc::Config,
                          "wal_level is " + level +
                              "; logical replication needs wal_level = logical: run ALTER "
                              "SYSTEM SET wal_level = logical and restart Postgres");
    return {};
}

Status Catalog::check_publication(const std::string& publication) {
    auto r = conn_->exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {publication});
    if (!r) return r.error().to_error().context("reading pg_publication");
    if (r->empty()) {
        std::string q = conn_->quote_ident(publication);
        return make_error(Errc::Config,
                          "publication \"" + publication +
                              "\" does not exist in this database; create it with CREATE "
                              "PUBLICATION " +
                              q +
                              " FOR ALL TABLES (or FOR TABLE t1, t2), or "
                              "set PUBLICATION to an existing one");
    }
    return {};
}

Status Catalog::check_replication_privilege() {
    auto r = conn_->exec(
        "SELECT rolname, rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user");
    if (!r) return r.error().to_error().context("reading pg_roles");
    if (r->size() == 1 && r->boolean(0, 1) != std::optional<bool>(true)) {
        std::string role = r->string(0, 0);
        return make_error(Errc::Config,
                          "role \"" + role + "\" may not use replication; run ALTER ROLE " +
                              conn_->quote_ident(role) +
                              " WITH REPLICATION as a superuser, or connect as a role that "
                              "has it");
    }
    return {};
}

Result<std::optional<SlotState>> Catalog::slot(const std::string& slot_name) {
    auto r = conn_->exec("SELECT plugin, slot_type, database, temporary, active_pid, wal_status "
                         "FROM pg_replication_slots WHERE slot_name = $1",
                         {slot_name});
    if (!r) return r.error().to_error().context("reading pg_replication_slots");
    const Rows& rows = *r;
    if (rows.empty()) return std::optional<SlotState>();
    SlotState s;
    s.plugin = rows.string(0, 0);
    s.slot_type = rows.string(0, 1);
    s.database = rows.string(0, 2);
    s.temporary = rows.boolean(0, 3).value_or(false);
    s.active_pid = rows.integer<int>(0, 4).value_or(0);
    s.wal_status = rows.string(0, 5);
    return std::optional<SlotState>(std::move(s));
}

} // namespace walcast::pg
