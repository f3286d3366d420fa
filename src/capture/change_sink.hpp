// ChangeSink: how a capture source hands changes on. Called on the source's thread, in commit
// order; a transaction's changes arrive between on_begin and on_commit.
#pragma once

#include "capture/change.hpp"

namespace walcast::capture {

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
};

} // namespace walcast::capture
