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
