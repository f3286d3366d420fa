// ChangeSink: how a capture source hands changes on. Called on the source's thread, in commit
// order; a transaction's changes arrive between on_begin and on_commit.
#pragma once

#include "capture/change.hpp"

#include <cstdint>
#include <string>

namespace walcast::capture {

/// A stretch of the change stream that the source could not hand on and never will: changes
/// committed in it may be missing for every consumer. One event serves every cause — a
/// reconnect on a temporary slot (no SLOT_NAME), a slot Postgres invalidated
/// (max_slot_wal_keep_size), a slot dropped or recreated (SLOT_RECREATE).
struct Gap {
    /// Wall-clock bounds in Unix milliseconds. from: changes committed after it may be
    /// missing (the commit time of the last transaction handed on, or when streaming
    /// started if none was). to: when streaming resumed from a new position; 0 while the gap
    /// is open (nothing is being streamed and what is committed meanwhile will be lost).
    std::int64_t from_unix_ms = 0;
    std::int64_t to_unix_ms = 0;
    Position from;      ///< last position handed on before the gap (invalid: none this run)
    Position to;        ///< where streaming resumed (invalid while open)
    std::string reason; ///< what happened and the fix, for operators and subscribers
    bool open() const { return to_unix_ms == 0; }
};

/// Receiver of the change stream. Implementations must not block for long: the replication
/// stream (and Postgres's WAL retention) waits on them.
class ChangeSink {
public:
    virtual ~ChangeSink() = default;

    /// A transaction starts; its changes follow.
    virtual void on_begin(const TransactionInfo& txn) { (void)txn; }
    /// One change of the current transaction.
    virtual void on_change(const ChangePtr& change) = 0;
    /// The transaction committed; end is the position just past it (logical: past its commit
    /// record). Once the sink has handed on every change up to here it confirms end (the
    /// source's confirm(), or its ChangeFanout handle) — only then may the source's durable
    /// position advance past it.
    virtual void on_commit(const TransactionInfo& txn, Position end) = 0;
    /// A relation was (re)defined: first sight of a table, or after ALTER TABLE.
    virtual void on_relation(const RelationPtr& relation) { (void)relation; }
    /// The source has handed on everything it had received and is about to wait for more: the
    /// moment to flush output batched across the changes of this round.
    virtual void on_idle() {}
    /// The stream is up (true) or down and reconnecting (false), with the reason.
    virtual void on_stream_state(bool up, const std::string& reason) {
        (void)up;
        (void)reason;
    }
    /// Changes may be missing (see Gap): called when a gap opens (to = 0) and again when it
    /// closes, or once with both bounds when it is known only at reconnect. Between
    /// transactions, before any change streamed after it.
    virtual void on_gap(const Gap& gap) { (void)gap; }
};

} // namespace walcast::capture
