// Source: the interface every capture source implements (the logical replication slot in
// capture/logical/, triggers in capture/trigger/). A source streams committed transactions into
// one ChangeSink on its own thread and advances its durable position only as far as consumers
// confirm. The composition root (app/) chooses the source from Config.
#pragma once

#include "capture/position.hpp"
#include "common/result.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walcast::capture {

/// Whether a source is streaming, for /healthz and start-up.
struct SourceHealth {
    bool up = false;    ///< streaming committed transactions now
    std::string reason; ///< why it is not up ("" while up)
    /// The source's thread has ended for good: stop() was called, or a configuration error it
    /// was told not to retry (reason names it and the fix).
    bool finished = false;
    bool fatal = false; ///< finished because of such an error (reason is that error)
};

/// The SourceHealth of a source's state: a fatal error is the reason when there is one, else
/// why the stream is down (starting while there is no reason yet).
SourceHealth make_health(bool up, bool finished, const std::optional<Error>& fatal,
                         const std::string& down_reason, std::string_view starting);

/// A name unique to this process and call, for what lives only as long as the process: a
/// temporary replication slot, a per-process trigger consumer ("walcast_tmp_<pid>_<salt>_<n>").
std::string temporary_name();

/// Raises a to v when v is greater (positions and counters several threads advance).
inline void advance_to(std::atomic<std::uint64_t>& a, std::uint64_t v) {
    std::uint64_t cur = a.load(std::memory_order_relaxed);
    while (cur < v &&
           !a.compare_exchange_weak(cur, v, std::memory_order_release, std::memory_order_relaxed)) {
    }
}

/// Counters for /metrics; a snapshot, consistent field by field.
struct SourceStats {
    Position received;           ///< everything before this has been handed to the sink
    Position confirmed;          ///< highest position consumers confirmed
    std::uint64_t lag_bytes = 0; ///< what the source makes the database retain (0 if none)
    std::int64_t lag_ms = 0;     ///< now − commit time of the last transaction; 0 when caught up
    std::uint64_t transactions = 0;
    std::uint64_t changes = 0;
    std::uint64_t reconnects = 0; ///< times the stream went down after streaming
};

/// A capture source. Contract for every implementation:
///  - start() spawns the source's thread; every ChangeSink callback runs on it, in commit order
///    (on_stream_state, on_relation, then per transaction on_begin, on_change…, on_commit).
///  - Changes honour the row-value contract of docs/architecture.md ("The row-value contract"):
///    Postgres text output under walcast's session settings, NULL vs unchanged TOAST as in
///    pg::Tuple, relations described by pg::RelationLoader — so two sources produce identical
///    payloads for the same change.
///  - The durable position never passes what confirm() was given: a change is handed on again
///    after a restart until consumers confirmed its commit.
class Source {
public:
    virtual ~Source() = default;

    /// "logical" or "trigger".
    virtual std::string_view kind() const = 0;
    /// Spawns the source's thread; returns at once (the stream comes up asynchronously). Once.
    virtual void start() = 0;
    /// Stops and joins the thread. Idempotent. Not from a sink callback.
    virtual void stop() = 0;
    /// Consumers handed on every change of the transactions up to end (a value from
    /// ChangeSink::on_commit). Any thread; monotone (a lower value than before is ignored).
    virtual void confirm(Position end) = 0;
    /// Any thread.
    virtual SourceHealth health() const = 0;
    /// Any thread.
    virtual SourceStats stats() const = 0;
    /// How a position reads in messages and JSON ("0/1A2B3C8" for logical). Any thread.
    virtual std::string format_position(Position p) const = 0;
    /// The inverse of format_position (e.g. `walcast tail --until-lsn`); nullopt when text is
    /// not a position of this source. Any thread.
    virtual std::optional<Position> parse_position(std::string_view text) const = 0;
};

} // namespace walcast::capture
