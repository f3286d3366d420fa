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

/// The `realtime` schema objects private channels and Broadcast from Database use (spec
/// §7.3.7, §7.4): schema, `realtime.messages` (partitioned by day, RLS on), `realtime.topic()`,
/// `realtime.send()`, `realtime.send_binary()`, `realtime.broadcast_changes()`, and the
/// partitions of yesterday … today + 3. Part of db_init_statements, followed by the publication
/// `supabase_realtime_messages_publication` FOR TABLE realtime.messages (Broadcast from
/// Database's stream, the reference's name) when missing; each object is created only
/// when missing, so an app's existing ones are used as they are.
std::vector<std::string> realtime_schema_statements();

/// The statement that creates the missing daily partitions of realtime.messages (yesterday …
/// today + 3, UTC); a no-op when the table is absent or not partitioned.
std::string partition_statement();

/// Runs statements in order on conn inside one transaction. Errors name the failing statement
/// and, for missing privileges, the fix (run as a superuser or print the SQL with --print).
Status run_statements(const Connection& conn, const std::vector<std::string>& statements);

} // namespace walcast::pg
