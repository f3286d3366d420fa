#include "core/routing/commit_tracker.hpp"

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

capture::Position CommitTracker::close(Ticket t, capture::Position end) {
    std::lock_guard lock(mu_);
    assert(t >= first_ && t < next_);
    auto& e = entries_[t - first_];
    e.closed = true;
    e.end = end;
    return advance_locked();
}

capture::Position CommitTracker::finish(Ticket t, std::uint32_t n) {
    std::lock_guard lock(mu_);
    assert(t >= first_ && t < next_);
    auto& e = entries_[t - first_];
    assert(e.pending >= n);
    e.pending -= n;
    return advance_locked();
}

capture::Position CommitTracker::advance_locked() {
    capture::Position advanced;
    while (!entries_.empty() && entries_.front().closed && entries_.front().pending == 0) {
        if (entries_.front().end > confirmed_) confirmed_ = entries_.front().end;
        advanced = confirmed_;
        entries_.pop_front();
        ++first_;
    }
    return advanced;
}

capture::Position CommitTracker::confirmed() const {
    std::lock_guard lock(mu_);
    return confirmed_;
}

std::size_t CommitTracker::in_flight() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

} // namespace walcast::core
