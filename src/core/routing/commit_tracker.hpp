// CommitTracker: turns out-of-order completion of transactions' deliveries into the in-order
// position the capture source may be confirmed up to ("confirm a position only after the
// change has been handed on").
#pragma once

#include "capture/position.hpp"

#include <cstdint>
#include <deque>
#include <mutex>

namespace walcast::core {

/// Thread-safe. The router opens a ticket per transaction, adds pending work to it while
/// routing, closes it at commit; workers finish pending work from any thread. confirmed()
/// is the end position of the newest transaction such that it and every earlier one are done.
class CommitTracker {
public:
    using Ticket = std::uint64_t;

    /// Starts tracking a transaction (router thread). Tickets are consecutive.
    Ticket open();
    /// Adds n outstanding pieces of work to ticket t (router thread, before close()).
    void add_pending(Ticket t, std::uint32_t n = 1);
    /// The transaction's routing is done; end is the position past its commit record.
    /// Returns the newly confirmable position if it advanced, else an invalid Position.
    capture::Position close(Ticket t, capture::Position end);
    /// One piece of work of ticket t finished (any thread). Returns the newly confirmable position
    /// if it advanced, else an invalid Position.
    capture::Position finish(Ticket t, std::uint32_t n = 1);
    /// Highest position confirmable so far.
    capture::Position confirmed() const;
    /// Transactions still tracked (not yet confirmable).
    std::size_t in_flight() const;

private:
    struct Entry {
        std::uint32_t pending = 0;
        bool closed = false;
        capture::Position end;
    };
    capture::Position advance_locked();

    mutable std::mutex mu_;
    std::deque<Entry> entries_; ///< entries_[0] has ticket first_
    Ticket first_ = 0;
    Ticket next_ = 0;
    capture::Position confirmed_;
};

} // namespace walcast::core
