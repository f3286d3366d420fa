// Supabase Realtime's user-facing texts for Postgres Changes joins (spec §3.5, §5.5): the
// `system` error messages, byte for byte, including the parameters as RT logs them (Elixir
// inspect) and Postgres errors laid out as Postgrex prints them; the reason codes of a join
// that waits (postgres_changes_options.wait); core's typed errors worded as RT's SQL raises them.
#pragma once

#include "capture/change_sink.hpp"
#include "core/filter/filter.hpp"
#include "core/subscription/binding_spec.hpp"
#include "core/subscription/subscribe.hpp"
#include "pg/pg_error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace walcast::protocol::supabase {

/// Reason codes of a failed join (spec §3.5, `postgres_changes_options.wait`).
inline constexpr std::string_view invalid_params_code = "InvalidPostgresChangesParams";
inline constexpr std::string_view disabled_code = "RealtimeDisabledForConfiguration";
inline constexpr std::string_view unable_to_connect_code = "UnableToConnectToProject";

/// RT's params_to_log: "event: *, schema: public, table: todos, filters: [{\"id\", \"eq\",
/// \"1\", false}], select: nil" — event/schema/table raw, filters and select as
/// `inspect(…, pretty: true)` (width 80, so long lists span lines exactly as RT prints them).
std::string format_params_for_log(const core::BindingSpec& spec);

/// The `system` error when no publication table matches the binding (spec §3.5):
/// "Unable to subscribe to changes with given parameters. Please check Realtime is enabled
/// for the given connect parameters: [<format_params_for_log>]".
std::string unable_to_subscribe_message(const core::BindingSpec& spec);

/// The `system` error when subscribing failed in SQL (spec §3.5, §5.5): "Unable to subscribe to
/// changes with given parameters. An exception happened so please check your connect
/// parameters: [<params>]. Exception: ERROR <SQLSTATE> (<condition>) <message>" followed, as
/// Postgrex prints them, by "\n\n    hint: <hint>" when there is a hint and "\n\n<detail>"
/// when there is a detail (a PgError without SQLSTATE: the bare message).
std::string subscribe_exception_message(const core::BindingSpec& spec, const pg::PgError& error);

/// A filter compile error as RT's subscription_check_filters trigger raises it (spec §5.5):
/// P0001 `invalid column for filter <col>`, ``too many values for `in` filter. Maximum 100``,
/// `invalid value for is filter: must be null, true, false, or unknown`, `is <v> filter
/// requires a boolean column, got <type>`, `operator <op> requires a text-compatible column
/// type, got <type>`, `invalid regular expression for <op> filter: <Postgres message>`;
/// Postgres's own errors and walcast's refusals as they are.
pg::PgError realtime_filter_error(const core::FilterError& error);

/// The select check's error as RT's trigger raises it: P0001 `invalid column for select <col>`.
pg::PgError realtime_select_error(const std::string& column);

/// A failed join as the client sees it: the `system` message and the reason code.
struct JoinFailure {
    std::string message;
    std::string code;
};

/// The `system` error (extension postgres_changes) telling a channel of a gap in the change
/// stream (capture::Gap). RT has no such message (it loses such changes silently); the text is
/// walcast's: both times in UTC ISO 8601 with milliseconds, the reason, and to refetch —
/// closed: "changes committed between <from> and <to> may be missing: <reason>. Refetch what
/// this channel shows" ("before <to>" when the start is unknown); open: "changes committed
/// since <from> are not being delivered and will be missing: <reason>. Refetch what this
/// channel shows once the stream is back" ("changes are not being delivered …" without a
/// start). Also the /healthz last_gap message.
std::string gap_message(const capture::Gap& gap);

/// Words a SubscribeError (specs: the request's bindings, in order).
JoinFailure describe_failure(const core::SubscribeError& error,
                             const std::vector<core::BindingSpec>& specs);

/// walcast's `system` error (status "error", after "Subscribed to PostgreSQL") for a table of
/// the bindings that the role may not read: "Role \"<role>\" may not read <schema>.<table> (no
/// SELECT privilege | no USAGE on its schema): its changes are not sent to this channel. Fix:
/// <GRANT …;>". The reference says nothing in this case.
std::string unreadable_table_message(const std::string& role, const core::UnreadableTable& t);

} // namespace walcast::protocol::supabase
