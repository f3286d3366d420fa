// DeliveryRound: how a delivering thread batches output. A thread that hands messages to many
// connections (the router, an authorizer worker; later Broadcast, live queries, NATS) opens a
// round, delivers with it, and closes it: every outbox appended to during the round is then
// flushed once, with one non-blocking send per connection, by that thread.
#pragma once

#include <memory>
#include <vector>

namespace walcast {

/// Something a round flushes when it closes (a connection's outbox).
class RoundMember {
public:
    virtual ~RoundMember() = default;
    /// Sends what was batched for this member. Called once per round it joined, on the thread
    /// that closes the round; must not block on a socket.
    virtual void flush_round() = 0;
};

/// The contract (docs/architecture.md, "The delivery round"):
///  - one delivering thread owns a round (not thread-safe); it passes it to every delivery;
///  - a member joins the round on its first append of the round and is flushed exactly once at
///    close(); a member already in another thread's round does not join (that round flushes it);
///  - close() flushes every member once, in join order, then the round is empty and reusable;
///  - a round that is destroyed open is closed — no output is left behind.
class DeliveryRound {
public:
    DeliveryRound() = default;
    ~DeliveryRound() { close(); }
    DeliveryRound(const DeliveryRound&) = delete;
    DeliveryRound& operator=(const DeliveryRound&) = delete;

    /// Adds a member (holds it until close()).
    void join(std::shared_ptr<RoundMember> member) { members_.push_back(std::move(member)); }
    /// Flushes every member once and empties the round.
    void close();
    bool empty() const { return members_.empty(); }
    std::size_t size() const { return members_.size(); }

private:
    std::vector<std::shared_ptr<RoundMember>> members_;
    std::vector<std::shared_ptr<RoundMember>> closing_; ///< reused storage for close()
};

} // namespace walcast
