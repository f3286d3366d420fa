#include "core/authorization/row_policy.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace walcast::core {

namespace {

// The table's part of the catalog a RowPolicy depends on, as the versions of its catalog rows:
// every change to a row (ALTER/CREATE/DROP POLICY, ENABLE/FORCE ROW LEVEL SECURITY, a new owner
// or name, ADD COLUMN, a rewrite, a schema rename) writes a new row version with a new xmin, or
// adds or removes a row; comparing xmins is far cheaper than comparing the contents (a policy's
// expression tree). VACUUM's in-place updates keep xmin; a freeze changes it, which only
// rebuilds the policy once. Column renames and drops touch only pg_attribute (too costly to
// read every time): the checker notices them by the columns a change carries, or by the
// statement failing, and rebuilds then.
constexpr std::string_view table_fingerprint_expr =
    "concat_ws('|', c.xmin, (SELECT n.xmin FROM pg_catalog.pg_namespace n"
    "  WHERE n.oid = c.relnamespace),"
    " (SELECT string_agg(p.oid || ':' || p.xmin, ',' ORDER BY p.oid)"
    "  FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid))";

// Roles and memberships decide which policies apply (has_privs_of_role walks memberships
// through roles with INHERIT) and who bypasses RLS.
constexpr std::string_view roles_fingerprint_expr =
    "concat_ws('|',"
    " (SELECT string_agg(m.roleid || ':' || m.member || ':' || m.xmin, ',' ORDER BY m.roleid,"
    "  m.member) FROM pg_catalog.pg_auth_members m),"
    " (SELECT string_agg(r.oid || ':' || r.rolsuper || r.rolinherit || r.rolbypassrls, ','"
    "  ORDER BY r.oid) FROM pg_catalog.pg_roles r))";

const boost::json::value* member(const boost::json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::string string_of(const boost::json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    if (!v || !v->is_string()) return {};
    return std::string(v->get_string());
}

bool bool_of(const boost::json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    return v && v->is_bool() && v->get_bool();
}

// A value inside a double-quoted record field or array element: '"' and '\' escaped with '\'.
void append_quoted(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

// A quoted identifier, as quote_ident() would write it when quoting is needed (always here).
void append_identifier(std::string& out, std::string_view name) {
    out += '"';
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

} // namespace

std::string row_policy_query(const pg::Connection& conn, const std::string& role, pg::Oid table) {
    std::string q =
        "SELECT json_build_object("
        // check_enable_rls(): RLS applies unless the role bypasses it (superusers always do)
        // or has the privileges of the owner without FORCE ROW LEVEL SECURITY.
        "'active', c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls)"
        "  AND (c.relforcerowsecurity OR NOT pg_has_role(r.oid, c.relowner, 'USAGE')),"
        "'name', format('%s.%s', n.nspname, c.relname),"
        "'type', format('%I.%I', n.nspname, c.relname),"
        "'alias', quote_ident(c.relname),"
        "'columns', (SELECT json_agg(json_build_object('name', a.attname, 'num', a.attnum,"
        " 'domain', t.typtype = 'd') ORDER BY a.attnum)"
        "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
        "  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),"
        // SELECT and ALL policies with a USING clause whose roles apply (check_role_for_policy):
        // PUBLIC (stored alone as {0}) or a role whose privileges the role has.
        "'policies', (SELECT json_agg(json_build_object('name', p.polname,"
        " 'permissive', p.polpermissive, 'using', pg_get_expr(p.polqual, p.polrelid),"
        " 'whole_row', p.polqual::text ~ ':varattno 0 ',"
        // Reads other tables: a relation other than its own, or a function or operator that is
        // not built in, except the claim helpers when they are plain SQL without FROM.
        " 'reads_database', EXISTS (SELECT FROM pg_catalog.pg_depend d"
        "   WHERE d.classid = 'pg_catalog.pg_policy'::regclass AND d.objid = p.oid"
        "   AND d.deptype = 'n' AND ("
        "    (d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> p.polrelid)"
        "    OR (d.refclassid = 'pg_catalog.pg_operator'::regclass AND NOT EXISTS (SELECT FROM"
        "     pg_catalog.pg_operator o WHERE o.oid = d.refobjid"
        "     AND o.oprnamespace = 'pg_catalog'::regnamespace))"
        "    OR (d.refclassid = 'pg_catalog.pg_proc'::regclass AND NOT EXISTS (SELECT FROM"
        "     pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace"
        "     JOIN pg_catalog.pg_language fl ON fl.oid = f.prolang WHERE f.oid = d.refobjid"
        "     AND (fn.nspname = 'pg_catalog' OR (fn.nspname = 'auth'"
        "      AND f.proname IN ('uid', 'role', 'jwt') AND fl.lanname = 'sql'"
        "      AND NOT f.prosecdef AND f.prosrc !~* '\\mfrom\\M')))))),"
        " 'columns', ARRAY(SELECT d.refobjsubid FROM pg_catalog.pg_depend d"
        "   WHERE d.classid = 'pg_catalog.pg_policy'::regclass AND d.objid = p.oid"
        "   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = p.polrelid"
        "   AND d.refobjsubid > 0)) ORDER BY p.polname)"
        "  FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*')"
        "  AND p.polqual IS NOT NULL AND (p.polroles[1] = 0 OR EXISTS (SELECT FROM"
        "  unnest(p.polroles) AS x(oid) WHERE x.oid <> 0"
        "  AND pg_has_role(r.oid, x.oid, 'USAGE')))),"
        "'fingerprint', ";
    q += table_fingerprint_expr;
    q += ", 'roles_fingerprint', ";
    q += roles_fingerprint_expr;
    q += ") FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
         " JOIN pg_catalog.pg_roles r ON r.rolname = " +
         conn.quote_literal(role) + " WHERE c.oid = " + std::to_string(table);
    return q;
}

Result<RowPolicyPtr> parse_row_policy(std::optional<std::string_view> json, const std::string& role,
                                      pg::Oid table) {
    if (!json)
        return make_error(Errc::NotFound, "role " + role + " or table " + std::to_string(table) +
                                              " no longer exists");
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(*json, ec);
    if (ec || !v.is_object())
        return make_error(Errc::Internal, "unreadable row policy description: " + ec.message());
    const auto& o = v.get_object();
    auto p = std::make_shared<RowPolicy>();
    p->table = table;
    p->role = role;
    p->qualified_name = string_of(o, "name");
    p->type_name = string_of(o, "type");
    p->alias = string_of(o, "alias");
    p->fingerprint = string_of(o, "fingerprint");
    p->roles_fingerprint = string_of(o, "roles_fingerprint");
    std::vector<int> attnums;
    if (const auto* cols = member(o, "columns"); cols && cols->is_array()) {
        for (const auto& c : cols->get_array()) {
            if (!c.is_object()) continue;
            RowTypeColumn col;
            col.name = string_of(c.get_object(), "name");
            col.domain = bool_of(c.get_object(), "domain");
            const auto* num = member(c.get_object(), "num");
            attnums.push_back(num && num->is_int64() ? static_cast<int>(num->get_int64()) : 0);
            p->columns.push_back(std::move(col));
        }
    }
    if (!bool_of(o, "active")) {
        p->mode = RowSecurity::Off;
        return RowPolicyPtr(std::move(p));
    }

    struct Policy {
        std::string name;
        bool permissive = true;
        std::string using_sql;
    };
    std::vector<Policy> permissive, restrictive;
    if (const auto* pols = member(o, "policies"); pols && pols->is_array()) {
        for (const auto& x : pols->get_array()) {
            if (!x.is_object()) continue;
            const auto& po = x.get_object();
            Policy pol{string_of(po, "name"), bool_of(po, "permissive"), string_of(po, "using")};
            if (pol.using_sql.empty()) continue;
            if (bool_of(po, "whole_row")) p->whole_row = true;
            if (bool_of(po, "reads_database")) p->reads_database = true;
            if (const auto* deps = member(po, "columns"); deps && deps->is_array()) {
                for (const auto& d : deps->get_array()) {
                    if (!d.is_int64()) continue;
                    for (std::size_t i = 0; i < attnums.size(); ++i)
                        if (attnums[i] == d.get_int64()) p->columns[i].needed = true;
                }
            }
            (pol.permissive ? permissive : restrictive).push_back(std::move(pol));
        }
    }
    if (p->whole_row)
        for (auto& c : p->columns)
            c.needed = true;
    // Postgres loads a table's policies in name order and prepends each to its list, so the
    // permissive clauses are OR-ed in reverse name order; restrictive ones are sorted by name
    // (strcmp). Names are `name` values: compare bytes.
    std::sort(restrictive.begin(), restrictive.end(),
              [](const Policy& a, const Policy& b) { return a.name < b.name; });
    std::sort(permissive.begin(), permissive.end(),
              [](const Policy& a, const Policy& b) { return a.name > b.name; });
    if (permissive.empty()) {
        p->mode = RowSecurity::DenyAll;
        return RowPolicyPtr(std::move(p));
    }
    p->mode = RowSecurity::Policies;
    std::string any;
    for (std::size_t i = 0; i < permissive.size(); ++i) {
        if (i) any += " OR ";
        any += "(" + permissive[i].using_sql + ")";
        p->policies.push_back(permissive[i].name);
    }
    any = "(" + any + ") IS TRUE";
    if (restrictive.empty()) {
        p->predicate = std::move(any);
    } else {
        // Each restrictive clause is its own security qual in Postgres, evaluated in order and
        // only while the previous ones held; a CASE keeps that order.
        p->predicate = "CASE";
        for (const auto& r : restrictive) {
            p->predicate += " WHEN (" + r.using_sql + ") IS NOT TRUE THEN false";
            p->policies.push_back(r.name);
        }
        p->predicate += " ELSE " + any + " END";
    }
    if (p->whole_row) {
        // The row must be a value of the table's own type (a policy passes it whole to a
        // function): take each element out of the array as a one-row set of that type.
        p->statement = "SELECT walcast_i.i FROM generate_subscripts($1, 1) AS walcast_i(i) WHERE "
                       "(SELECT " +
                       p->predicate + " FROM unnest($1[walcast_i.i:walcast_i.i]) AS " + p->alias +
                       ")";
    } else {
        // One function scan: the columns under their own names, the position last under a
        // name no column has.
        std::string ord = "walcast_ordinal";
        for (bool clash = true; clash;) {
            clash = false;
            for (const auto& c : p->columns)
                if (c.name == ord) clash = true;
            if (clash) ord += '_';
        }
        std::string cols;
        for (const auto& c : p->columns) {
            append_identifier(cols, c.name);
            cols += ", ";
        }
        p->statement = "SELECT " + p->alias + "." + ord + " FROM unnest($1) WITH ORDINALITY AS " +
                       p->alias + "(" + cols + ord + ") WHERE " + p->predicate;
    }
    return RowPolicyPtr(std::move(p));
}

std::string fingerprint_statement() {
    std::string q = "SELECT c.oid, ";
    q += table_fingerprint_expr;
    q += " FROM pg_catalog.pg_class c WHERE c.oid = ANY($1) UNION ALL SELECT 0, ";
    q += roles_fingerprint_expr;
    return q;
}

std::uint64_t column_names_hash(const capture::Relation& relation) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const auto& c : relation.columns) {
        for (unsigned char ch : c.name) {
            h ^= ch;
            h *= 1099511628211ULL;
        }
        h ^= 0xff; // separator: no name holds it
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

void append_record_literal(std::string& out, std::span<const std::optional<std::string_view>> v) {
    out += '(';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        if (v[i]) append_quoted(out, *v[i]);
    }
    out += ')';
}

PolicyRows bind_policy_rows(const RowPolicy& policy, std::span<const RowVersion> versions,
                            std::vector<RowVerdict>& verdicts, std::vector<std::string>& missing) {
    PolicyRows out;
    verdicts.assign(versions.size(), RowVerdict::Failed);
    missing.assign(versions.size(), std::string());
    if (policy.mode != RowSecurity::Policies) {
        const RowVerdict v =
            policy.mode == RowSecurity::Off ? RowVerdict::Visible : RowVerdict::Hidden;
        std::fill(verdicts.begin(), verdicts.end(), v);
        return out;
    }

    // The array literal of the versions' rows: {"(…)","(…)"}.
    out.array = "{";
    std::vector<std::optional<std::string_view>> fields(policy.columns.size());
    std::string record;
    const capture::Relation* mapped = nullptr;
    std::vector<int> to_relation; // row-type column -> relation column index or -1
    for (std::size_t i = 0; i < versions.size(); ++i) {
        const RowVersion& rv = versions[i];
        if (rv.relation != mapped) {
            mapped = rv.relation;
            to_relation.assign(policy.columns.size(), -1);
            for (std::size_t c = 0; c < policy.columns.size(); ++c)
                to_relation[c] = rv.relation->column_index(policy.columns[c].name);
        }
        bool complete = true;
        for (std::size_t c = 0; c < policy.columns.size() && complete; ++c) {
            const RowTypeColumn& col = policy.columns[c];
            fields[c].reset();
            if (!col.needed && !col.domain) continue; // read by no policy: NULL
            const int rc = to_relation[c];
            const auto at = static_cast<std::size_t>(rc);
            const pg::Tuple* t = rv.values;
            if (rc >= 0 && at < t->size() && t->is_unchanged_toast(at) && rv.unchanged_from &&
                at < rv.unchanged_from->size())
                t = rv.unchanged_from; // unchanged: the old tuple's value is the new one
            if (rc < 0) out.absent_column = true;
            const auto state =
                rc >= 0 && at < t->size() ? t->state(at) : pg::ValueState::UnchangedToast;
            if (state == pg::ValueState::Text) {
                fields[c] = t->text(at);
            } else if (state != pg::ValueState::Null) {
                // Not in the change, and read by a policy: it cannot be guessed (the live row
                // may be a later version), so the version is undecidable.
                complete = false;
                missing[i] = col.name;
            }
        }
        if (!complete) continue;
        if (!out.rows.empty()) out.array += ',';
        record.clear();
        append_record_literal(record, fields);
        append_quoted(out.array, record);
        out.rows.push_back(i);
    }
    out.array += '}';
    return out;
}

} // namespace walcast::core
