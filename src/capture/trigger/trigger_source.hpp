// TriggerSource: the capture source for databases without logical replication. Reads the
// events the capture triggers wrote (walcast db init --capture trigger) in commit order, batch
// by batch between two transaction snapshots (PgQ's method), turns them into the same Change
// objects the logical source produces, and keeps its read position in the database.
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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace walcast::capture::trigger {

/// Options of a TriggerSource.
struct TriggerSourceOptions {
    /// PUBLICATION: must be the publication trigger capture was installed for.
    std::string publication = "supabase_realtime";
    /// SLOT_NAME: a durable consumer of this name — its read position survives walcast
    /// restarts and crashes (events committed while walcast is down are delivered when it is
    /// back, up to max_retention). Empty: a consumer for this process only, starting at the
    /// current snapshot and removed when walcast stops (as a temporary slot).
    std::string consumer;
    /// true (walcast tail): configuration errors (not installed, wrong publication, consumer
    /// in use) stop the source (fatal_error()). false (server): logged and retried.
    bool config_errors_fatal = false;
    std::chrono::milliseconds initial_backoff{100}; ///< first reconnect delay, doubling …
    std::chrono::milliseconds max_backoff{5000};    ///< … up to this
    /// Adaptive polling: right after a batch with events the next poll follows at once; each
    /// empty poll doubles the wait from poll_min up to poll_max (see bench/README.md, "Trigger
    /// capture: how walcast learns of new events", for the measured choice).
    std::chrono::milliseconds poll_min{1};
    std::chrono::milliseconds poll_max{20};
    /// Confirmed positions are written to the database at most this often (and at stop()).
    std::chrono::milliseconds persist_interval{100};
    /// walcast.reconcile() and walcast.maintain() run this often.
    std::chrono::milliseconds maintenance_interval{1000};
};

/// Thread-safe snapshot for /healthz and /metrics.
struct TriggerSourceStats {
    bool up = false;
    std::uint64_t received = 0;  ///< position of the last transaction handed on
    std::uint64_t confirmed = 0; ///< highest position confirmed by consumers
    std::uint64_t persisted = 0; ///< highest position written to walcast.consumer
    std::int64_t lag_ms = 0;     ///< now − commit time of the last transaction handed on while
                                 ///< behind; 0 when caught up
    std::uint64_t transactions = 0;
    std::uint64_t changes = 0;
    std::uint64_t batches = 0;        ///< non-empty batches read
    std::uint64_t polls = 0;          ///< snapshot polls (empty or not)
    std::uint64_t corrupt_events = 0; ///< event rows skipped as unreadable
    std::uint64_t dropped_events = 0; ///< events lost to max_retention (reported by the DB)
    std::uint64_t reconnects = 0;
    std::uint64_t tables_missing_triggers = 0; ///< captured tables whose triggers were dropped
};

/// Streams the trigger-captured changes of one publication into one sink.
///
/// Threading: start() spawns the capture thread; every sink callback runs on it, in commit
/// order: on_stream_state, on_relation (first use of each table layout), then per transaction
/// on_begin, on_change…, on_commit. Transactions are streamed (single-row mode), never
/// buffered whole. confirm() and the accessors may be called from any thread.
///
/// Order: batches follow each other in commit order; inside a batch, transactions are ordered
/// by their last event id and changes by event id — a transaction that waited for another's
/// row lock comes after it, and each row's changes keep their order.
///
/// Positions (TransactionInfo::commit_position, equal to the `end` of on_commit): (batch number
/// << 24) | ordinal in the batch, printed "batch.ordinal". Batch numbers continue across
/// restarts; the batch a persisted position is inside is read again with its own snapshots, so
/// its transactions keep their positions, while unacknowledged transactions of later batches
/// may come back in a differently cut batch. TransactionInfo::xid is the full xid8.
///
/// Delivery: within one process each transaction is handed on once, also across reconnects.
/// Across restarts (stop, SIGKILL, crash) transactions up to the persisted position — written
/// only for confirmed positions, at most persist_interval after confirm(), and at stop() — are
/// never handed on again; every later one is, so none is lost.
class TriggerSource final : public Source {
public:
    /// params: the database (walcast's session options; the capture trigger renders values
    /// with the same ones). sink must outlive the source.
    TriggerSource(pg::ConnectParams params, TriggerSourceOptions options, ChangeSink& sink);
    ~TriggerSource() override; ///< stops and joins
    TriggerSource(const TriggerSource&) = delete;
    TriggerSource& operator=(const TriggerSource&) = delete;

    // --- capture::Source ---
    std::string_view kind() const override { return "trigger"; }
    /// Starts the capture thread; returns at once. Call once.
    void start() override;
    /// Stops the thread, writes the last confirmed position, removes a non-durable consumer,
    /// joins. Idempotent. Must not be called from a sink callback.
    void stop() override;
    /// Consumers report that every change of the transactions up to position end (a value
    /// from on_commit) has been handed on; only then is it written as the read position.
    void confirm(Position end) override;
    /// Up while reading with every captured table's triggers in place: dropped or disabled
    /// capture triggers (changes are being lost) make it not up, with the tables and the fix.
    SourceHealth health() const override;
    SourceStats stats() const override;
    /// "batch.ordinal", e.g. "12.3".
    std::string format_position(Position p) const override { return position_text(p.value); }
    std::optional<Position> parse_position(std::string_view text) const override;

    /// True while connected, registered and reading.
    bool stream_up() const { return up_.load(std::memory_order_acquire); }
    /// Why the source is not up, or the capture problem that loses changes (dropped capture
    /// triggers); "" when neither.
    std::string down_reason() const;
    /// Capture problems that lose changes while the stream itself is up (tables whose capture
    /// triggers were dropped or that cannot be captured), each with its fix; "" when none.
    std::string problems() const;
    std::optional<Error> fatal_error() const;
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    TriggerSourceStats trigger_stats() const;
    /// The consumer in use (the generated name of a non-durable one once registered).
    std::string consumer_name() const;

    /// "<batch>.<ordinal>" (e.g. "12.3"); "0.0" for none.
    static std::string position_text(std::uint64_t position);
    /// The inverse of position_text; nullopt for anything else.
    static std::optional<Position> parse_position_text(std::string_view text);
    static constexpr unsigned ordinal_bits = 24;

private:
    struct Layout;
    struct Batch;
    struct Handed {
        std::uint64_t position;
        std::int64_t tx_last;
        std::shared_ptr<const Batch> batch;
    };
    /// A batch partly handed on when the connection was lost (or persisted so at a restart).
    struct OpenBatch {
        std::shared_ptr<const Batch> batch;
        std::int64_t done_last = 0;
        std::uint32_t done_ordinal = 0;
    };

    void run();
    Status session();
    Status connect_and_register();
    Status poll_once(bool force, bool& had_events);
    Status read_batch(const std::shared_ptr<Batch>& batch, std::int64_t done_last,
                      std::uint32_t done_ordinal, bool& had_events);
    Status maintenance();
    Status persist(bool force);
    Result<std::shared_ptr<const Layout>> layout(int id);
    void set_down(const std::string& reason);
    /// Tells the sink (on_gap, a closed gap) that `lost` events this consumer had not read were
    /// dropped by max_retention: changes committed after from_unix_ms may be missing.
    void report_lost(std::int64_t lost, std::int64_t from_unix_ms);
    bool wait_for(std::chrono::milliseconds delay);

    pg::ConnectParams params_;
    TriggerSourceOptions options_;
    ChangeSink& sink_;

    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    std::mutex wait_mutex_;
    std::condition_variable wait_cv_;

    // --- capture thread state ---
    pg::Connection read_conn_; ///< REPEATABLE READ snapshots and the batch query
    pg::Connection ctl_conn_;  ///< consumer lock and position, reconcile, maintain, catalog
    std::optional<pg::Catalog> catalog_;
    std::optional<pg::RelationLoader> loader_;
    int consumer_id_ = 0;
    bool registered_ = false;
    bool in_read_txn_ = false;
    bool track_commit_timestamp_ = false;
    bool statement_prepared_ = false;
    std::unordered_map<int, std::shared_ptr<const Layout>> layouts_;
    bool pub_insert_ = true, pub_update_ = true, pub_delete_ = true, pub_truncate_ = true;
    Snapshot s1_;                 ///< every transaction visible in it has been handed on
    std::int64_t seq_at_s1_ = -1; ///< event_seq read just before s1_ (-1: unknown)
    std::uint64_t batch_id_ = 0;  ///< number of the last non-empty batch
    std::optional<OpenBatch> open_;
    std::deque<Handed> handed_; ///< handed on, not yet known confirmed
    /// A read position to write to walcast.consumer (see persist()).
    struct Durable {
        Snapshot s1, s2;
        bool has_batch = false; ///< s2 and the done_* fields apply
        std::uint64_t batch_id = 0;
        std::int64_t done_last = 0;
        std::uint32_t done_ordinal = 0;
        std::uint64_t position = 0; ///< what it covers, comparable with positions handed on
    };
    std::optional<Durable> pending_; ///< confirmed, not yet written
    bool reading_ = false;           ///< inside read_batch()
    std::uint64_t persisted_position_ = 0;
    Snapshot persisted_s1_;
    std::chrono::steady_clock::time_point last_persist_{};
    std::chrono::steady_clock::time_point last_maintenance_{};
    std::chrono::steady_clock::time_point last_batch_query_{};
    std::uint64_t sequence_ = 0;
    bool ever_up_ = false;

    // --- shared with other threads ---
    std::atomic<bool> up_{false};
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> confirmed_{0};
    std::atomic<std::uint64_t> persisted_{0};
    std::atomic<std::int64_t> last_commit_time_pg_us_{0};
    std::atomic<bool> caught_up_{true};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> changes_{0};
    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> polls_{0};
    std::atomic<std::uint64_t> corrupt_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> missing_tables_{0};
    mutable std::mutex state_mutex_;
    std::string down_reason_;
    std::string problems_;
    std::optional<Error> fatal_error_;
    std::string consumer_name_;
};

} // namespace walcast::capture::trigger
