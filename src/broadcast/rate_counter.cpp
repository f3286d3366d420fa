#include "broadcast/rate_counter.hpp"

#include <algorithm>

namespace walcast::broadcast {

RateCounter::RateCounter(double limit_per_s, std::string message, Clock::time_point start)
    : limit_(limit_per_s), message_(std::move(message)), start_(start) {}

void RateCounter::rotate(Clock::time_point now) {
    const auto since = now < start_ ? Clock::duration::zero() : now - start_;
    const std::int64_t index = since / bucket_span;
    if (index <= current_index_) return;
    const std::int64_t steps = std::min<std::int64_t>(index - current_index_, buckets);
    for (std::int64_t i = 1; i <= steps; ++i)
        counts_[(current_index_ + i) % buckets] = 0;
    current_index_ = index;
}

double RateCounter::average_locked(Clock::time_point now) const {
    std::uint64_t sum = 0;
    for (auto c : counts_)
        sum += c;
    // Covered time: the finished buckets still in the ring plus the running one's elapsed
    // part, never less than one bucket.
    using Seconds = std::chrono::duration<double>;
    const auto since = now < start_ ? Clock::duration::zero() : now - start_;
    const double covered_s = Seconds(since).count();
    const double running_s = Seconds(since - current_index_ * bucket_span).count();
    const double ring_s = Seconds(bucket_span * (buckets - 1)).count() + running_s;
    const double span_s = std::max(std::min(covered_s, ring_s), Seconds(bucket_span).count());
    return static_cast<double>(sum) / span_s;
}

void RateCounter::add(std::uint64_t n, Clock::time_point now) {
    std::lock_guard lock(mu_);
    rotate(now);
    counts_[current_index_ % buckets] += n;
    over_.store(limit_ > 0 && average_locked(now) > limit_, std::memory_order_relaxed);
}

double RateCounter::average(Clock::time_point now) {
    std::lock_guard lock(mu_);
    rotate(now);
    const double avg = average_locked(now);
    over_.store(limit_ > 0 && avg > limit_, std::memory_order_relaxed);
    return avg;
}

bool RateCounter::would_exceed(std::uint64_t n, Clock::time_point now) {
    std::lock_guard lock(mu_);
    rotate(now);
    // As the reference: the average plus the batch's message count (spec §7.5.5).
    return limit_ > 0 && average_locked(now) + static_cast<double>(n) > limit_;
}

} // namespace walcast::broadcast
