#include "core/commit_tracker.hpp"

#include <cassert>

namespace walcast::core {

CommitTracker::Ticket CommitTracker::open() {
    std::lock_guard lock(mu_);
    entries_.emplace_back();
    return next_++;
}

void CommitTracker::add_pending(Ticket t, std::uint32_t n) {
    std::lock_guard lock(mu_);
    assert(t >= first_ && t < next_);
    entries_[t - first_].pending += n;
}

pg::Lsn CommitTracker::close(Ticket t, pg::Lsn end_lsn) {
    std::lock_guard lock(mu_);
    assert(t >= first_ && t < next_);
    auto& e = entries_[t - first_];
    e.closed = true;
    e.end_lsn = end_lsn;
    return advance_locked();
}

pg::Lsn CommitTracker::finish(Ticket t, std::uint32_t n) {
    std::lock_guard lock(mu_);
    assert(t >= first_ && t < next_);
    auto& e = entries_[t - first_];
    assert(e.pending >= n);
    e.pending -= n;
    return advance_locked();
}

pg::Lsn CommitTracker::advance_locked() {
    pg::Lsn advanced;
    while (!entries_.empty() && entries_.front().closed && entries_.front().pending == 0) {
        if (entries_.front().end_lsn > confirmed_) confirmed_ = entries_.front().end_lsn;
        advanced = confirmed_;
        entries_.pop_front();
        ++first_;
    }
    return advanced;
}

pg::Lsn CommitTracker::confirmed() const {
    std::lock_guard lock(mu_);
    return confirmed_;
}

std::size_t CommitTracker::in_flight() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

} // namespace walcast::core
