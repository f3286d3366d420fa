// libpq RAII wrappers: a move-only Connection (PGconn) and Result (PGresult), connection
// parameters built from Config, and small query helpers returning Result values.
#pragma once

#include "common/result.hpp"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};

/// Owns one PGresult.
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

/// Where and how to connect: either a libpq URI/conninfo (database_url) or discrete fields.
/// Extra run-time options (GUCs) are passed with libpq's "options" keyword.
struct ConnectParams {
    std::string database_url; ///< wins over the discrete fields when non-empty
    std::string host;
    std::string port;
    std::string dbname;
    std::string user;
    std::string password;
    std::string application_name = "walcast";
    /// GUCs set at connection start: every walcast connection renders values the same way
    /// (ISO dates, UTC, full float precision, hex bytea), which the filter evaluator and JSON
    /// rendering rely on.
    std::string options = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres "
                          "-c extra_float_digits=3 -c bytea_output=hex";

    /// Human-readable target for messages: "host:port/db as user" (never the password).
    std::string describe() const;
};

/// A move-only owner of a PGconn. Not thread-safe: one thread uses it at a time.
class Connection {
public:
    Connection() = default;
    explicit Connection(PGconn* raw) : conn_(raw) {}

    /// Opens a blocking connection. replication = true opens a walsender connection
    /// (replication=database) able to run replication commands and SQL.
    /// Errors: Unavailable with libpq's message plus the fix when it is recognisable.
    static Result<Connection> connect(const ConnectParams& params, bool replication = false);

    PGconn* get() const { return conn_.get(); }
    explicit operator bool() const { return conn_ != nullptr; }
    bool healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

    /// Runs SQL with text parameters (nullopt = NULL); expects tuples or command ok.
    /// Errors carry the server's message and SQLSTATE ("ERROR 42P01: relation … does not exist").
    Result<PgResult> exec(std::string_view sql,
                          const std::vector<std::optional<std::string>>& params = {}) const;

    /// Runs one or more statements without parameters (simple query protocol); returns the last
    /// result. For DDL/setup scripts.
    Result<PgResult> exec_script(std::string_view sql) const;

    /// Server version as an integer (150018 for 15.18).
    int server_version() const { return PQserverVersion(conn_.get()); }

    /// Quotes an identifier ("My Table" -> "\"My Table\"") with libpq's escaping.
    std::string quote_ident(std::string_view ident) const;
    /// Quotes a literal ('it''s') with libpq's escaping.
    std::string quote_literal(std::string_view literal) const;

private:
    std::unique_ptr<PGconn, PgConnDeleter> conn_;
};

/// The server error of a failed result as "<message> (SQLSTATE xxxxx)".
std::string result_error(const PGresult* res);

/// SQLSTATE of a failed result, or "" when there is none.
std::string result_sqlstate(const PGresult* res);

/// Field accessor: nullopt for SQL NULL.
std::optional<std::string_view> field(const PGresult* res, int row, int col);

} // namespace walcast::pg
