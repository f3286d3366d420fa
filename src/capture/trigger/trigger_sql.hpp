// The SQL of trigger capture: what `walcast db init --capture trigger` installs in the schema
// `walcast` and `walcast db uninstall --capture trigger` removes, and the statements
// TriggerSource runs. docs/architecture.md "Trigger capture" describes the design.
#pragma once

#include <string>
#include <vector>

namespace walcast::capture::trigger {

/// The install statements, in order, each idempotent (CREATE … IF NOT EXISTS, CREATE OR
/// REPLACE FUNCTION), for the publication whose tables get capture triggers:
///  - `walcast.event` (partitioned by ev_part into event_0/1/2, rotated PgQ-style and emptied
///    with TRUNCATE, never row deletes), `walcast.event_seq`, `walcast.queue` (the table
///    writers insert into now), `walcast.event_table` (rotation state per table);
///  - `walcast.layout`: one row per table shape (columns, types, typmods, names, replica
///    identity), so a change is read with the columns of its time across ALTER TABLE;
///  - `walcast.consumer`: each reader's durable position (the batch it is in, the snapshots
///    bounding it, the transactions of it confirmed);
///  - `walcast.capture()`: the trigger function (SECURITY DEFINER; renders each value with
///    its type's output function under walcast's session settings, the row-value contract);
///  - `walcast.reconcile(publication)`: statement triggers with transition tables for
///    INSERT/UPDATE/DELETE and a TRUNCATE trigger on every published table (per published
///    operation), walcast's triggers removed from tables no longer published;
///  - `walcast.maintain(rotation_bytes, rotation_period)`: rotation and truncation.
/// The last statement runs reconcile for publication.
std::vector<std::string> install_statements(const std::string& publication);

/// `walcast db uninstall --capture trigger`: drops the schema walcast with everything in it
/// (the triggers depend on walcast.capture() and go with it).
std::vector<std::string> uninstall_statements();

} // namespace walcast::capture::trigger
