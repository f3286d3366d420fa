// Lsn: a WAL position (64-bit byte offset), printed as PostgreSQL does ("16/B374D848").
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::pg {

/// A log sequence number: byte position in the WAL (PostgreSQL docs, pg_lsn type).
struct Lsn {
    std::uint64_t value = 0;

    constexpr auto operator<=>(const Lsn&) const = default;
    constexpr bool valid() const { return value != 0; }

    /// "X/Y" with upper-case hex halves, no leading zeros (as pg_lsn_out prints).
    std::string to_string() const;
    /// Parses "X/Y"; nullopt on anything else.
    static std::optional<Lsn> parse(std::string_view text);
};

} // namespace walcast::pg
