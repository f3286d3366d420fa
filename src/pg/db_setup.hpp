// The SQL that prepares a database for walcast the way Supabase projects come prepared: the
// roles JWTs name (anon, authenticated, service_role), the `auth` helpers policies call, and
// the publication — plus the demo `todos` table of the embedded quick start. Idempotent:
// existing objects are left as they are.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

/// The `walcast db init` statements, in order, for the given publication name. Each is safe to
/// run again: roles, schema, functions and the publication are created only when missing.
std::vector<std::string> db_init_statements(const std::string& publication);

/// The demo table of the embedded quick start, in schema public.
constexpr std::string_view demo_table = "todos";

/// The statement of seed 000's Quick start step 7, inserting one todo.
std::string demo_insert_sql();

/// The statements of the embedded quick start's demo table: public.todos (id serial primary
/// key, task text), RLS on with an anonymous read policy, replica identity FULL, grants to the
/// API roles. Created only when missing.
std::vector<std::string> demo_statements();

/// Runs statements in order on conn inside one transaction. Errors name the failing statement
/// and, for missing privileges, the fix (run as a superuser or print the SQL with --print).
Status run_statements(const Connection& conn, const std::vector<std::string>& statements);

} // namespace walcast::pg
