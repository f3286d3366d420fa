// libpq RAII wrappers: a move-only Connection (PGconn), Rows (an owned PGresult with field
// readers that cannot throw), connection parameters, and the one execution path: every query
// walcast runs goes through Connection::exec / exec_script / exec_multi and fails with a
// PgError.
#pragma once

#include "common/result.hpp"
#include "pg/pg_error.hpp"
#include "pg/pg_type.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
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

/// The rows of one statement's result. Move-only. Every reader checks its row and column
/// against the result's shape and never throws: a NULL, a missing field or text that does not
/// parse is nullopt (or "" for string()).
class Rows {
public:
    Rows() = default;
    explicit Rows(PgResult result) : res_(std::move(result)) {}

    /// The PGresult (null for a default-constructed Rows).
    const PGresult* get() const { return res_.get(); }
    /// Rows in the result (PQntuples; 0 for none).
    int size() const { return res_ ? PQntuples(res_.get()) : 0; }
    bool empty() const { return size() == 0; }
    /// Fields per row (PQnfields).
    int columns() const { return res_ ? PQnfields(res_.get()) : 0; }
    /// True for a statement that returns rows (SELECT, …), false for a command (SET, BEGIN).
    bool returns_tuples() const { return res_ && PQresultStatus(res_.get()) == PGRES_TUPLES_OK; }

    /// The field's text; nullopt for SQL NULL or a row/column outside the result.
    std::optional<std::string_view> text(int row, int col) const {
        if (!res_ || row < 0 || col < 0 || row >= size() || col >= columns() ||
            PQgetisnull(res_.get(), row, col))
            return std::nullopt;
        return std::string_view(PQgetvalue(res_.get(), row, col),
                                static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
    }
    /// The field's text, "" for NULL or outside the result.
    std::string string(int row, int col) const {
        auto v = text(row, col);
        return v ? std::string(*v) : std::string();
    }
    /// A boolean field ("t"/"f"); nullopt for NULL, outside the result or other text.
    std::optional<bool> boolean(int row, int col) const {
        auto v = text(row, col);
        if (v == std::optional<std::string_view>("t")) return true;
        if (v == std::optional<std::string_view>("f")) return false;
        return std::nullopt;
    }
    /// An integer field (decimal text, the whole field, in T's range); nullopt otherwise.
    template <class T> std::optional<T> integer(int row, int col) const {
        static_assert(std::is_integral_v<T>);
        auto v = text(row, col);
        if (!v || v->empty()) return std::nullopt;
        T out{};
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
        if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
        return out;
    }

private:
    PgResult res_;
};

/// Where and how to connect: either a libpq URI/conninfo (database_url) or discrete fields.
/// Extra run-time options (GUCs) are passed with libpq's "options" keyword.
struct ConnectParams {
    std::string database_url; ///< wins over the discrete fields when non-empty
    std::string host;
    std::string port;
    std::string dbname;
    std::string user;
    std::string password;
    /// libpq sslmode (disable, allow, prefer, require, verify-ca, verify-full); empty = libpq's
    /// default or what database_url says. When set it wins over database_url's.
    std::string sslmode;
    std::string application_name = "walcast";
    /// GUCs set at connection start: every walcast connection renders values the same way
    /// (ISO dates, UTC, full float precision, hex bytea), which the filter evaluator and JSON
    /// rendering rely on.
    std::string options = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres "
                          "-c extra_float_digits=3 -c bytea_output=hex";

    /// Human-readable target for messages: "host:port/db as user" (never the password).
    std::string describe() const;
};

/// What Postgres says about one prepared statement (Connection::prepare): its parameter and
/// result types, where each result column comes from, and what the statement reads.
struct StatementShape {
    /// One result column (PQfname, PQftype, PQftable, PQftablecol).
    struct Column {
        std::string name;
        Oid type = 0;
        Oid table = 0;        ///< the table the column is a plain reference to; 0 = an expression
        int table_column = 0; ///< its attnum in that table; 0 when table is 0
    };
    /// A relation the statement reads, views replaced by what they read (recursively) and the
    /// row-level security policies of each table by what they read.
    struct Read {
        Oid relation = 0;
        std::string schema;
        std::string name;
        char kind = 'r';                  ///< pg_class.relkind: r, p, m (matview), f (foreign)
        std::vector<std::string> columns; ///< the columns read, attnum order
        bool whole_row = false;           ///< the relation as a whole (a whole-row reference)
        /// Read (also) through a view or another table's row-level security policy, not only
        /// by the statement's own clauses (and its own policies' row-local conditions).
        bool indirect = false;
    };
    std::vector<Oid> parameter_types; ///< $1, $2, … as Postgres inferred them
    std::vector<Column> columns;      ///< empty: the statement returns no rows (not a query)
    std::vector<Read> reads;          ///< sorted by relation oid
    /// Every relation the analysis went through: the tables of reads and the views between
    /// the statement and them (sorted, unique). Their catalog rows (pg_class, pg_rewrite,
    /// pg_policy) are what a schema change to the statement's meaning rewrites.
    std::vector<Oid> relations;
    /// Functions the statement calls (schema-qualified names): what they read is not known.
    std::vector<std::string> functions;
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

    /// Runs one statement with text parameters (nullopt = NULL; extended query protocol);
    /// expects tuples or command ok. Errors: the server's PgError (SQLSTATE, message, detail,
    /// hint), or one with sqlstate "" and libpq's message when no server answer came
    /// (connection_lost when the connection broke).
    SqlResult<Rows> exec(std::string_view sql,
                         const std::vector<std::optional<std::string>>& params = {}) const;

    /// Runs one or more statements without parameters (simple query protocol); returns the last
    /// result. For DDL/set-up scripts. Errors as exec().
    SqlResult<Rows> exec_script(std::string_view sql) const;

    /// What exec_multi() returns: the results of the statements that ran, in order, and the
    /// error of the first one that failed (the server skips the statements after it; inside an
    /// explicit transaction block that transaction is then aborted and the caller must roll it
    /// back).
    struct MultiResult {
        std::vector<Rows> results;
        std::optional<PgError> error;
        explicit operator bool() const { return !error; }
    };

    /// Sends one or more ;-separated statements in one round trip (simple query protocol: one
    /// message, the results streamed back) and reads every result. Errors as exec().
    MultiResult exec_multi(std::string_view script) const;

    /// Prepares sql (one statement, $n parameters) as the named prepared statement `name` on
    /// this connection ("" = the unnamed one) and describes it: PQprepare + PQdescribePrepared
    /// for the parameter and column types, and — for a statement that returns rows — the
    /// relations and columns it reads, from the dependencies Postgres records for a temporary
    /// SQL-standard function (BEGIN ATOMIC) with the statement as its body, created and rolled
    /// back at once (inside a savepoint when the connection is in a transaction). That is the
    /// parse-time view (no dependence on plans or parameter values): every column any clause
    /// references, views resolved through their rewrite rules, policies through pg_policy.
    /// Errors: the server's PgError from the prepare (syntax, unknown relation, a parameter whose
    /// type cannot be inferred, several statements) or from the analysis (a statement that
    /// cannot be a function body, e.g. a utility command).
    SqlResult<StatementShape> prepare(std::string_view name, std::string_view sql) const;

    /// The PgError of a failed result on this connection (res may be null: no answer).
    PgError error_of(const PGresult* res) const;

    /// Server version as an integer (150018 for 15.18).
    int server_version() const { return PQserverVersion(conn_.get()); }

    /// Quotes an identifier ("My Table" -> "\"My Table\"") with libpq's escaping.
    std::string quote_ident(std::string_view ident) const;
    /// Quotes a literal ('it''s') with libpq's escaping.
    std::string quote_literal(std::string_view literal) const;

private:
    std::unique_ptr<PGconn, PgConnDeleter> conn_;
};

/// The error fields of a failed result (transient from its SQLSTATE; connection_lost unknown:
/// false). res may be null.
PgError result_pg_error(const PGresult* res);

/// The server error of a failed result as "<message> (SQLSTATE xxxxx)".
std::string result_error(const PGresult* res);

} // namespace walcast::pg
