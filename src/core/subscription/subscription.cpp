#include "core/subscription/subscription.hpp"

#include <atomic>

namespace walcast::core {

namespace {
std::atomic<std::uint64_t> g_next_subscription_id{1};
} // namespace

Subscription::Subscription(std::string topic, std::vector<Binding> bindings, IdentityPtr identity,
                           std::weak_ptr<ChannelSink> sink, const PayloadFormat& format,
                           std::uintptr_t source)
    : id_(g_next_subscription_id.fetch_add(1)), topic_(std::move(topic)),
      bindings_(std::move(bindings)), sink_(std::move(sink)), format_(&format), source_(source),
      identity_(std::move(identity)) {}

IdentityPtr Subscription::identity() const {
    std::lock_guard lock(identity_mu_);
    return identity_;
}

void Subscription::set_identity(IdentityPtr identity) {
    std::lock_guard lock(identity_mu_);
    identity_ = std::move(identity);
}

std::uint64_t Subscription::reserve() {
    return next_reserve_++;
}

void Subscription::complete(std::uint64_t slot, std::shared_ptr<const std::string> data,
                            BindingIds ids, DeliveryRound& round) {
    settle(slot, Pending{std::move(data), std::move(ids)}, round);
}

void Subscription::skip(std::uint64_t slot, DeliveryRound& round) {
    settle(slot, Pending{}, round);
}

void Subscription::notify_gap(std::shared_ptr<const capture::Gap> gap, DeliveryRound& round) {
    settle(reserve(), Pending{{}, {}, std::move(gap)}, round);
}

namespace {
void hand(ChannelSink& sink, const std::shared_ptr<const std::string>& data,
          const std::shared_ptr<const capture::Gap>& gap, std::span<const std::int64_t> ids,
          DeliveryRound& round) {
    if (gap)
        sink.notify_gap(*gap, round);
    else if (data)
        sink.deliver(data, ids, round);
}
} // namespace

void Subscription::settle(std::uint64_t slot, Pending p, DeliveryRound& round) {
    std::lock_guard lock(order_mu_);
    if (slot != next_deliver_) {
        waiting_.emplace(slot, std::move(p));
        return;
    }
    // The sink is called under order_mu_ so that two threads settling consecutive slots cannot
    // hand the sink their messages out of order. Sinks only queue, so this is short.
    auto sink = sink_.lock();
    if (sink) hand(*sink, p.data, p.gap, p.ids, round);
    ++next_deliver_;
    while (!waiting_.empty() && waiting_.begin()->first == next_deliver_) {
        auto node = waiting_.extract(waiting_.begin());
        if (sink) hand(*sink, node.mapped().data, node.mapped().gap, node.mapped().ids, round);
        ++next_deliver_;
    }
}

std::size_t Subscription::waiting() const {
    std::lock_guard lock(order_mu_);
    return waiting_.size();
}

} // namespace walcast::core
