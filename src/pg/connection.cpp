#include "pg/connection.hpp"

namespace walcast::pg {

std::string ConnectParams::describe() const {
    if (!database_url.empty()) {
        // Hide a password in a URI: postgres://user:secret@host -> postgres://user:***@host
        std::string s = database_url;
        auto scheme = s.find("://");
        auto at = s.find('@');
        if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
            auto colon = s.find(':', scheme + 3);
            if (colon != std::string::npos && colon < at)
                s.replace(colon + 1, at - colon - 1, "***");
        }
        return s;
    }
    return (host.empty() ? std::string("localhost") : host) + ":" + (port.empty() ? "5432" : port) +
           "/" + dbname + " as " + user;
}

namespace {

std::string hint_for(const std::string& msg) {
    if (msg.find("Connection refused") != std::string::npos ||
        msg.find("No such file or directory") != std::string::npos)
        return " (is Postgres running and reachable? check DB_HOST/DB_PORT or DATABASE_URL)";
    if (msg.find("password authentication failed") != std::string::npos)
        return " (check DB_USER/DB_PASSWORD or the credentials in DATABASE_URL)";
    if (msg.find("no pg_hba.conf entry for replication") != std::string::npos)
        return " (add a 'host replication <user> <address> <method>' line to pg_hba.conf and "
               "reload Postgres)";
    if (msg.find("must be superuser or replication role") != std::string::npos ||
        msg.find("permission denied to start WAL sender") != std::string::npos)
        return " (run ALTER ROLE <user> WITH REPLICATION, or connect as a user that has it)";
    if (msg.find("does not exist") != std::string::npos)
        return " (check DB_NAME/DB_USER or DATABASE_URL)";
    return "";
}

} // namespace

Result<Connection> Connection::connect(const ConnectParams& p, bool replication) {
    std::vector<const char*> keys, vals;
    auto add = [&](const char* k, const std::string& v) {
        if (!v.empty()) {
            keys.push_back(k);
            vals.push_back(v.c_str());
        }
    };
    // dbname first so that a URI expands and the discrete keywords below override nothing it
    // sets unless given (libpq: later keywords win over the expanded ones).
    if (!p.database_url.empty()) {
        add("dbname", p.database_url);
    } else {
        add("host", p.host);
        add("port", p.port);
        add("dbname", p.dbname);
        add("user", p.user);
        add("password", p.password);
    }
    add("sslmode", p.sslmode);
    add("application_name", p.application_name);
    add("options", p.options);
    const std::string repl = "database";
    if (replication) add("replication", repl);
    const std::string timeout = "10";
    add("connect_timeout", timeout);
    keys.push_back(nullptr);
    vals.push_back(nullptr);

    Connection c(PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1));
    if (!c.conn_) return make_error(Errc::Unavailable, "out of memory creating a libpq connection");
    // Server notices ("schema already exists, skipping") are not errors: keep them out of the
    // user's terminal.
    PQsetNoticeProcessor(
        c.get(), [](void*, const char*) {}, nullptr);
    if (PQstatus(c.get()) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(c.get());
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
            msg.pop_back();
        return make_error(Errc::Unavailable,
                          "cannot connect to " + p.describe() + ": " + msg + hint_for(msg));
    }
    return c;
}

namespace {

std::string error_field(const PGresult* res, int code) {
    const char* v = res ? PQresultErrorField(res, code) : nullptr;
    return v ? v : "";
}

std::string trimmed(std::string m) {
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
        m.pop_back();
    return m;
}

bool succeeded(const PGresult* res) {
    const auto st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

} // namespace

PgError result_pg_error(const PGresult* res) {
    PgError e;
    if (!res) {
        e.message = "no result (connection lost?)";
        e.transient = true;
        return e;
    }
    e.sqlstate = error_field(res, PG_DIAG_SQLSTATE);
    e.message = error_field(res, PG_DIAG_MESSAGE_PRIMARY);
    if (e.message.empty()) e.message = trimmed(PQresultErrorMessage(res));
    e.detail = error_field(res, PG_DIAG_MESSAGE_DETAIL);
    e.hint = error_field(res, PG_DIAG_MESSAGE_HINT);
    e.transient = is_transient_sqlstate(e.sqlstate);
    return e;
}

std::string result_error(const PGresult* res) {
    return result_pg_error(res).describe();
}

PgError Connection::error_of(const PGresult* res) const {
    PgError e = result_pg_error(res);
    if (!res || e.message.empty()) e.message = trimmed(PQerrorMessage(conn_.get()));
    e.connection_lost = PQstatus(conn_.get()) != CONNECTION_OK;
    if (e.connection_lost) e.transient = true;
    return e;
}

SqlResult<Rows> Connection::exec(std::string_view sql,
                                 const std::vector<std::optional<std::string>>& params) const {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& v : params)
        values.push_back(v ? v->c_str() : nullptr);
    std::string q(sql);
    PgResult res(PQexecParams(conn_.get(), q.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
    if (!succeeded(res.get())) return error_of(res.get());
    return Rows(std::move(res));
}

SqlResult<Rows> Connection::exec_script(std::string_view sql) const {
    std::string q(sql);
    PgResult res(PQexec(conn_.get(), q.c_str()));
    if (res && PQresultStatus(res.get()) == PGRES_EMPTY_QUERY) return Rows(std::move(res));
    if (!succeeded(res.get())) return error_of(res.get());
    return Rows(std::move(res));
}

Connection::MultiResult Connection::exec_multi(std::string_view script) const {
    MultiResult out;
    std::string q(script);
    if (!PQsendQuery(conn_.get(), q.c_str())) {
        out.error = error_of(nullptr);
        return out;
    }
    while (PGresult* raw = PQgetResult(conn_.get())) {
        PgResult res(raw);
        if (out.error) continue; // drain what follows the failure
        if (succeeded(raw))
            out.results.emplace_back(std::move(res));
        else
            out.error = error_of(raw);
    }
    return out;
}

namespace {

// What the temporary probe function reads: its pg_depend rows on relations, views replaced by
// their _RETURN rule's dependencies and tables with row-level security joined by their
// policies' (a view's rule and a policy also depend on their own relation: left out, except a
// policy's columns of its table). refobjsubid 0 is the relation as a whole. The views passed
// through are listed too (StatementShape::relations), not as reads. `indirect`: some path to
// the relation went through a view or another table's policy (a policy's columns of its own
// table are row-local: a policy cannot query its own table, Postgres reports infinite
// recursion).
constexpr const char* reads_sql = R"SQL(
WITH RECURSIVE deps(relid, attnum, depth, indirect) AS (
  SELECT d.refobjid, d.refobjsubid, 0, false FROM pg_depend d
   WHERE d.classid = 'pg_proc'::regclass AND d.objid = $1::oid
     AND d.refclassid = 'pg_class'::regclass
  UNION
  SELECT d.refobjid, d.refobjsubid, x.depth + 1, d.refobjid <> c.oid
    FROM deps x
    JOIN pg_class c ON c.oid = x.relid
    JOIN LATERAL (
      SELECT 'pg_rewrite'::regclass AS classid, r.oid AS objid FROM pg_rewrite r
       WHERE c.relkind = 'v' AND r.ev_class = c.oid
      UNION ALL
      SELECT 'pg_policy'::regclass, p.oid FROM pg_policy p
       WHERE c.relrowsecurity AND p.polrelid = c.oid) src ON true
    JOIN pg_depend d ON d.classid = src.classid AND d.objid = src.objid
     AND d.refclassid = 'pg_class'::regclass
     AND NOT (d.refobjid = c.oid AND (c.relkind = 'v' OR d.refobjsubid = 0))
   WHERE x.depth < 16)
SELECT x.relid, n.nspname, c.relname, c.relkind::text, x.attnum, a.attname, x.indirect
  FROM (SELECT relid, attnum, bool_or(indirect) AS indirect FROM deps GROUP BY relid, attnum) x
  JOIN pg_class c ON c.oid = x.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = x.relid AND a.attnum = x.attnum AND x.attnum > 0
 WHERE c.relkind IN ('r', 'p', 'm', 'f', 'v')
 ORDER BY x.relid, x.attnum)SQL";

constexpr const char* functions_sql = R"SQL(
SELECT DISTINCT n.nspname || '.' || p.proname
  FROM pg_depend d
  JOIN pg_proc p ON p.oid = d.refobjid
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE d.classid = 'pg_proc'::regclass AND d.objid = $1::oid
   AND d.refclassid = 'pg_proc'::regclass
 ORDER BY 1)SQL";

std::string_view without_trailing_semicolons(std::string_view sql) {
    while (!sql.empty() && (sql.back() == ';' || sql.back() == ' ' || sql.back() == '\n' ||
                            sql.back() == '\t' || sql.back() == '\r'))
        sql.remove_suffix(1);
    return sql;
}

} // namespace

SqlResult<StatementShape> Connection::prepare(std::string_view name, std::string_view sql) const {
    const std::string stmt(name);
    const std::string text(sql);
    {
        PgResult res(PQprepare(conn_.get(), stmt.c_str(), text.c_str(), 0, nullptr));
        if (!succeeded(res.get())) return error_of(res.get());
    }
    PgResult desc(PQdescribePrepared(conn_.get(), stmt.c_str()));
    if (!succeeded(desc.get())) return error_of(desc.get());
    StatementShape shape;
    for (int i = 0; i < PQnparams(desc.get()); ++i)
        shape.parameter_types.push_back(PQparamtype(desc.get(), i));
    for (int i = 0; i < PQnfields(desc.get()); ++i) {
        StatementShape::Column c;
        c.name = PQfname(desc.get(), i);
        c.type = PQftype(desc.get(), i);
        c.table = PQftable(desc.get(), i);
        if (c.table != 0) c.table_column = PQftablecol(desc.get(), i);
        shape.columns.push_back(std::move(c));
    }
    if (shape.columns.empty()) return shape;

    // The analysis: a temporary function with the statement as its body, rolled back.
    const auto txn = PQtransactionStatus(conn_.get());
    if (txn == PQTRANS_INERROR) {
        PgError e;
        e.message = "cannot analyse a statement in an aborted transaction";
        return e;
    }
    const bool nested = txn == PQTRANS_INTRANS;
    if (auto r = exec(nested ? "SAVEPOINT walcast_prepare" : "BEGIN"); !r) return r.error();
    auto rollback = [&] {
        (void)exec(nested ? "ROLLBACK TO SAVEPOINT walcast_prepare" : "ROLLBACK");
        if (nested) (void)exec("RELEASE SAVEPOINT walcast_prepare");
    };
    auto analyse = [&]() -> SqlResult<StatementShape> {
        std::string oids = "{";
        for (std::size_t i = 0; i < shape.parameter_types.size(); ++i)
            oids += (i ? "," : "") + std::to_string(shape.parameter_types[i]);
        oids += "}";
        auto types = exec("SELECT format_type(t, NULL) FROM unnest($1::oid[]) WITH ORDINALITY "
                          "u(t, n) ORDER BY n",
                          {oids});
        if (!types) return types.error();
        std::string create = "CREATE FUNCTION pg_temp.walcast_statement_probe(";
        for (int i = 0; i < types->size(); ++i)
            create += (i ? ", " : "") + types->string(i, 0);
        // A newline before the end: a trailing -- comment in sql must not swallow it.
        create += ") RETURNS SETOF record LANGUAGE sql BEGIN ATOMIC ";
        create += without_trailing_semicolons(sql);
        create += "\n; END";
        if (auto r = exec(create); !r) return r.error();
        auto fn = exec("SELECT p.oid FROM pg_proc p WHERE p.pronamespace = pg_my_temp_schema() "
                       "AND p.proname = 'walcast_statement_probe'");
        if (!fn) return fn.error();
        const std::string fn_oid = fn->string(0, 0);
        auto reads = exec(reads_sql, {fn_oid});
        if (!reads) return reads.error();
        for (int r = 0; r < reads->size(); ++r) {
            const auto oid = reads->integer<Oid>(r, 0).value_or(0);
            if (shape.relations.empty() || shape.relations.back() != oid)
                shape.relations.push_back(oid);       // rows come by relation oid
            if (reads->string(r, 3) == "v") continue; // a view: what it reads is listed too
            if (shape.reads.empty() || shape.reads.back().relation != oid) {
                StatementShape::Read read;
                read.relation = oid;
                read.schema = reads->string(r, 1);
                read.name = reads->string(r, 2);
                const std::string kind = reads->string(r, 3);
                read.kind = kind.empty() ? 'r' : kind[0];
                shape.reads.push_back(std::move(read));
            }
            auto& read = shape.reads.back();
            if (reads->string(r, 6) == "t") read.indirect = true;
            if (reads->integer<int>(r, 4).value_or(0) <= 0)
                read.whole_row = true;
            else if (auto col = reads->text(r, 5))
                read.columns.emplace_back(*col);
        }
        auto fns = exec(functions_sql, {fn_oid});
        if (!fns) return fns.error();
        for (int r = 0; r < fns->size(); ++r)
            shape.functions.push_back(fns->string(r, 0));
        return shape;
    };
    auto out = analyse();
    rollback();
    return out;
}

std::string Connection::quote_ident(std::string_view ident) const {
    char* q = PQescapeIdentifier(conn_.get(), ident.data(), ident.size());
    if (!q) return {};
    std::string s(q);
    PQfreemem(q);
    return s;
}

std::string Connection::quote_literal(std::string_view literal) const {
    char* q = PQescapeLiteral(conn_.get(), literal.data(), literal.size());
    if (!q) return {};
    std::string s(q);
    PQfreemem(q);
    return s;
}

} // namespace walcast::pg
