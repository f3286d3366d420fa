#include "protocol/supabase/messages.hpp"

#include "pg/sqlstate.hpp"
#include "protocol/supabase/elixir_inspect.hpp"

#include <cstdio>
#include <ctime>

namespace walcast::protocol::supabase {

using core::BindingSpec;
using core::FilterCondition;

namespace {

elixir::Term filters_term(const std::vector<FilterCondition>& filters) {
    std::vector<elixir::Term> items;
    for (const auto& f : filters)
        items.push_back(elixir::Term::tuple(
            {elixir::Term::string(f.column), elixir::Term::string(to_string(f.op)),
             elixir::Term::string(f.value), elixir::Term::boolean(f.negate)}));
    return elixir::Term::list(std::move(items));
}

pg::PgError raise(std::string message) {
    return pg::PgError{std::string(pg::sqlstate::raise_exception), std::move(message), "", "",
                       false};
}

std::string utc_iso(std::int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(unix_ms % 1000));
    return buf;
}

} // namespace

std::string gap_message(const capture::Gap& gap) {
    std::string m;
    if (gap.open()) {
        m = gap.from_unix_ms ? "changes committed since " + utc_iso(gap.from_unix_ms) +
                                   " are not being delivered and will be missing"
                             : std::string("changes are not being delivered and will be missing");
        m += ": " + gap.reason + ". Refetch what this channel shows once the stream is back";
    } else {
        m = "changes committed " +
            (gap.from_unix_ms ? "between " + utc_iso(gap.from_unix_ms) + " and "
                              : std::string("before ")) +
            utc_iso(gap.to_unix_ms) + " may be missing: " + gap.reason +
            ". Refetch what this channel shows";
    }
    return m;
}

std::string format_params_for_log(const BindingSpec& spec) {
    std::string out = "event: ";
    out += to_string(spec.event);
    out += ", schema: " + spec.schema;
    out += ", table: " + spec.table;
    out += ", filters: " + elixir::inspect_pretty(filters_term(spec.filters));
    out += ", select: ";
    if (!spec.select) {
        out += "nil";
    } else {
        std::vector<elixir::Term> items;
        for (const auto& c : *spec.select)
            items.push_back(elixir::Term::string(c));
        out += elixir::inspect_pretty(elixir::Term::list(std::move(items)));
    }
    return out;
}

std::string unable_to_subscribe_message(const BindingSpec& spec) {
    return "Unable to subscribe to changes with given parameters. Please check Realtime is "
           "enabled for the given connect parameters: [" +
           format_params_for_log(spec) + "]";
}

std::string subscribe_exception_message(const BindingSpec& spec, const pg::PgError& error) {
    std::string out = "Unable to subscribe to changes with given parameters. An exception "
                      "happened so please check your connect parameters: [" +
                      format_params_for_log(spec) + "]. Exception: ";
    if (error.sqlstate.empty()) {
        out += error.message; // not a Postgres error: Postgrex prints the bare message
        return out;
    }
    out += "ERROR " + error.sqlstate + " (" +
           std::string(pg::sqlstate_condition_name(error.sqlstate)) + ") " + error.message;
    if (!error.hint.empty()) out += "\n\n    hint: " + error.hint;
    if (!error.detail.empty()) out += "\n\n" + error.detail;
    return out;
}

pg::PgError realtime_filter_error(const core::FilterError& e) {
    using Kind = core::FilterError::Kind;
    switch (e.kind) {
    case Kind::InvalidColumn:
        return raise("invalid column for filter " + e.column);
    case Kind::TooManyInValues:
        return raise("too many values for `in` filter. Maximum " +
                     std::to_string(core::max_in_values));
    case Kind::InvalidIsValue:
        return raise("invalid value for is filter: must be null, true, false, or unknown");
    case Kind::IsNeedsBoolean:
        return raise("is " + e.value + " filter requires a boolean column, got " + e.type);
    case Kind::NeedsText:
        return raise("operator " + e.op + " requires a text-compatible column type, got " + e.type);
    case Kind::InvalidRegex:
        return raise("invalid regular expression for " + e.op + " filter: " + e.postgres.message);
    case Kind::Postgres:
    case Kind::Unsupported:
        break;
    }
    return e.postgres;
}

pg::PgError realtime_select_error(const std::string& column) {
    return raise("invalid column for select " + column);
}

JoinFailure describe_failure(const core::SubscribeError& e,
                             const std::vector<core::BindingSpec>& specs) {
    using Kind = core::SubscribeError::Kind;
    const BindingSpec& spec = specs.at(e.binding < specs.size() ? e.binding : 0);
    switch (e.kind) {
    case Kind::Unreachable:
        return {"Unable to subscribe to changes: the database is unreachable (" + e.message + ")",
                std::string(unable_to_connect_code)};
    case Kind::QueryFailed:
        return {"Unable to subscribe to changes: " + e.message, std::string(invalid_params_code)};
    case Kind::UnknownRole:
        // The reference casts the claims' role to regrole inside the subscription's SQL; the
        // error names the first binding (spec §3.5).
        return {subscribe_exception_message(specs.front(),
                                            pg::PgError{std::string(pg::sqlstate::undefined_object),
                                                        "role \"" + e.role + "\" does not exist",
                                                        "", "", false}),
                std::string(invalid_params_code)};
    case Kind::CannotAssumeRole:
        // walcast's own (the reference runs as a superuser and never meets it).
        return {"Unable to subscribe to changes: the server cannot assume role \"" + e.role +
                    "\" of this token to check row-level security (its database user \"" + e.user +
                    "\" is not a member of it). Fix: " + e.fix,
                std::string(invalid_params_code)};
    case Kind::PrivilegedRole: {
        // walcast's own refusal, worded as a Postgres error in the shape of the reference's
        // subscription errors (spec §3.5), its hint naming the setting that allows the role.
        pg::PgError err{std::string(pg::sqlstate::insufficient_privilege),
                        "role \"" + e.role + "\" has " + e.attribute +
                            ", which bypasses row-level security: tokens naming it are refused",
                        "", "", false};
        err.hint = "sign the token with a role row-level security applies to, or allow this "
                   "role by adding it to JWT_ALLOWED_ROLES";
        return {subscribe_exception_message(specs.front(), err), std::string(invalid_params_code)};
    }
    case Kind::NoTable:
        return {unable_to_subscribe_message(spec), std::string(disabled_code)};
    case Kind::InvalidFilter:
        return {subscribe_exception_message(spec, realtime_filter_error(e.filter)),
                std::string(invalid_params_code)};
    case Kind::InvalidSelect:
        return {subscribe_exception_message(spec, realtime_select_error(e.column)),
                std::string(invalid_params_code)};
    case Kind::TooManyBindings:
        // walcast's own limit (issue 11): the message names the setting and the way out.
        if (e.setting == "MAX_BINDINGS_PER_CHANNEL")
            return {"Unable to subscribe to changes: too many postgres_changes bindings: this "
                    "channel has " +
                        std::to_string(e.requested) + ", the most one channel may have is " +
                        std::to_string(e.limit) +
                        " (MAX_BINDINGS_PER_CHANNEL); split them over several channels, or "
                        "raise MAX_BINDINGS_PER_CHANNEL",
                    std::string(invalid_params_code)};
        return {"Unable to subscribe to changes: too many postgres_changes bindings on this "
                "socket: its other channels have " +
                    std::to_string(e.in_use) + " and this join adds " +
                    std::to_string(e.requested) + ", the most one socket may have is " +
                    std::to_string(e.limit) +
                    " (MAX_BINDINGS_PER_CLIENT); leave a channel first, or raise "
                    "MAX_BINDINGS_PER_CLIENT",
                std::string(invalid_params_code)};
    }
    return {e.message, std::string(invalid_params_code)};
}

std::string unreadable_table_message(const std::string& role, const core::UnreadableTable& t) {
    return "Role \"" + role + "\" may not read " + t.schema + "." + t.table +
           (t.schema_usage ? " (no SELECT privilege)" : " (no USAGE on its schema)") +
           ": its changes are not sent to this channel. Fix: " + t.fix;
}

} // namespace walcast::protocol::supabase
