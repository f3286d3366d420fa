// broadcast::RateCounter: a tenant's events per second, averaged the way the reference does it
// (spec §7.1.7: up to 12 buckets of 5 s, i.e. the last 60 s), and whether that average is over
// the configured limit. One counter per limit: events (broadcasts sent and delivered, REST and
// database messages) and presence (presence_state pushes, tracks, diff deliveries).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace walcast::broadcast {

/// Thread-safe. add() takes a mutex (once per published message, not per delivery); over() is
/// one relaxed atomic load, cheap enough to ask on every delivery.
///
/// The average is taken over the time the window covers so far, at least one bucket: events of
/// the last up-to-60 s ÷ max(5 s, covered seconds). Unlike the reference, which recomputes on a
/// 5 s tick, it is updated on every add(), so a flood is noticed within the bucket it starts in.
class RateCounter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t buckets = 12;
    static constexpr std::chrono::seconds bucket_span{5};

    /// limit_per_s: the average above which over() is true (0 = no limit). message: the text a
    /// channel is shut down with when it receives past the limit ("Too many messages per
    /// second").
    RateCounter(double limit_per_s, std::string message, Clock::time_point start = Clock::now());

    /// Counts n events at now, then recomputes over().
    void add(std::uint64_t n, Clock::time_point now = Clock::now());
    /// The average events/s at now (also rotates the buckets, so over() decays).
    double average(Clock::time_point now = Clock::now());
    /// Whether the average was over the limit when last computed. Any thread, lock-free.
    bool over() const { return over_.load(std::memory_order_relaxed); }
    /// Whether the average plus n is over the limit (REST batches count their messages on top
    /// of the average, as the reference does, spec §7.5.5).
    bool would_exceed(std::uint64_t n, Clock::time_point now = Clock::now());

    double limit() const { return limit_; }
    const std::string& message() const { return message_; }

private:
    void rotate(Clock::time_point now);                 // mu_ held
    double average_locked(Clock::time_point now) const; // mu_ held

    const double limit_;
    const std::string message_;
    mutable std::mutex mu_;
    Clock::time_point start_;
    std::int64_t current_index_ = 0;              ///< bucket number since start_ of counts_[0]
    std::array<std::uint64_t, buckets> counts_{}; ///< ring, counts_[current_index_ % buckets]
    std::atomic<bool> over_{false};
};

} // namespace walcast::broadcast
