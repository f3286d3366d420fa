// ChangeFanout: one change stream, several consumers (the router; later live queries, a NATS
// publisher). A ChangeSink that hands every callback to each consumer in turn on the source's
// thread, and confirms to the source only what every consumer has confirmed.
#pragma once

#include "capture/change_sink.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace walcast::capture {

class ChangeFanout;

/// What a consumer of a ChangeFanout calls to confirm: every change it was handed up to the
/// commit whose end position it passes has been handed on (delivered, queued, published).
/// Copyable; any thread; monotone per consumer. A default-constructed handle does nothing.
class ConfirmHandle {
public:
    ConfirmHandle() = default;
    void confirm(Position end) const;
    void operator()(Position end) const { confirm(end); }
    explicit operator bool() const { return fanout_ != nullptr; }

private:
    friend class ChangeFanout;
    ConfirmHandle(ChangeFanout* fanout, std::size_t index) : fanout_(fanout), index_(index) {}
    ChangeFanout* fanout_ = nullptr;
    std::size_t index_ = 0;
};

/// The confirm rule: the source is confirmed up to the minimum, over consumers, of what each
/// confirmed. A consumer confirms a commit once everything it was handed up to there is handed
/// on; a consumer with no interest in a transaction confirms it at once (so an idle consumer
/// never holds the others back). Until every consumer has confirmed something, nothing is.
///
/// Threading: add() before the source starts (not thread-safe); the ChangeSink callbacks run on
/// the source's thread and reach consumers in the order they were added; handles may be used
/// from any thread. The fan-out must outlive its consumers' use of their handles.
class ChangeFanout final : public ChangeSink {
public:
    /// upstream: receives each new minimum (normally the Source's confirm); any thread.
    explicit ChangeFanout(std::function<void(Position)> upstream);

    /// Adds a consumer (it must outlive the fan-out's use) and returns its confirm handle.
    ConfirmHandle add(ChangeSink& consumer);

    /// The minimum confirmed so far (what upstream last received, or more).
    Position confirmed() const { return Position{sent_.load(std::memory_order_acquire)}; }

    void on_begin(const TransactionInfo& txn) override;
    void on_change(const ChangePtr& change) override;
    void on_commit(const TransactionInfo& txn, Position end) override;
    void on_relation(const RelationPtr& relation) override;
    void on_idle() override;
    void on_stream_state(bool up, const std::string& reason) override;
    void on_gap(const Gap& gap) override;

private:
    friend class ConfirmHandle;
    void confirm(std::size_t consumer, Position end);

    std::function<void(Position)> upstream_;
    std::vector<ChangeSink*> consumers_;
    std::deque<std::atomic<std::uint64_t>> confirmed_; ///< per consumer
    std::atomic<std::uint64_t> sent_{0};               ///< highest minimum passed upstream
};

} // namespace walcast::capture
