// Whether the server closed an idle connection, without blocking: for a connection kept open
// between rare statements (the capture's catalog connection), to notice a shutdown.
#pragma once

#include "pg/connection.hpp"

#include <string>

namespace walcast::pg {

/// For an idle connection: whether the server closed it (terminated its backend — FATAL 57P01
/// at a fast shutdown or pg_terminate_backend — or the connection broke), with libpq's last
/// words in `why`. Reads only what has arrived (a notice or notification is consumed and
/// ignored); false for a null connection.
bool closed_by_server(Connection& conn, std::string& why);

} // namespace walcast::pg
