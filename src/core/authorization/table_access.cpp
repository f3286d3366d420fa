#include "core/authorization/table_access.hpp"

#include "common/logging.hpp"

namespace walcast::core {

Result<TableAccessPtr> AccessCache::access(AccessSource& source, const std::string& role,
                                           pg::Oid oid) {
    std::string key = role;
    key += '\0';
    key += std::to_string(oid);
    {
        std::lock_guard lock(mu_);
        auto it = access_.find(key);
        if (it != access_.end()) return it->second;
    }
    auto read = source.read_access(role, oid);
    if (!read) return std::move(read).error();
    auto a = std::make_shared<const TableAccess>(std::move(read).value());
    std::lock_guard lock(mu_);
    return access_.emplace(std::move(key), std::move(a)).first->second;
}

Result<const pg::Connection*> PgAccessSource::usable() {
    const pg::Connection* conn = connection();
    if (!conn) return make_error(Errc::Unavailable, "no connection to the database");
    return conn;
}

const pg::Connection* PgAccessSource::connection() {
    if (borrowed_) return borrowed_;
    if (owned_.healthy()) return &owned_;
    if (!params_) return nullptr;
    auto c = pg::Connection::connect(*params_);
    if (!c) {
        log::error("catalog connection: {}", c.error().message);
        return nullptr;
    }
    owned_ = std::move(c).value();
    return &owned_;
}

Result<TableAccess> PgAccessSource::read_access(const std::string& role, pg::Oid oid) {
    auto conn_r = usable();
    if (!conn_r) return std::move(conn_r).error();
    const pg::Connection* conn = *conn_r;
    // has_*_privilege with a role name fails for unknown roles, so check existence first in
    // the same statement (the CASE keeps the privilege functions from running for them).
    auto res = conn->exec(
        "SELECT r.oid IS NOT NULL,"
        " CASE WHEN r.oid IS NULL THEN false ELSE c.relrowsecurity"
        "   AND NOT (r.rolsuper OR r.rolbypassrls)"
        "   AND (c.relforcerowsecurity OR NOT pg_has_role(r.oid, c.relowner, 'USAGE')) END,"
        " CASE WHEN r.oid IS NULL THEN NULL ELSE"
        "  (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a"
        "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        "     AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')"
        // Without USAGE on the schema the role cannot SELECT anything from the table.
        "     AND has_schema_privilege(r.oid, c.relnamespace, 'USAGE')) END"
        "   , c.relrowsecurity"
        " FROM pg_class c LEFT JOIN pg_roles r ON r.rolname = $1 WHERE c.oid = $2",
        {role, std::to_string(oid)});
    if (!res) return res.error().to_error().context("reading privileges of role " + role);
    TableAccess access;
    auto* a = &access;
    if (res->size() == 1) {
        a->role_exists = res->boolean(0, 0).value_or(false);
        a->rls = res->boolean(0, 1).value_or(false);
        a->table_rls = res->boolean(0, 3).value_or(false);
        if (auto cols = res->text(0, 2)) {
            // text[] output of plain identifiers: {a,b,"c d"}
            std::string_view s = *cols;
            if (s.size() >= 2) s = s.substr(1, s.size() - 2);
            std::string cur;
            bool quoted = false;
            for (std::size_t i = 0; i < s.size(); ++i) {
                char ch = s[i];
                if (quoted) {
                    if (ch == '\\' && i + 1 < s.size()) {
                        cur += s[++i];
                    } else if (ch == '"') {
                        quoted = false;
                    } else {
                        cur += ch;
                    }
                } else if (ch == '"') {
                    quoted = true;
                } else if (ch == ',') {
                    a->readable_columns.push_back(std::move(cur));
                    cur.clear();
                } else {
                    cur += ch;
                }
            }
            if (!s.empty()) a->readable_columns.push_back(std::move(cur));
        }
    }
    return access;
}

Result<PrimaryKeyPtr> AccessCache::primary_key(AccessSource& source, pg::Oid oid) {
    {
        std::lock_guard lock(mu_);
        auto it = keys_.find(oid);
        if (it != keys_.end()) return it->second;
    }
    auto read = source.read_primary_key(oid);
    if (!read) return std::move(read).error();
    auto pk = std::make_shared<const PrimaryKey>(std::move(read).value());
    std::lock_guard lock(mu_);
    return keys_.emplace(oid, std::move(pk)).first->second;
}

Result<PrimaryKey> PgAccessSource::read_primary_key(pg::Oid oid) {
    auto conn_r = usable();
    if (!conn_r) return std::move(conn_r).error();
    auto res =
        (*conn_r)->exec("SELECT a.attname, format_type(a.atttypid, NULL)"
                        " FROM pg_index i"
                        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
                        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
                        " WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.n",
                        {std::to_string(oid)});
    if (!res) return res.error().to_error().context("reading the primary key");
    PrimaryKey pk;
    for (int r = 0; r < res->size(); ++r) {
        pk.columns.push_back(res->string(r, 0));
        pk.type_names.push_back(res->string(r, 1));
    }
    return pk;
}

Result<bool> AccessCache::refresh_if_changed(AccessSource& source) {
    auto read = source.read_fingerprint();
    if (!read) return std::move(read).error();
    std::string fp = std::move(read).value();
    std::lock_guard lock(mu_);
    if (fp == fingerprint_) return false;
    const bool had = !fingerprint_.empty();
    fingerprint_ = std::move(fp);
    access_.clear();
    keys_.clear();
    return had;
}

Result<std::string> PgAccessSource::read_fingerprint() {
    auto conn_r = usable();
    if (!conn_r) return std::move(conn_r).error();
    auto res = (*conn_r)->exec(
        "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM ("
        " SELECT 'c' || c.oid || ':' || coalesce(c.relacl::text, '') || ':' || c.relrowsecurity"
        "   || c.relforcerowsecurity || ':' || c.relowner AS x"
        "   FROM pg_class c WHERE c.relkind IN ('r', 'p')"
        "   AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, "
        "'information_schema'::regnamespace)"
        " UNION ALL SELECT 'a' || a.attrelid || '.' || a.attnum || ':' || a.attacl::text"
        "   FROM pg_attribute a WHERE a.attacl IS NOT NULL"
        " UNION ALL SELECT 'i' || i.indrelid || ':' || i.indkey::text FROM pg_index i"
        "   WHERE i.indisprimary"
        " UNION ALL SELECT 'n' || n.oid || ':' || coalesce(n.nspacl::text, '') FROM pg_namespace n"
        " UNION ALL SELECT 'r' || r.oid || ':' || r.rolname || r.rolsuper || r.rolbypassrls"
        "   FROM pg_roles r"
        " UNION ALL SELECT 'm' || m.roleid || ':' || m.member FROM pg_auth_members m"
        ") s");
    if (!res) return res.error().to_error().context("checking for privilege changes");
    return res->string(0, 0);
}

void AccessCache::clear() {
    std::lock_guard lock(mu_);
    access_.clear();
    keys_.clear();
}

capture::ColumnMask readable_mask(const TableAccess& access, const capture::Relation& rel) {
    capture::ColumnMask m(rel.columns.size(), false);
    for (std::size_t i = 0; i < rel.columns.size(); ++i)
        m[i] = access.readable(rel.columns[i].name);
    return m;
}

} // namespace walcast::core
