// SQLSTATE codes: the names of the ones walcast acts on, and the condition name of every code
// (PostgreSQL 15 errcodes.txt; the table Postgrex uses for its error texts too).
#pragma once

#include <string_view>

namespace walcast::pg {

/// The codes walcast branches on (PostgreSQL docs, Appendix A "PostgreSQL Error Codes").
namespace sqlstate {
inline constexpr std::string_view insufficient_privilege = "42501";
inline constexpr std::string_view undefined_object = "42704";
inline constexpr std::string_view duplicate_object = "42710";
inline constexpr std::string_view object_not_in_prerequisite_state =
    "55000"; ///< e.g. invalidated slot
inline constexpr std::string_view object_in_use = "55006";
inline constexpr std::string_view query_canceled = "57014"; ///< also statement_timeout
inline constexpr std::string_view admin_shutdown = "57P01";
inline constexpr std::string_view crash_shutdown = "57P02";
inline constexpr std::string_view cannot_connect_now = "57P03";
inline constexpr std::string_view serialization_failure = "40001";
inline constexpr std::string_view deadlock_detected = "40P01";
inline constexpr std::string_view connection_failure = "08006";
inline constexpr std::string_view raise_exception = "P0001";
} // namespace sqlstate

/// The condition name of a SQLSTATE as errcodes.txt spells it ("P0001" → "raise_exception",
/// "22P02" → "invalid_text_representation", "42704" → "undefined_object", "2201B" →
/// "invalid_regular_expression", …); "" for an unknown code. Any thread.
std::string_view sqlstate_condition_name(std::string_view sqlstate);

/// Whether an error with this SQLSTATE may go away by itself: "" (no server error: the client
/// side failed), class 08 (connection exceptions), 57P01–57P03 (shutdown, cannot connect now),
/// 57014 (canceled, statement timeout), 40001 (serialization failure), 40P01 (deadlock).
bool is_transient_sqlstate(std::string_view sqlstate);

} // namespace walcast::pg
