// Transaction snapshots (pg_snapshot / xid8) and the batch of transactions committed between
// two of them — how trigger capture orders and never skips events without relying on sequence
// order (PgQ's algorithm; see docs/architecture.md, trigger capture).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::capture::trigger {

/// A pg_snapshot: every xid8 below xmin is finished, every one at or above xmax had not
/// started, those in xip were running (PostgreSQL docs, System Information Functions,
/// "Snapshot Information"). Text form "xmin:xmax:xip1,xip2,…".
struct Snapshot {
    std::uint64_t xmin = 0;
    std::uint64_t xmax = 0;
    std::vector<std::uint64_t> xip; ///< ascending

    /// Parses the text output of pg_snapshot. nullopt for anything else (xmin > xmax, an xip
    /// outside [xmin, xmax), junk).
    static std::optional<Snapshot> parse(std::string_view text);
    /// The text form, accepted by pg_snapshot's input function.
    std::string to_string() const;

    /// Whether transaction xid had committed (or aborted) when the snapshot was taken, as
    /// pg_visible_in_snapshot() decides.
    bool visible(std::uint64_t xid) const;
    /// Whether xid was running at the snapshot.
    bool running(std::uint64_t xid) const;

    bool operator==(const Snapshot&) const = default;
};

/// Which events belong to the batch (s1, s2]: those of transactions not visible in s1 and
/// visible in s2 — whatever their xids, so a long transaction that commits late is read in the
/// batch in which it commits, and nobody waits for it meanwhile.
///
/// The event query is `(ev_txid >= range_lo AND ev_txid < range_hi AND visible in s2 AND NOT
/// visible in s1) OR ev_txid = ANY(listed)`: the range starts at xmax(s1) and is lowered to
/// absorb transactions of xip(s1) that finished by s2 when they lie within 100 of it (PgQ's
/// optimisation: short transactions just below xmax(s1)); the other finished ones are listed.
/// Keeping the range tight keeps a batch from rescanning everything written while one long
/// transaction stays open.
struct BatchRange {
    std::uint64_t range_lo = 0;
    std::uint64_t range_hi = 0;
    std::vector<std::uint64_t> listed; ///< ascending
};

/// Requires s1 to precede s2 (s1.xmax <= s2.xmax).
BatchRange batch_range(const Snapshot& s1, const Snapshot& s2);

/// Whether the batch (s1, s2] can hold no events given the event sequence's value read before
/// s1 (seq_at_s1) and now (seq_now): no event row was written since, and every transaction
/// running at s1 still runs (only those could commit events written before s1's read).
/// Relies on writers having their xid before they take an event id (walcast.capture()).
bool nothing_new(const Snapshot& s1, std::int64_t seq_at_s1, const Snapshot& s2,
                 std::int64_t seq_now);

} // namespace walcast::capture::trigger
