// LogicalSource: the capture source built on a logical replication slot — the first
// capture::Source. Streams committed transactions from pgoutput into a ChangeSink on its own
// thread, confirms the slot only up to what consumers confirmed, and reconnects (resuming from
// the slot) when the connection drops. Its Position is the LSN.
#pragma once

#include "capture/change_sink.hpp"
#include "capture/logical/relation_cache.hpp"
#include "capture/source.hpp"
#include "common/result.hpp"
#include "pg/catalog.hpp"
#include "pg/connection.hpp"
#include "pg/lsn.hpp"
#include "pg/relation_loader.hpp"
#include "pg/replication_stream.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace walcast::capture {

/// The logical source's positions are LSNs: Position::value is Lsn::value.
constexpr Position to_position(pg::Lsn lsn) {
    return Position{lsn.value};
}
constexpr pg::Lsn to_lsn(Position position) {
    return pg::Lsn{position.value};
}

/// Options of a LogicalSource.
struct LogicalSourceOptions {
    std::string publication = "supabase_realtime"; ///< PUBLICATION
    /// Publications streamed too when they exist at connect, skipped when they do not
    /// (Broadcast from Database's supabase_realtime_messages_publication, spec §7.4.3).
    std::vector<std::string> extra_publications;
    /// SLOT_NAME: a permanent slot, created when missing and resumed from its
    /// confirmed_flush_lsn. Empty: a temporary slot per connection (nothing retained while
    /// walcast is down; changes made while disconnected are lost).
    std::string slot_name;
    /// SLOT_RECREATE: when the slot named slot_name was invalidated by Postgres (wal_status
    /// "lost", max_slot_wal_keep_size exceeded), drop it and create it again — the changes
    /// between its last confirmed position and the new slot are lost, and a warning says so.
    /// false: report the invalidation (Postgres's reason and the fix) and keep retrying, so
    /// an operator who drops the slot gets streaming again without a restart.
    bool slot_recreate = false;
    /// true (walcast tail): configuration errors — wal_level, missing publication, missing
    /// REPLICATION privilege, slot in use elsewhere at start — stop the source (see
    /// fatal_error()). false (server): they are logged and retried with backoff like
    /// connection errors, so fixing the database heals walcast without a restart.
    bool config_errors_fatal = false;
    std::chrono::milliseconds initial_backoff{100}; ///< first reconnect delay, doubling …
    std::chrono::milliseconds max_backoff{5000};    ///< … up to this
    /// Standby status updates are sent at least this often (PostgreSQL's wal_sender_timeout
    /// default is 60 s), whenever a keepalive asks for a reply, and within a second of the
    /// flush position advancing.
    std::chrono::milliseconds status_interval{10000};
};

/// Thread-safe snapshot for /healthz and /metrics.
struct LogicalSourceStats {
    bool stream_up = false;
    pg::Lsn received;            ///< everything before this has been handed to the sink
    pg::Lsn flushed;             ///< last flush position reported to Postgres
    pg::Lsn confirmed;           ///< highest end LSN confirmed by consumers
    pg::Lsn server_wal_end;      ///< the server's WAL end as of its last message
    std::uint64_t lag_bytes = 0; ///< server_wal_end − flushed (WAL the slot makes Postgres keep)
    std::int64_t lag_ms = 0;     ///< now − commit time of the last transaction; 0 when caught up
    std::uint64_t transactions = 0;
    std::uint64_t changes = 0;
    std::uint64_t reconnects = 0;         ///< times the stream went down after streaming
    std::uint64_t slot_invalidations = 0; ///< connection attempts refused: slot invalidated
    std::uint64_t slot_recreations = 0;   ///< invalidated slots dropped and created again
};

/// Streams one publication through one slot into one sink.
///
/// Threading: start() spawns the capture thread; every sink callback runs on it, in commit
/// order: on_stream_state, on_relation (each Relation message, enriched from the catalog), then
/// per transaction on_begin, on_change (one per row; a TRUNCATE is one change listing its
/// relations), on_commit. Changes are handed on as they arrive — a transaction is never
/// buffered whole. confirm() and the accessors may be called from any thread.
///
/// Delivery: within one process a transaction is handed on at most once, also across
/// reconnects (transactions whose commit precedes the end LSN of the last one handed on are
/// skipped, and that LSN is the start position asked for). With SLOT_NAME nothing is lost
/// across reconnects or walcast restarts once consumers confirm; with a temporary slot,
/// changes committed while disconnected are lost (logged).
class LogicalSource final : public Source {
public:
    /// params: the database (GUC options are applied to both connections; the walsender
    /// renders pgoutput's text values with them). sink must outlive the source.
    LogicalSource(pg::ConnectParams params, LogicalSourceOptions options, ChangeSink& sink);
    ~LogicalSource() override; ///< stops and joins
    LogicalSource(const LogicalSource&) = delete;
    LogicalSource& operator=(const LogicalSource&) = delete;

    // --- capture::Source ---
    std::string_view kind() const override { return "logical"; }
    /// Starts the capture thread; returns at once (the stream comes up asynchronously —
    /// watch on_stream_state or stream_up()). Call once.
    void start() override;
    /// Stops the thread (sends a last status update when streaming) and joins. Idempotent.
    /// Must not be called from a sink callback.
    void stop() override;
    /// Consumers report that every change of the transactions up to end (a value from
    /// on_commit) has been handed on. The flush position reported to Postgres never passes the
    /// highest confirmed end — except when idle (nothing in flight, all confirmed), where it
    /// advances to the server's WAL end so the slot does not retain WAL without bound.
    void confirm(Position end) override;
    void confirm(pg::Lsn end_lsn) { confirm(to_position(end_lsn)); }
    SourceHealth health() const override;
    /// received, confirmed, lag (WAL the slot makes Postgres keep; commit-time lag), counts.
    SourceStats stats() const override;
    /// "16/B374D848" (pg_lsn output).
    std::string format_position(Position p) const override { return to_lsn(p).to_string(); }
    std::optional<Position> parse_position(std::string_view text) const override;

    /// True while START_REPLICATION is streaming.
    bool stream_up() const { return up_.load(std::memory_order_acquire); }
    /// Why the stream is down ("" while up or before the first attempt).
    std::string down_reason() const;
    /// The configuration error that stopped the source (config_errors_fatal only).
    std::optional<Error> fatal_error() const;
    /// True once the capture thread has ended (stop() or a fatal error).
    bool finished() const { return finished_.load(std::memory_order_acquire); }

    pg::Lsn received_lsn() const { return pg::Lsn{received_.load(std::memory_order_acquire)}; }
    pg::Lsn flushed_lsn() const { return pg::Lsn{flushed_.load(std::memory_order_acquire)}; }
    std::uint64_t lag_bytes() const;
    std::int64_t lag_ms() const;
    std::uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }
    std::uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }
    LogicalSourceStats logical_stats() const;

    /// The slot in use (the generated name of a temporary slot once created).
    std::string slot_name() const;

private:
    void run();
    /// One connection's life: set-up, streaming until error or stop. Returns why it ended.
    Status stream_once();
    /// The error for a slot Postgres invalidated: its reason (reason, or asked of Postgres
    /// with START_REPLICATION when empty), what is lost, and the fix. Capture thread.
    Error slot_invalidated_error(const std::string& slot, std::string reason);
    /// Opens gap_ (once) with reason; report: hand it to the sink now (it stays open).
    void open_gap(std::string reason, bool report);
    /// Closes gap_ at the position streaming resumes from and hands it to the sink.
    void close_gap(pg::Lsn resumed_at);
    Status handle_xlog(std::string_view payload, pg::ReplicationStream& stream);
    Status send_status(pg::ReplicationStream& stream, bool force);
    pg::Lsn flush_target() const;
    void set_down(const std::string& reason);
    bool sleep_backoff(std::chrono::milliseconds delay);

    pg::ConnectParams params_;
    LogicalSourceOptions options_;
    ChangeSink& sink_;

    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    int wake_fd_ = -1; ///< eventfd: wakes the capture thread's poll on stop()
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;

    // --- capture thread state ---
    pg::Connection catalog_conn_;
    std::optional<pg::Catalog> catalog_;
    std::optional<pg::RelationLoader> loader_; ///< over catalog_
    RelationCache relations_;
    bool in_transaction_ = false;
    std::chrono::steady_clock::time_point last_closed_check_{}; ///< capture thread
    bool skipping_ = false; ///< current transaction was already handed on: drop it
    TransactionInfo txn_;
    pg::Lsn last_handed_end_; ///< end LSN of the last transaction handed on
    pg::Lsn idle_wal_end_;    ///< keepalive WAL end seen while idle …
    pg::Lsn idle_handed_end_; ///< … and last_handed_end_ at that moment
    std::chrono::steady_clock::time_point last_status_{};
    std::uint64_t sequence_ = 0;
    bool ever_up_ = false;
    bool temporary_slot_lost_ = false;
    std::int64_t up_since_unix_ms_ = 0; ///< when the current/last connection started streaming
    /// A gap opened (slot invalidated, dropped, or about to be recreated) and not yet closed;
    /// closed (to = now) and reported again when streaming resumes.
    std::optional<Gap> gap_;
    bool gap_reported_ = false; ///< gap_ was handed to the sink while open

    // --- shared with other threads ---
    std::atomic<bool> up_{false};
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> flushed_{0};
    std::atomic<std::uint64_t> confirmed_{0};
    std::atomic<std::uint64_t> server_wal_end_{0};
    std::atomic<std::int64_t> last_commit_time_pg_us_{0};
    std::atomic<bool> caught_up_{true};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> changes_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> slot_invalidations_{0};
    std::atomic<std::uint64_t> slot_recreations_{0};
    mutable std::mutex state_mutex_;
    std::string down_reason_;
    std::optional<Error> fatal_error_;
    std::string active_slot_;
};

} // namespace walcast::capture
