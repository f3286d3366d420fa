// pg_snapshot (PostgreSQL docs 9.27 "Transaction ID and Snapshot Information Functions"): the
// text form xmin:xmax:xip_list that pg_current_snapshot() returns, parsed and checked, so the
// trigger source splices only well-formed snapshots into its batch query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::capture::trigger {

/// A transaction snapshot: xids below xmin are finished, xids at or above xmax had not started,
/// xids in xip were in progress (full 64-bit xid8 values).
struct Snapshot {
    std::uint64_t xmin = 0;
    std::uint64_t xmax = 0;
    std::vector<std::uint64_t> xip; ///< ascending

    /// nullopt unless text is "xmin:xmax:" or "xmin:xmax:x1,x2,…" with xmin <= xmax and every
    /// xip in [xmin, xmax), ascending.
    static std::optional<Snapshot> parse(std::string_view text);
    /// The text form (what parse accepts; what Postgres prints).
    std::string to_string() const;
    /// pg_visible_in_snapshot: the transaction xid had committed (or aborted) for this snapshot.
    bool visible(std::uint64_t xid) const;
};

} // namespace walcast::capture::trigger
