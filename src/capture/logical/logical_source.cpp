#include "capture/logical/logical_source.hpp"

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "pg/closed_by_server.hpp"
#include "pg/pgoutput_decoder.hpp"

#include <algorithm>
#include <chrono>
#include <sys/eventfd.h>
#include <unistd.h>

namespace walcast::capture {

namespace {

using Clock = std::chrono::steady_clock;

// How long a read waits before the loop re-checks status deadlines and confirmations made by
// other threads (which do not wake the capture thread).
constexpr std::chrono::milliseconds read_timeout_ms{1000};
// After consumers confirm, the flush position reaches Postgres within about this long.
constexpr std::chrono::milliseconds flush_report_delay_ms{1000};
// Between transactions, how often the catalog connection is checked for being closed by the
// server (a fast shutdown terminates every regular backend).
constexpr std::chrono::milliseconds closed_check_interval{100};

} // namespace

LogicalSource::LogicalSource(pg::ConnectParams params, LogicalSourceOptions options,
                             ChangeSink& sink)
    : params_(std::move(params)), options_(std::move(options)), sink_(sink) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

LogicalSource::~LogicalSource() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void LogicalSource::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void LogicalSource::stop() {
    stopping_.store(true, std::memory_order_release);
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
    { std::lock_guard lock(wait_mutex_); }
    wait_cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void LogicalSource::confirm(Position end) {
    advance_to(confirmed_, end.value);
}

std::optional<Position> LogicalSource::parse_position(std::string_view text) const {
    auto lsn = pg::Lsn::parse(text);
    if (!lsn) return std::nullopt;
    return to_position(*lsn);
}

SourceHealth LogicalSource::health() const {
    std::lock_guard lock(state_mutex_);
    return make_health(stream_up(), finished(), fatal_error_, down_reason_,
                       "replication stream starting");
}

SourceStats LogicalSource::stats() const {
    SourceStats s;
    s.received = to_position(received_lsn());
    s.confirmed = Position{confirmed_.load(std::memory_order_acquire)};
    s.lag_bytes = lag_bytes();
    s.lag_ms = lag_ms();
    s.transactions = transactions();
    s.changes = changes();
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    return s;
}

std::string LogicalSource::down_reason() const {
    std::lock_guard lock(state_mutex_);
    return up_.load() ? std::string() : down_reason_;
}

std::optional<Error> LogicalSource::fatal_error() const {
    std::lock_guard lock(state_mutex_);
    return fatal_error_;
}

std::string LogicalSource::slot_name() const {
    std::lock_guard lock(state_mutex_);
    return active_slot_.empty() ? options_.slot_name : active_slot_;
}

std::uint64_t LogicalSource::lag_bytes() const {
    auto end = server_wal_end_.load(std::memory_order_acquire);
    auto flushed = flushed_.load(std::memory_order_acquire);
    return end > flushed ? end - flushed : 0;
}

std::int64_t LogicalSource::lag_ms() const {
    if (caught_up_.load(std::memory_order_acquire)) return 0;
    auto commit = last_commit_time_pg_us_.load(std::memory_order_acquire);
    if (commit == 0) return 0;
    auto lag = (now_pg_us() - commit) / 1000;
    return lag > 0 ? lag : 0;
}

LogicalSourceStats LogicalSource::logical_stats() const {
    LogicalSourceStats s;
    s.stream_up = stream_up();
    s.received = received_lsn();
    s.flushed = flushed_lsn();
    s.confirmed = pg::Lsn{confirmed_.load(std::memory_order_acquire)};
    s.server_wal_end = pg::Lsn{server_wal_end_.load(std::memory_order_acquire)};
    s.lag_bytes = lag_bytes();
    s.lag_ms = lag_ms();
    s.transactions = transactions();
    s.changes = changes();
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.slot_invalidations = slot_invalidations_.load(std::memory_order_relaxed);
    s.slot_recreations = slot_recreations_.load(std::memory_order_relaxed);
    return s;
}

void LogicalSource::set_down(const std::string& reason) {
    up_.store(false, std::memory_order_release);
    std::lock_guard lock(state_mutex_);
    down_reason_ = reason;
}

Error LogicalSource::slot_invalidated_error(const std::string& slot, std::string reason) {
    if (reason.empty()) {
        // Postgres's reason, as START_REPLICATION reports it ("This slot has been invalidated
        // because it exceeded the maximum reserved size.").
        if (auto repl = pg::ReplicationStream::connect(params_)) {
            auto st = repl->start_logical(slot, pg::Lsn{}, {options_.publication});
            if (!st) reason = st.error().detail.empty() ? st.error().message : st.error().detail;
            repl->close();
        }
        if (reason.empty()) reason = "its wal_status is \"lost\"";
    }
    std::string keep = "?";
    if (auto r = catalog_conn_.exec("SHOW max_slot_wal_keep_size"); r && r->size() > 0)
        keep = r->string(0, 0);
    slot_invalidations_.fetch_add(1, std::memory_order_relaxed);
    return make_error(
        Errc::Unavailable,
        "replication slot \"" + slot + "\" was invalidated by Postgres: " + reason +
            " Postgres removed WAL it still needed, so changes since walcast last confirmed "
            "are gone from it. Fix: set SLOT_RECREATE=true to let walcast drop and recreate it "
            "(subscribers miss what was removed), or drop it yourself with SELECT "
            "pg_drop_replication_slot('" +
            slot +
            "'); to keep it from happening again raise "
            "max_slot_wal_keep_size (now " +
            keep +
            "; -1 = unlimited) above the WAL written "
            "during your longest outage");
}

namespace {
std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}
constexpr std::int64_t pg_epoch_unix_ms = 946'684'800'000; // 2000-01-01 in Unix time
} // namespace

void LogicalSource::open_gap(std::string reason, bool report) {
    if (!gap_) {
        Gap g;
        // Nothing committed after the last transaction handed on is promised to have arrived;
        // before this run streamed, nothing was promised at all.
        const auto commit = last_commit_time_pg_us_.load(std::memory_order_acquire);
        const std::int64_t commit_ms = commit ? commit / 1000 + pg_epoch_unix_ms : 0;
        g.from_unix_ms = std::max(commit_ms, up_since_unix_ms_);
        g.from = to_position(last_handed_end_);
        g.reason = std::move(reason);
        gap_ = std::move(g);
        gap_reported_ = false;
    }
    if (report && !gap_reported_) {
        gap_reported_ = true;
        sink_.on_gap(*gap_);
    }
}

void LogicalSource::close_gap(pg::Lsn resumed_at) {
    if (!gap_) return;
    gap_->to_unix_ms = std::max<std::int64_t>(now_unix_ms(), gap_->from_unix_ms + 1);
    gap_->to = to_position(resumed_at);
    log::warn("changes committed between {} and {} may be missing for subscribers: {}",
              gap_->from.valid() ? last_handed_end_.to_string() : std::string("the slot's start"),
              resumed_at.to_string(), gap_->reason);
    sink_.on_gap(*gap_);
    gap_.reset();
    gap_reported_ = false;
}

bool LogicalSource::sleep_backoff(std::chrono::milliseconds delay) {
    std::unique_lock lock(wait_mutex_);
    return !wait_cv_.wait_for(lock, delay,
                              [this] { return stopping_.load(std::memory_order_acquire); });
}

// The reconnect loop: each stream_once() is one connection's life. Configuration errors end the
// loop when they are fatal by option; everything else is retried with doubling backoff, reset
// once a connection has streamed.
void LogicalSource::run() {
    auto backoff = options_.initial_backoff;
    std::string last_reported;
    while (!stopping_.load(std::memory_order_acquire)) {
        Status st = stream_once();
        const bool streamed = up_.load(std::memory_order_acquire);
        loader_.reset();
        catalog_.reset();
        catalog_conn_ = pg::Connection();
        if (stopping_.load(std::memory_order_acquire)) {
            set_down("stopped");
            if (streamed) sink_.on_stream_state(false, "stopped");
            break;
        }
        std::string reason =
            st ? std::string("the server ended the replication stream") : st.error().message;
        set_down(reason);
        if (!st && st.error().code == Errc::Config && options_.config_errors_fatal) {
            {
                std::lock_guard lock(state_mutex_);
                fatal_error_ = st.error();
            }
            log::error("{}", reason);
            sink_.on_stream_state(false, reason);
            break;
        }
        if (streamed || reason != last_reported) {
            sink_.on_stream_state(false, reason);
            last_reported = reason;
        }
        if (streamed) reconnects_.fetch_add(1, std::memory_order_relaxed);
        if (streamed) backoff = options_.initial_backoff;
        log::warn("replication stream down: {}; retrying in {} ms", reason, backoff.count());
        if (!sleep_backoff(backoff)) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
    up_.store(false, std::memory_order_release);
    finished_.store(true, std::memory_order_release);
}

Status LogicalSource::stream_once() {
    // 1. A normal connection for the catalog and the configuration checks.
    auto cat = pg::Connection::connect(params_);
    if (!cat) return std::move(cat).error();
    catalog_conn_ = std::move(cat).value();
    catalog_.emplace(catalog_conn_);
    loader_.emplace(*catalog_);
    pg::Catalog& catalog = *catalog_;
    if (auto st = catalog.check_wal_level(); !st) return st;
    if (auto st = catalog.check_replication_privilege(); !st) return st;
    if (auto st = catalog.check_publication(options_.publication); !st) return st;
    std::vector<std::string> publications{options_.publication};
    for (const auto& extra : options_.extra_publications) {
        auto r = catalog_conn_.exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {extra});
        if (r && !r->empty() && extra != options_.publication) publications.push_back(extra);
    }

    const bool temporary = options_.slot_name.empty();
    std::string slot = options_.slot_name;
    bool slot_exists = false;
    if (!temporary) {
        auto state = catalog.slot(slot);
        if (!state) return std::move(state).error();
        if (*state) {
            const pg::SlotState& s = **state;
            auto db = catalog_conn_.exec("SELECT current_database()");
            if (!db) return db.error().to_error();
            const std::string current_db = db->string(0, 0);
            if (s.slot_type != "logical" || s.plugin != "pgoutput")
                return make_error(Errc::Config,
                                  "replication slot \"" + slot + "\" exists but is a " +
                                      s.slot_type + " slot" +
                                      (s.plugin.empty() ? "" : " of plugin " + s.plugin) +
                                      "; walcast needs a logical pgoutput slot: choose another "
                                      "SLOT_NAME or drop it with SELECT "
                                      "pg_drop_replication_slot('" +
                                      slot + "')");
            if (s.database != current_db)
                return make_error(Errc::Config,
                                  "replication slot \"" + slot + "\" belongs to database " +
                                      s.database + ", not " + current_db +
                                      "; choose another SLOT_NAME or connect to " + s.database);
            if (s.active_pid != 0)
                return make_error(ever_up_ ? Errc::Unavailable : Errc::Config,
                                  "replication slot \"" + slot + "\" is in use by PID " +
                                      std::to_string(s.active_pid) +
                                      "; stop that process (SELECT pg_terminate_backend(" +
                                      std::to_string(s.active_pid) +
                                      ")) or choose another SLOT_NAME");
            slot_exists = true;
            if (s.wal_status == "lost") {
                if (!options_.slot_recreate) {
                    Error e = slot_invalidated_error(slot, std::string());
                    open_gap(e.message, /*report=*/true);
                    return e;
                }
                // The operator allowed it: what the slot held is gone either way.
                auto dropped = catalog_conn_.exec("SELECT pg_drop_replication_slot($1)", {slot});
                if (!dropped)
                    return dropped.error().to_error().context(
                        "dropping the invalidated replication slot " + slot);
                log::warn("replication slot {} was invalidated by Postgres (max_slot_wal_keep_size "
                          "exceeded): dropped and created again (SLOT_RECREATE=true); changes "
                          "committed after it last confirmed {} are lost to subscribers",
                          slot,
                          last_handed_end_.valid() ? last_handed_end_.to_string()
                                                   : std::string("its position"));
                slot_recreations_.fetch_add(1, std::memory_order_relaxed);
                slot_exists = false;
                open_gap("replication slot \"" + slot +
                             "\" was invalidated by Postgres (max_slot_wal_keep_size exceeded) "
                             "and walcast dropped and recreated it (SLOT_RECREATE=true); to keep "
                             "it from happening again raise max_slot_wal_keep_size",
                         /*report=*/false);
            }
        }
        if (!slot_exists && ever_up_)
            // It streamed in this run and is gone now: dropped by someone (the operator after
            // an invalidation, or by mistake). What it held is gone with it.
            open_gap("replication slot \"" + slot +
                         "\" was dropped while walcast was using it; walcast created it again",
                     /*report=*/false);
    }

    // 2. The walsender connection.
    auto repl = pg::ReplicationStream::connect(params_);
    if (!repl) return std::move(repl).error();
    pg::ReplicationStream stream = std::move(repl).value();
    auto ident = stream.identify_system();
    if (!ident) return std::move(ident).error();

    pg::Lsn resumed_at = last_handed_end_; // where streaming starts, for a closed gap
    if (temporary) {
        slot = temporary_name();
        auto created = stream.create_slot(slot, true);
        if (!created) return created.error().to_error().context("creating a temporary slot");
        resumed_at = created->consistent_point;
        if (ever_up_) {
            log::warn("the temporary replication slot did not survive the disconnection: "
                      "changes committed while walcast was disconnected are lost (set "
                      "SLOT_NAME to keep them); streaming again from {}",
                      created->consistent_point.to_string());
            open_gap("the replication stream was down and walcast runs without SLOT_NAME (a "
                     "temporary slot), so Postgres did not keep the changes committed meanwhile; "
                     "set SLOT_NAME to keep them across reconnects",
                     /*report=*/false);
        }
    } else if (!slot_exists) {
        auto created = stream.create_slot(slot, false);
        // Another walcast may have created it since the check: use it.
        if (!created && !created.error().is(pg::sqlstate::duplicate_object))
            return created.error().to_error().context("creating replication slot " + slot);
        if (created) {
            log::info("created replication slot {} at {}", slot,
                      created->consistent_point.to_string());
            resumed_at = created->consistent_point;
        }
    }
    {
        std::lock_guard lock(state_mutex_);
        active_slot_ = slot;
    }

    // 3. Stream. Ask for the position after the last transaction handed on: the server skips
    // what committed before it (with a permanent slot it starts at confirmed_flush_lsn anyway
    // when that is later).
    if (auto st = stream.start_logical(slot, last_handed_end_, publications); !st) {
        // Invalidated after the catalog check: the catalog says so, and Postgres's own reason
        // is in the error's detail.
        auto now_lost = [&] {
            auto state = catalog.slot(slot);
            return state && *state && (*state)->wal_status == "lost";
        };
        if (!temporary && st.error().is(pg::sqlstate::object_not_in_prerequisite_state) &&
            now_lost()) {
            Error e = slot_invalidated_error(slot, st.error().detail.empty() ? st.error().message
                                                                             : st.error().detail);
            open_gap(e.message, /*report=*/true);
            return e;
        }
        const bool in_use = st.error().is(pg::sqlstate::object_in_use);
        Error e = st.error().to_error();
        if (in_use) e.code = ever_up_ ? Errc::Unavailable : Errc::Config;
        return std::move(
            e.context("START_REPLICATION on slot " + slot +
                      (in_use ? " (stop the other consumer or choose another SLOT_NAME)" : "")));
    }
    relations_.clear();
    in_transaction_ = false;
    skipping_ = false;
    idle_wal_end_ = {};
    last_status_ = Clock::now();
    ever_up_ = true;
    up_.store(true, std::memory_order_release);
    {
        std::lock_guard lock(state_mutex_);
        down_reason_.clear();
    }
    log::info("streaming publication {} from {} slot {} at {}", options_.publication,
              temporary ? "temporary" : "permanent", slot,
              last_handed_end_.valid() ? last_handed_end_.to_string()
                                       : std::string("its confirmed position"));
    up_since_unix_ms_ = now_unix_ms();
    sink_.on_stream_state(true, "streaming from slot " + slot);
    close_gap(resumed_at);
    stream.set_before_wait([this] { sink_.on_idle(); });

    for (;;) {
        if (stopping_.load(std::memory_order_acquire)) {
            // A last status update so a permanent slot keeps what consumers confirmed.
            (void)send_status(stream, true);
            stream.close();
            return {};
        }
        auto msg = stream.read(read_timeout_ms, wake_fd_);
        if (!msg) return std::move(msg).error();
        bool reply = false;
        switch (msg->kind) {
        case pg::StreamMessage::Kind::XLogData:
            advance_to(server_wal_end_, msg->wal_end.value);
            if (auto st = handle_xlog(msg->payload, stream); !st)
                return std::move(st).error().context("at WAL position " +
                                                     msg->wal_start.to_string());
            break;
        case pg::StreamMessage::Kind::Keepalive:
            advance_to(server_wal_end_, msg->wal_end.value);
            if (!in_transaction_) {
                // Everything the server had to send before wal_end has arrived.
                idle_wal_end_ = msg->wal_end;
                idle_handed_end_ = last_handed_end_;
                advance_to(received_, msg->wal_end.value);
                caught_up_.store(true, std::memory_order_release);
            }
            reply = msg->reply_requested;
            break;
        case pg::StreamMessage::Kind::Timeout: {
            std::uint64_t drained;
            [[maybe_unused]] auto n = ::read(wake_fd_, &drained, sizeof drained);
            break;
        }
        case pg::StreamMessage::Kind::End:
            return make_error(Errc::Unavailable, "the server ended the replication stream");
        }
        // A fast shutdown (pg_ctl restart -m fast) terminates the catalog connection and the
        // RLS checks' with it, then waits for this walsender until walcast confirms all it was
        // sent — which walcast cannot while changes wait for RLS checks that need the
        // database. End the replication connection between transactions without confirming:
        // the shutdown goes on, the stream resumes from the slot (after the last transaction
        // handed on) once the server is back, and the waiting changes complete when the
        // checks reconnect.
        if (!in_transaction_ && Clock::now() - last_closed_check_ >= closed_check_interval) {
            last_closed_check_ = Clock::now();
            if (std::string why; pg::closed_by_server(catalog_conn_, why))
                return make_error(Errc::Unavailable,
                                  "the server closed walcast's catalog connection (" + why +
                                      "); ending the replication connection without "
                                      "confirming, to resume from the slot when it is back");
        }
        if (auto st = send_status(stream, reply); !st) return st;
    }
}

Status LogicalSource::handle_xlog(std::string_view payload, pg::ReplicationStream&) {
    namespace po = pg::pgoutput;
    auto decoded = po::decode(payload);
    if (!decoded) return std::move(decoded).error();
    po::Msg& m = *decoded;

    if (auto* b = std::get_if<po::Begin>(&m)) {
        in_transaction_ = true;
        caught_up_.store(false, std::memory_order_release);
        txn_ = TransactionInfo{b->xid, false, to_position(b->final_lsn), b->commit_time_pg_us};
        // A transaction whose commit record precedes the end of the last one handed on was
        // handed on before a reconnect: never hand it on twice.
        skipping_ = last_handed_end_.valid() && b->final_lsn < last_handed_end_;
        if (!skipping_) sink_.on_begin(txn_);
        return {};
    }
    if (auto* c = std::get_if<po::Commit>(&m)) {
        if (!in_transaction_) return make_error(Errc::Protocol, "pgoutput Commit without a Begin");
        in_transaction_ = false;
        if (!skipping_) {
            txn_.commit_time_pg_us = c->commit_time_pg_us;
            last_handed_end_ = c->end_lsn;
            last_commit_time_pg_us_.store(c->commit_time_pg_us, std::memory_order_release);
            transactions_.fetch_add(1, std::memory_order_relaxed);
            sink_.on_commit(txn_, to_position(c->end_lsn));
        }
        skipping_ = false;
        advance_to(received_, c->end_lsn.value);
        return {};
    }
    if (auto* r = std::get_if<po::Relation>(&m)) {
        auto rel = relations_.update(*r, *loader_);
        if (!rel) return std::move(rel).error();
        sink_.on_relation(*rel);
        return {};
    }
    if (std::holds_alternative<po::Type>(m) || std::holds_alternative<po::Origin>(m) ||
        std::holds_alternative<po::Message>(m))
        return {}; // types are resolved from the catalog; origins and messages are not changes

    if (!in_transaction_)
        return make_error(Errc::Protocol, "pgoutput change outside a transaction");
    if (skipping_) return {};

    auto change = std::make_shared<Change>();
    change->txn = txn_;
    auto relation_of = [this](pg::Oid oid) -> Result<RelationPtr> {
        RelationPtr rel = relations_.find(oid);
        if (!rel)
            return make_error(Errc::Protocol, "pgoutput change for relation OID " +
                                                  std::to_string(oid) +
                                                  " before its Relation message");
        return rel;
    };
    if (auto* ins = std::get_if<po::Insert>(&m)) {
        auto rel = relation_of(ins->relation_oid);
        if (!rel) return std::move(rel).error();
        change->kind = ChangeKind::Insert;
        change->relation = std::move(rel).value();
        change->new_tuple = std::move(ins->new_tuple);
    } else if (auto* up = std::get_if<po::Update>(&m)) {
        auto rel = relation_of(up->relation_oid);
        if (!rel) return std::move(rel).error();
        change->kind = ChangeKind::Update;
        change->relation = std::move(rel).value();
        change->old_tuple = std::move(up->old_tuple);
        change->old_is_full = up->old_is_full;
        change->new_tuple = std::move(up->new_tuple);
    } else if (auto* del = std::get_if<po::Delete>(&m)) {
        auto rel = relation_of(del->relation_oid);
        if (!rel) return std::move(rel).error();
        change->kind = ChangeKind::Delete;
        change->relation = std::move(rel).value();
        change->old_tuple = std::move(del->old_tuple);
        change->old_is_full = del->old_is_full;
    } else if (auto* tr = std::get_if<po::Truncate>(&m)) {
        change->kind = ChangeKind::Truncate;
        change->truncate_cascade = tr->cascade;
        change->truncate_restart_identity = tr->restart_identity;
        for (pg::Oid oid : tr->relation_oids) {
            auto rel = relation_of(oid);
            if (!rel) return std::move(rel).error();
            change->truncated.push_back(std::move(rel).value());
        }
        if (change->truncated.empty()) return {};
        change->relation = change->truncated.front();
    }
    change->sequence = ++sequence_;
    changes_.fetch_add(1, std::memory_order_relaxed);
    const ChangePtr handed = std::move(change); // the sink's reference is the only one
    sink_.on_change(handed);
    return {};
}

pg::Lsn LogicalSource::flush_target() const {
    std::uint64_t target = confirmed_.load(std::memory_order_acquire);
    // Idle: the last keepalive came with nothing in flight and consumers have confirmed every
    // transaction handed on before it, so nothing before its WAL end is still needed.
    if (!in_transaction_ && idle_wal_end_.valid() && target >= idle_handed_end_.value)
        target = std::max(target, idle_wal_end_.value);
    return pg::Lsn{std::max(target, flushed_.load(std::memory_order_relaxed))};
}

Status LogicalSource::send_status(pg::ReplicationStream& stream, bool force) {
    const auto now = Clock::now();
    const pg::Lsn target = flush_target();
    const bool advanced = target.value > flushed_.load(std::memory_order_relaxed);
    const auto since = now - last_status_;
    if (!force && since < options_.status_interval && !(advanced && since >= flush_report_delay_ms))
        return {};
    flushed_.store(target.value, std::memory_order_release);
    const pg::Lsn write{std::max(received_.load(std::memory_order_acquire), target.value)};
    last_status_ = now;
    return stream.send_status(write, target, target);
}

} // namespace walcast::capture
