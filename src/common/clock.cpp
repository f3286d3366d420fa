#include "common/clock.hpp"

#include <cstdio>

namespace walcast {

namespace {

// Days since 1970-01-01 to civil date (Howard Hinnant's algorithm, proleptic Gregorian).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(yy + (m <= 2));
}

} // namespace

void append_commit_timestamp(std::string& out, std::int64_t pg_us) {
    const std::int64_t unix_us = pg_us + pg_epoch_offset_us;
    std::int64_t secs = unix_us / 1'000'000;
    std::int64_t frac_us = unix_us % 1'000'000;
    if (frac_us < 0) {
        frac_us += 1'000'000;
        secs -= 1;
    }
    std::int64_t days = secs / 86400;
    std::int64_t sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                          static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                          static_cast<int>(sod % 60), static_cast<int>(frac_us / 1000));
    out.append(buf, static_cast<std::size_t>(n));
}

std::string format_commit_timestamp(std::int64_t pg_us) {
    std::string s;
    append_commit_timestamp(s, pg_us);
    return s;
}

} // namespace walcast
