// Time helpers: wall-clock microseconds, the PostgreSQL epoch (2000-01-01) used by the
// replication protocol, and the ISO-8601 UTC rendering used for commit_timestamp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace walcast {

/// Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01 00:00:00 UTC).
constexpr std::int64_t pg_epoch_offset_us = 946'684'800LL * 1'000'000LL;

/// Current wall-clock time in microseconds since the Unix epoch.
inline std::int64_t now_unix_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

/// Current wall-clock time in microseconds since the PostgreSQL epoch (for standby status
/// updates; PostgreSQL docs, Streaming Replication Protocol).
inline std::int64_t now_pg_us() {
    return now_unix_us() - pg_epoch_offset_us;
}

/// Renders a PostgreSQL-epoch timestamp (µs) as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ": exactly three
/// fractional digits, truncated (spec §4.1, commit_timestamp).
std::string format_commit_timestamp(std::int64_t pg_us);

/// Appends the same rendering to out without a temporary string.
void append_commit_timestamp(std::string& out, std::int64_t pg_us);

} // namespace walcast
