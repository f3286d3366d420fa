// The SQL of trigger capture: what `walcast db init --capture trigger` installs in the schema
// `walcast` (event tables, the capture trigger function, layouts, consumers, reconcile and
// maintenance functions, the DDL event trigger where allowed) and what `db uninstall` removes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace walcast::capture::trigger {

/// Schema version of the installed objects (walcast.version()). A source refuses a database
/// whose version differs, with the command that upgrades it.
constexpr int schema_version = 1;

/// The schema walcast installs into.
constexpr std::string_view schema_name = "walcast";

/// Number of event tables rotated through (PgQ's three: one being written, one retired whose
/// events may still be unread, one truncated and reused at the next rotation).
constexpr int event_tables = 3;

/// The statements of `walcast db init --capture trigger`, in order, for the publication whose
/// tables are captured. Idempotent: tables are created only when missing, functions replaced,
/// the queue row keeps its state (only the publication name is updated), the capture function
/// keeps writing to the current event table, and the last statement reconciles the triggers
/// with the publication (installing missing ones, repairing dropped ones). The event trigger
/// is created only where the connected role may (a superuser); otherwise a NOTICE says that
/// walcast reconciles by polling. Run them inside one transaction (pg::run_statements).
std::vector<std::string> install_statements(const std::string& publication);

/// The statements of `walcast db uninstall --capture trigger`: the event trigger, then the
/// schema with everything in it (CASCADE also drops the capture triggers on user tables, which
/// depend on walcast.capture()). Idempotent.
std::vector<std::string> uninstall_statements();

} // namespace walcast::capture::trigger
