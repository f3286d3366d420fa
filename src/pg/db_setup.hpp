// The SQL that prepares a database for walcast the way Supabase projects come prepared: the
// roles JWTs name (anon, authenticated, service_role), the `auth` helpers policies call, and
// the publication (the embedded quick start's demo table is app/dev_environment's). Idempotent:
// existing objects are left as they are.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

/// The `walcast db init` statements, in order, for the given publication name. Each is safe to
/// run again: roles, schema, functions and the publication are created only when missing. The
/// publication is created empty, as on Supabase (tables are added with ALTER PUBLICATION … ADD
/// TABLE), or FOR ALL TABLES when all_tables (needs a superuser).
std::vector<std::string> db_init_statements(const std::string& publication, bool all_tables);

/// Runs statements in order on conn inside one transaction. Errors name the failing statement
/// and, for missing privileges, the fix (run as a superuser or print the SQL with --print).
Status run_statements(const Connection& conn, const std::vector<std::string>& statements);

} // namespace walcast::pg
