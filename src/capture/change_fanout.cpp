#include "capture/change_fanout.hpp"

#include <algorithm>
#include <cstdint>

namespace walcast::capture {

namespace {

void atomic_max(std::atomic<std::uint64_t>& a, std::uint64_t v) {
    std::uint64_t cur = a.load(std::memory_order_relaxed);
    while (cur < v &&
           !a.compare_exchange_weak(cur, v, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
}

} // namespace

void ConfirmHandle::confirm(Position end) const {
    if (fanout_) fanout_->confirm(index_, end);
}

ChangeFanout::ChangeFanout(std::function<void(Position)> upstream)
    : upstream_(std::move(upstream)) {}

ConfirmHandle ChangeFanout::add(ChangeSink& consumer) {
    consumers_.push_back(&consumer);
    confirmed_.emplace_back(0);
    return ConfirmHandle(this, consumers_.size() - 1);
}

void ChangeFanout::confirm(std::size_t consumer, Position end) {
    atomic_max(confirmed_[consumer], end.value);
    std::uint64_t min = UINT64_MAX;
    for (const auto& c : confirmed_)
        min = std::min(min, c.load(std::memory_order_acquire));
    // Several threads may get here at once; each passes on a minimum it computed, the source's
    // confirm is monotone, and sent_ only lets a value through once.
    std::uint64_t cur = sent_.load(std::memory_order_relaxed);
    while (min > cur) {
        if (sent_.compare_exchange_weak(cur, min, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
            if (upstream_) upstream_(Position{min});
            return;
        }
    }
}

void ChangeFanout::on_begin(const TransactionInfo& txn) {
    for (auto* c : consumers_)
        c->on_begin(txn);
}

void ChangeFanout::on_change(const ChangePtr& change) {
    for (auto* c : consumers_)
        c->on_change(change);
}

void ChangeFanout::on_commit(const TransactionInfo& txn, Position end) {
    for (auto* c : consumers_)
        c->on_commit(txn, end);
}

void ChangeFanout::on_relation(const RelationPtr& relation) {
    for (auto* c : consumers_)
        c->on_relation(relation);
}

void ChangeFanout::on_idle() {
    for (auto* c : consumers_)
        c->on_idle();
}

void ChangeFanout::on_stream_state(bool up, const std::string& reason) {
    for (auto* c : consumers_)
        c->on_stream_state(up, reason);
}

void ChangeFanout::on_gap(const Gap& gap) {
    for (auto* c : consumers_)
        c->on_gap(gap);
}

} // namespace walcast::capture
