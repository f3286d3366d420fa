// TriggerSource: the capture source for databases that give walcast no replication slot. The
// capture triggers `walcast db init --capture trigger` installs write every change of the
// publication's tables into walcast's event table; this source reads them in PgQ-style batches
// — a batch is every transaction that committed between two transaction snapshots
// (pg_current_snapshot), its events in event order — and hands them to the sink exactly as the
// logical source would (the row-value contract of docs/architecture.md). Its read position is
// durable in walcast.consumer.
#pragma once

#include "capture/change_sink.hpp"
#include "capture/source.hpp"
#include "capture/trigger/snapshot.hpp"
#include "common/result.hpp"
#include "pg/catalog.hpp"
#include "pg/connection.hpp"
#include "pg/relation_loader.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

namespace walcast::capture {

/// A trigger source position: batch number × 2^28 + the transaction's place in its batch
/// (transaction k, counted from 0: commit position 2k+1, end 2k+2). Batches are numbered in
/// walcast.consumer, so positions keep increasing across restarts of a durable consumer.
struct TriggerPosition {
    static constexpr int shift = 28;
    static constexpr std::uint64_t mask = (std::uint64_t{1} << shift) - 1;
    static constexpr Position commit(std::uint64_t batch, std::uint64_t k) {
        return Position{(batch << shift) | (2 * k + 1)};
    }
    static constexpr Position end(std::uint64_t batch, std::uint64_t k) {
        return Position{(batch << shift) | (2 * k + 2)};
    }
    static constexpr std::uint64_t batch_of(Position p) { return p.value >> shift; }
    /// Transactions of the batch up to and including p's (end positions: k + 1).
    static constexpr std::uint64_t done_of(Position p) { return (p.value & mask) / 2; }
};

/// Options of a TriggerSource.
struct TriggerSourceOptions {
    std::string publication = "supabase_realtime"; ///< PUBLICATION (whose tables get triggers)
    /// SLOT_NAME: names a durable consumer in walcast.consumer, resumed after a restart.
    /// Empty: a consumer for this process only (removed at stop; like a temporary slot,
    /// nothing is kept for it while walcast is down).
    std::string consumer_name;
    /// As LogicalSourceOptions::config_errors_fatal (walcast tail: true).
    bool config_errors_fatal = false;
    std::chrono::milliseconds initial_backoff{100}; ///< first reconnect delay, doubling …
    std::chrono::milliseconds max_backoff{5000};    ///< … up to this
    /// Polling while nothing is new: the wait doubles from min_poll to max_poll; after a batch
    /// with changes the next poll is immediate.
    std::chrono::milliseconds min_poll{1};
    std::chrono::milliseconds max_poll{20};
    /// Rows fetched per round trip of a batch (a batch is read through a cursor, so memory is
    /// bounded by this, not by the batch).
    int fetch_rows = 1000;
    /// Rotation: the table writers insert into is switched when larger than this or, with
    /// events in it, older than rotation_period; a table switched away from is truncated once
    /// every consumer has read past it.
    std::uint64_t rotation_bytes = 16u << 20;
    std::chrono::seconds rotation_period{60};
    /// How often walcast.maintain() (rotation) and walcast.reconcile() (triggers on the
    /// publication's tables) run.
    std::chrono::milliseconds maintain_interval{1000};
    std::chrono::milliseconds reconcile_interval{5000};
};

/// Streams the publication's changes from the event table into one sink.
///
/// Threading: start() spawns the capture thread; every sink callback runs on it (the
/// capture::Source contract). Delivery: a transaction is handed on at most once per process;
/// with a durable consumer nothing confirmed is handed on again after a restart and nothing
/// committed is lost (the position is kept in the database, and rotation never truncates a
/// table a consumer has not read past).
class TriggerSource final : public Source {
public:
    /// params: the database (its session settings do not matter for values: the capture
    /// trigger renders them under walcast's own). sink must outlive the source.
    TriggerSource(pg::ConnectParams params, TriggerSourceOptions options, ChangeSink& sink);
    ~TriggerSource() override; ///< stops and joins
    TriggerSource(const TriggerSource&) = delete;
    TriggerSource& operator=(const TriggerSource&) = delete;

    std::string_view kind() const override { return "trigger"; }
    void start() override;
    /// Stops the thread (writing the durable position a last time) and joins. Idempotent.
    void stop() override;
    void confirm(Position end) override;
    SourceHealth health() const override;
    SourceStats stats() const override;
    /// "batch/transaction", e.g. "12/3" (the 4th transaction of batch 12).
    std::string format_position(Position p) const override;
    std::optional<Position> parse_position(std::string_view text) const override;

    bool stream_up() const { return up_.load(std::memory_order_acquire); }
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    /// The consumer's name in walcast.consumer (generated for a per-process one).
    std::string consumer_name() const;

private:
    /// Where reading stands (memory) or what is confirmed (walcast.consumer): inside batch
    /// `batch`, which spans (from, to] when to is set, its first `done` transactions done;
    /// without to, every transaction visible in from is done and batch is the next number.
    struct ReadState {
        std::uint64_t batch = 1;
        trigger::Snapshot from;
        std::optional<trigger::Snapshot> to;
        std::uint64_t done = 0;
    };
    /// A batch read (or being read) whose transactions are not all confirmed yet.
    struct PendingBatch {
        std::uint64_t batch = 0;
        trigger::Snapshot from;
        trigger::Snapshot to;
        std::optional<std::uint64_t> transactions; ///< known once read to its end
    };

    void run();
    Status stream_once();
    Status attach_consumer();
    /// Reads one batch: (state_.from, state_.to or now]; returns the changes handed on.
    Result<std::uint64_t> read_batch();
    Status handle_row(const pg::Rows& rows, int row);
    Status finish_transaction();
    Result<RelationPtr> relation_of_layout(std::int64_t layout);
    Status write_position(bool force);
    Status maintain();
    Status reconcile();
    void set_down(const std::string& reason);
    bool sleep_for(std::chrono::milliseconds delay);

    pg::ConnectParams params_;
    TriggerSourceOptions options_;
    ChangeSink& sink_;
    std::string consumer_;
    bool temporary_ = false;

    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;

    // --- capture thread state ---
    pg::Connection conn_;
    std::optional<pg::Catalog> catalog_;
    std::optional<pg::RelationLoader> loader_;
    std::unordered_map<std::int64_t, RelationPtr> layouts_;
    bool track_commit_timestamp_ = false;
    bool attached_ = false; ///< the consumer row exists and state_ is set
    ReadState state_;       ///< what has been handed on
    ReadState written_;     ///< what walcast.consumer holds
    std::deque<PendingBatch> pending_;
    // the transaction being handed on
    bool in_txn_ = false;
    std::string txn_xid_;
    TransactionInfo txn_;
    std::uint64_t txn_index_ = 0; ///< k of the next transaction in the batch
    std::uint64_t skip_ = 0;      ///< transactions at the batch's start handed on before
    bool skipping_ = false;
    std::optional<ChangePtr> pending_truncate_; ///< consecutive TRUNCATE events, one change
    std::uint64_t sequence_ = 0;
    std::uint64_t batch_changes_ = 0;
    Position last_handed_end_;
    std::chrono::steady_clock::time_point last_write_{};
    std::chrono::steady_clock::time_point last_maintain_{};
    std::chrono::steady_clock::time_point last_reconcile_{};

    // --- shared ---
    std::atomic<bool> up_{false};
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> confirmed_{0};
    std::atomic<std::int64_t> last_commit_time_pg_us_{0};
    std::atomic<bool> caught_up_{true};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> changes_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    mutable std::mutex state_mutex_;
    std::string down_reason_;
    std::optional<Error> fatal_error_;
};

} // namespace walcast::capture
