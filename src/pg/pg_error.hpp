// PgError: the one error value for everything Postgres (or libpq talking to it) reports — the
// SQLSTATE, the message fields of the server's ErrorResponse, and whether retrying may help.
#pragma once

#include "common/result.hpp"
#include "pg/sqlstate.hpp"

#include <string>

namespace walcast::pg {

/// An error as Postgres raised it, or would raise it (PostgreSQL docs, "Error and Notice
/// Message Fields": C, M, D, H). Aggregate: {sqlstate, message, detail, hint, transient}.
struct PgError {
    std::string sqlstate; ///< five characters; "" when the error did not come from the server
    std::string message;  ///< the primary message (libpq's own when sqlstate is "")
    std::string detail;
    std::string hint;
    /// Retrying later may succeed (connection lost, admin shutdown, serialization failure,
    /// timeout — see is_transient_sqlstate); the statement itself is not known to be wrong.
    bool transient = false;
    /// The connection broke (libpq's status is no longer OK): it must be reopened.
    bool connection_lost = false;

    /// "<message> (SQLSTATE xxxxx)", or the message alone without a SQLSTATE.
    std::string describe() const {
        return sqlstate.empty() ? message : message + " (SQLSTATE " + sqlstate + ")";
    }
    /// As a walcast Error: Unavailable when the connection is lost, else InvalidInput;
    /// message = describe().
    Error to_error() const {
        return Error{connection_lost ? Errc::Unavailable : Errc::InvalidInput, describe()};
    }
    bool is(std::string_view code) const { return sqlstate == code; }
};

/// A value or a PgError.
template <class T> using SqlResult = Result<T, PgError>;

} // namespace walcast::pg
