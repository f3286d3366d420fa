#include "capture/trigger/trigger_source.hpp"

#include "capture/trigger/text_array.hpp"
#include "common/logging.hpp"
#include "pg/pgoutput_decoder.hpp"

#include <algorithm>
#include <charconv>
#include <unistd.h>

namespace walcast::capture {

namespace {

using Clock = std::chrono::steady_clock;

// Columns of the batch query, in order.
enum Col { c_s2, c_id, c_txid, c_layout, c_op, c_new, c_old, c_commit_us };

// The batch (from, to]: every event of a transaction visible in `to` and not in `from`, the
// transactions ordered by their commit time when track_commit_timestamp is on, else by their
// last event (commit order for transactions that do not overlap), the events of one by event id.
// Only xids at or past from.xmax or in from's xip list can be new (everything below from.xmin and
// not in xip had finished for `from`), which is what the index scans.
std::string batch_query(const std::string& from, const std::string& to_expr, bool commit_ts) {
    const std::string s1 = "'" + from + "'::pg_snapshot";
    const std::string pg_us = "(extract(epoch FROM %) * 1000000)::int8 - 946684800000000";
    auto us = [&](const std::string& e) {
        std::string out = pg_us;
        out.replace(out.find('%'), 1, e);
        return out;
    };
    std::string commit =
        commit_ts
            ? "coalesce(" +
                  us("pg_xact_commit_timestamp((e.ev_txid::text::int8 % 4294967296)::text::xid)") +
                  ", " + us("e.last_time") + ")"
            : us("e.last_time");
    return "SELECT s.s2::text, e.ev_id, e.ev_txid::text, e.ev_layout, e.ev_op, e.ev_new, "
           "e.ev_old, " +
           commit + " FROM (SELECT " + to_expr +
           " AS s2) s LEFT JOIN LATERAL (SELECT ev.*, max(ev.ev_id) OVER w AS last_id, "
           "max(ev.ev_time) OVER w AS last_time FROM walcast.event ev WHERE ((ev.ev_txid >= "
           "pg_snapshot_xmax(" +
           s1 +
           ") AND ev.ev_txid < pg_snapshot_xmax(s.s2)) OR ev.ev_txid = "
           "ANY (ARRAY(SELECT pg_snapshot_xip(" +
           s1 +
           ")))) AND pg_visible_in_snapshot(ev.ev_txid, "
           "s.s2) AND NOT pg_visible_in_snapshot(ev.ev_txid, " +
           s1 +
           ") WINDOW w AS (PARTITION "
           "BY ev.ev_txid)) e ON true ORDER BY " +
           std::string(commit_ts ? "8, " : "") + "e.last_id, e.ev_id";
}

Result<std::vector<std::string>> text_elements(std::string_view text) {
    pg::Tuple t;
    auto n = trigger::append_text_array(text, t);
    if (!n) return std::move(n).error();
    std::vector<std::string> out;
    out.reserve(*n);
    for (std::size_t i = 0; i < t.size(); ++i)
        out.emplace_back(t.text(i));
    return out;
}

template <class T> std::optional<T> parse_int(std::string_view s) {
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

bool same(const std::optional<trigger::Snapshot>& a, const std::optional<trigger::Snapshot>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || a->to_string() == b->to_string();
}

} // namespace

TriggerSource::TriggerSource(pg::ConnectParams params, TriggerSourceOptions options,
                             ChangeSink& sink)
    : params_(std::move(params)), options_(std::move(options)), sink_(sink) {
    temporary_ = options_.consumer_name.empty();
    consumer_ = temporary_ ? temporary_name() : options_.consumer_name;
}

TriggerSource::~TriggerSource() {
    stop();
}

void TriggerSource::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void TriggerSource::stop() {
    stopping_.store(true, std::memory_order_release);
    { std::lock_guard lock(wait_mutex_); }
    wait_cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void TriggerSource::confirm(Position end) {
    advance_to(confirmed_, end.value);
}

SourceHealth TriggerSource::health() const {
    std::lock_guard lock(state_mutex_);
    return make_health(stream_up(), finished(), fatal_error_, down_reason_,
                       "trigger capture starting");
}

SourceStats TriggerSource::stats() const {
    SourceStats s;
    s.received = Position{received_.load(std::memory_order_acquire)};
    s.confirmed = Position{confirmed_.load(std::memory_order_acquire)};
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.changes = changes_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    if (!caught_up_.load(std::memory_order_acquire)) {
        const auto commit = last_commit_time_pg_us_.load(std::memory_order_acquire);
        if (commit != 0) {
            const auto now_pg_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count() -
                                   946'684'800'000'000LL;
            s.lag_ms = std::max<std::int64_t>(0, (now_pg_us - commit) / 1000);
        }
    }
    return s;
}

std::string TriggerSource::format_position(Position p) const {
    return std::to_string(TriggerPosition::batch_of(p)) + "/" +
           std::to_string(p.value & TriggerPosition::mask);
}

std::optional<Position> TriggerSource::parse_position(std::string_view text) const {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto batch = parse_int<std::uint64_t>(text.substr(0, slash));
    auto low = parse_int<std::uint64_t>(text.substr(slash + 1));
    if (!batch || !low || *low > TriggerPosition::mask ||
        *batch > (~std::uint64_t{0} >> TriggerPosition::shift))
        return std::nullopt;
    return Position{(*batch << TriggerPosition::shift) | *low};
}

std::string TriggerSource::consumer_name() const {
    return consumer_;
}

void TriggerSource::set_down(const std::string& reason) {
    const bool was_up = up_.exchange(false, std::memory_order_acq_rel);
    {
        std::lock_guard lock(state_mutex_);
        down_reason_ = reason;
    }
    if (was_up) {
        reconnects_.fetch_add(1, std::memory_order_relaxed);
        sink_.on_stream_state(false, reason);
    }
}

bool TriggerSource::sleep_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(wait_mutex_);
    return !wait_cv_.wait_for(lock, delay,
                              [this] { return stopping_.load(std::memory_order_acquire); });
}

void TriggerSource::run() {
    auto backoff = options_.initial_backoff;
    while (!stopping_.load(std::memory_order_acquire)) {
        Status st = stream_once();
        if (stopping_.load(std::memory_order_acquire)) break;
        if (st) continue;
        const Error& e = st.error();
        if (e.code == Errc::Config && options_.config_errors_fatal) {
            log::error("trigger capture: {}", e.message);
            {
                std::lock_guard lock(state_mutex_);
                fatal_error_ = e;
            }
            set_down(e.message);
            break;
        }
        log::warn("trigger capture: {}; retrying in {} ms", e.message, backoff.count());
        set_down(e.message);
        conn_ = pg::Connection();
        if (!sleep_for(backoff)) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
        if (up_.load()) backoff = options_.initial_backoff;
    }
    up_.store(false, std::memory_order_release);
    finished_.store(true, std::memory_order_release);
}

Status TriggerSource::stream_once() {
    auto connected = pg::Connection::connect(params_);
    if (!connected) return std::move(connected).error();
    conn_ = std::move(connected).value();
    catalog_.emplace(conn_);
    loader_.emplace(*catalog_);
    layouts_.clear();
    in_txn_ = false;
    pending_truncate_.reset();

    auto installed =
        conn_.exec("SELECT to_regclass('walcast.event') IS NOT NULL, "
                   "to_regprocedure('walcast.maintain(bigint, interval)') IS NOT NULL, "
                   "current_setting('track_commit_timestamp')");
    if (!installed) return installed.error().to_error().context("checking trigger capture");
    if (installed->boolean(0, 0) != true || installed->boolean(0, 1) != true)
        return make_error(Errc::Config,
                          "trigger capture is not installed in this database (no schema walcast); "
                          "run `walcast db init --capture trigger` (`--print` shows its SQL)");
    track_commit_timestamp_ = installed->string(0, 2) == "on";
    if (auto st = catalog_->check_publication(options_.publication); !st) return st;
    if (auto st = reconcile(); !st) return st;
    if (auto st = attach_consumer(); !st) return st;

    up_.store(true, std::memory_order_release);
    {
        std::lock_guard lock(state_mutex_);
        down_reason_.clear();
    }
    log::info("trigger capture: reading publication {} as {} consumer {} from batch {}",
              options_.publication, temporary_ ? "per-process" : "durable", consumer_,
              state_.batch);
    sink_.on_stream_state(true, "reading walcast's event table as consumer " + consumer_);

    auto poll = options_.min_poll;
    for (;;) {
        if (stopping_.load(std::memory_order_acquire)) {
            (void)write_position(true);
            if (temporary_)
                (void)conn_.exec("DELETE FROM walcast.consumer WHERE name = $1", {consumer_});
            return {};
        }
        auto handed = read_batch();
        if (!handed) return std::move(handed).error();
        if (auto st = write_position(false); !st) return st;
        const auto now = Clock::now();
        if (now - last_maintain_ >= options_.maintain_interval) {
            last_maintain_ = now;
            if (auto st = maintain(); !st) {
                if (!conn_.healthy()) return st;
                log::warn("trigger capture: rotation failed: {}", st.error().message);
            }
        }
        if (now - last_reconcile_ >= options_.reconcile_interval) {
            last_reconcile_ = now;
            if (auto st = reconcile(); !st) {
                if (!conn_.healthy()) return st;
                log::warn("trigger capture: {}", st.error().message);
            }
        }
        sink_.on_idle();
        if (*handed > 0) {
            poll = options_.min_poll;
            continue;
        }
        caught_up_.store(true, std::memory_order_release);
        sleep_for(poll);
        poll = std::min(poll * 2, options_.max_poll);
    }
}

Status TriggerSource::attach_consumer() {
    // One reader per durable consumer: a session advisory lock, released when the
    // connection ends (also when walcast is killed).
    auto locked = conn_.exec(
        "SELECT pg_try_advisory_lock(hashtextextended('walcast.consumer:' || $1, 0))", {consumer_});
    if (!locked) return locked.error().to_error().context("locking consumer " + consumer_);
    if (locked->boolean(0, 0) != true) {
        Error e = make_error(attached_ ? Errc::Unavailable : Errc::Config,
                             "consumer " + consumer_ +
                                 " is in use by another walcast (SLOT_NAME names one reader); "
                                 "stop the other one or choose another SLOT_NAME");
        return e;
    }
    if (temporary_ && attached_) {
        auto r = conn_.exec("UPDATE walcast.consumer SET backend_pid = pg_backend_pid() WHERE "
                            "name = $1 RETURNING batch",
                            {consumer_});
        if (!r) return r.error().to_error().context("re-attaching consumer " + consumer_);
        if (r->size() == 1) return {};
        // Removed while we were away (its connection had ended): what was committed since is
        // not kept for it.
        log::warn("trigger capture: the per-process consumer {} was removed while walcast was "
                  "disconnected; changes committed meanwhile are lost (set SLOT_NAME to keep "
                  "them)",
                  consumer_);
        Gap gap;
        gap.reason = "trigger capture was disconnected and walcast runs without SLOT_NAME, so "
                     "the changes committed meanwhile were not kept; set SLOT_NAME to keep them";
        gap.from = last_handed_end_;
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        gap.from_unix_ms = now_ms;
        gap.to_unix_ms = now_ms;
        gap.to = TriggerPosition::commit(state_.batch, 0);
        sink_.on_gap(gap);
        attached_ = false;
        pending_.clear();
    }
    if (temporary_) {
        auto r = conn_.exec("INSERT INTO walcast.consumer (name, batch, snap_from, backend_pid) "
                            "VALUES ($1, $2, pg_current_snapshot(), pg_backend_pid()) "
                            "RETURNING snap_from::text",
                            {consumer_, std::to_string(std::max<std::uint64_t>(1, state_.batch))});
        if (!r) return r.error().to_error().context("registering consumer " + consumer_);
        auto snap = trigger::Snapshot::parse(r->string(0, 0));
        if (!snap) return make_error(Errc::Protocol, "unreadable snapshot " + r->string(0, 0));
        state_ = ReadState{std::max<std::uint64_t>(1, state_.batch), *snap, std::nullopt, 0};
        written_ = state_;
        attached_ = true;
        return {};
    }
    auto ins = conn_.exec("INSERT INTO walcast.consumer (name, snap_from) VALUES ($1, "
                          "pg_current_snapshot()) ON CONFLICT (name) DO NOTHING",
                          {consumer_});
    if (!ins) return ins.error().to_error().context("registering consumer " + consumer_);
    auto row = conn_.exec("SELECT batch, snap_from::text, snap_to::text, done FROM "
                          "walcast.consumer WHERE name = $1",
                          {consumer_});
    if (!row) return row.error().to_error().context("reading consumer " + consumer_);
    if (row->size() != 1)
        return make_error(Errc::Unavailable, "consumer " + consumer_ + " vanished");
    ReadState stored;
    stored.batch = std::max<std::uint64_t>(1, row->integer<std::uint64_t>(0, 0).value_or(1));
    auto from = trigger::Snapshot::parse(row->string(0, 1));
    if (!from) return make_error(Errc::Protocol, "unreadable snapshot " + row->string(0, 1));
    stored.from = *from;
    if (auto to_text = row->text(0, 2)) {
        auto to = trigger::Snapshot::parse(*to_text);
        if (!to) return make_error(Errc::Protocol, "unreadable snapshot " + std::string(*to_text));
        stored.to = *to;
    }
    stored.done = row->integer<std::uint64_t>(0, 3).value_or(0);
    written_ = stored;
    if (!attached_) {
        state_ = stored; // resume: what consumers confirmed before the restart
        attached_ = true;
    }
    return {};
}

Result<std::uint64_t> TriggerSource::read_batch() {
    const std::string to_expr =
        state_.to ? "'" + state_.to->to_string() + "'::pg_snapshot" : "pg_current_snapshot()";
    const std::string fetch =
        "FETCH " + std::to_string(options_.fetch_rows) + " FROM walcast_batch";
    auto multi = conn_.exec_multi(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; DECLARE walcast_batch NO SCROLL CURSOR "
        "FOR " +
        batch_query(state_.from.to_string(), to_expr, track_commit_timestamp_) + "; " + fetch);
    auto fail = [this](const pg::PgError& e) {
        (void)conn_.exec_script("ROLLBACK");
        return e.to_error().context("reading the event table");
    };
    if (!multi) return fail(*multi.error);
    if (multi.results.size() != 3) return make_error(Errc::Protocol, "unexpected batch results");
    pg::Rows rows = std::move(multi.results[2]);
    if (rows.empty()) return make_error(Errc::Protocol, "the batch query returned no row");
    auto s2 = trigger::Snapshot::parse(rows.string(0, c_s2));
    if (!s2) return make_error(Errc::Protocol, "unreadable snapshot " + rows.string(0, c_s2));

    const bool any = rows.text(0, c_id).has_value();
    const std::uint64_t before = changes_.load(std::memory_order_relaxed);
    const std::uint64_t batch = state_.batch;
    skip_ = state_.done;
    txn_index_ = 0;
    batch_changes_ = 0;
    if (any) {
        state_.to = *s2;
        if (pending_.empty() || pending_.back().batch != batch)
            pending_.push_back(PendingBatch{batch, state_.from, *s2, std::nullopt});
        caught_up_.store(false, std::memory_order_release);
    }
    for (;;) {
        if (any) {
            for (int r = 0; r < rows.size(); ++r)
                if (auto st = handle_row(rows, r); !st) {
                    (void)conn_.exec_script("ROLLBACK");
                    return std::move(st).error();
                }
        }
        if (!any || rows.size() < options_.fetch_rows) break;
        auto more = conn_.exec(fetch);
        if (!more) return fail(more.error());
        rows = std::move(more).value();
        if (rows.empty()) break;
    }
    if (auto done = conn_.exec_multi("CLOSE walcast_batch; COMMIT"); !done)
        return fail(*done.error);
    if (in_txn_)
        if (auto st = finish_transaction(); !st) return std::move(st).error();
    if (any) {
        if (!pending_.empty() && pending_.back().batch == batch)
            pending_.back().transactions = txn_index_;
        state_ = ReadState{batch + 1, *s2, std::nullopt, 0};
    } else {
        state_.from = *s2;
        state_.to.reset();
        state_.done = 0;
    }
    return changes_.load(std::memory_order_relaxed) - before + (any ? 1 : 0);
}

Status TriggerSource::handle_row(const pg::Rows& rows, int r) {
    const std::string_view xid_text = rows.text(r, c_txid).value_or("");
    if (!in_txn_ || xid_text != txn_xid_) {
        if (in_txn_)
            if (auto st = finish_transaction(); !st) return st;
        txn_xid_ = std::string(xid_text);
        const std::uint64_t k = txn_index_;
        skipping_ = k < skip_;
        txn_ = TransactionInfo{parse_int<std::uint64_t>(xid_text).value_or(0), true,
                               TriggerPosition::commit(state_.batch, k),
                               rows.integer<std::int64_t>(r, c_commit_us).value_or(0)};
        in_txn_ = true;
        if (!skipping_) sink_.on_begin(txn_);
    }
    if (skipping_) return {};

    const auto event_id = rows.string(r, c_id);
    auto corrupt = [&](const std::string& why) -> Status {
        log::error("trigger capture: event {} of transaction {} is unreadable ({}); it is skipped, "
                   "everything else goes on",
                   event_id, txn_xid_, why);
        return {};
    };
    auto layout = rows.integer<std::int64_t>(r, c_layout);
    const std::string op = rows.string(r, c_op);
    if (!layout || op.size() != 1) return corrupt("no layout or operation");
    auto rel = relation_of_layout(*layout);
    if (!rel) {
        if (!conn_.healthy()) return std::move(rel).error();
        return corrupt(rel.error().message);
    }
    const RelationPtr& relation = *rel;

    if (op[0] == 'T') {
        if (pending_truncate_) {
            auto& c = const_cast<Change&>(**pending_truncate_);
            c.truncated.push_back(relation);
        } else {
            auto c = std::make_shared<Change>();
            c->kind = ChangeKind::Truncate;
            c->relation = relation;
            c->truncated.push_back(relation);
            c->txn = txn_;
            pending_truncate_ = std::move(c);
        }
        return {};
    }
    if (pending_truncate_) {
        ChangePtr t = std::move(*pending_truncate_);
        pending_truncate_.reset();
        const_cast<Change&>(*t).sequence = ++sequence_;
        changes_.fetch_add(1, std::memory_order_relaxed);
        sink_.on_change(t);
    }

    const std::size_t ncols = relation->columns.size();
    auto tuple_of = [&](int col) -> Result<pg::Tuple> {
        auto text = rows.text(r, col);
        if (!text) return make_error(Errc::InvalidInput, "values missing");
        pg::Tuple t;
        auto n = trigger::append_text_array(*text, t);
        if (!n) return std::move(n).error();
        if (*n != ncols)
            return make_error(Errc::InvalidInput, std::to_string(*n) + " values for " +
                                                      std::to_string(ncols) + " columns");
        return t;
    };
    auto change = std::make_shared<Change>();
    change->relation = relation;
    change->txn = txn_;
    // The old row as pgoutput would send it for the table's replica identity: FULL every
    // column; DEFAULT/INDEX the key's columns (the others NULL); NOTHING none.
    auto key_only = [&](const pg::Tuple& full) {
        pg::Tuple key;
        for (std::size_t i = 0; i < ncols; ++i) {
            if (relation->columns[i].is_identity_key && !full.is_null(i))
                key.push_value(full.text(i));
            else
                key.push_null();
        }
        return key;
    };
    bool has_key = false;
    for (const auto& c : relation->columns)
        has_key = has_key || c.is_identity_key;
    const auto ri = relation->replica_identity;

    switch (op[0]) {
    case 'I': {
        auto nt = tuple_of(c_new);
        if (!nt) return corrupt(nt.error().message);
        change->kind = ChangeKind::Insert;
        change->new_tuple = std::move(nt).value();
        break;
    }
    case 'U': {
        auto nt = tuple_of(c_new);
        if (!nt) return corrupt(nt.error().message);
        auto ot = tuple_of(c_old);
        if (!ot) return corrupt(ot.error().message);
        change->kind = ChangeKind::Update;
        if (ri == ReplicaIdentity::Full) {
            change->old_tuple = std::move(ot).value();
            change->old_is_full = true;
        } else if (ri != ReplicaIdentity::Nothing && has_key) {
            bool key_changed = false;
            for (std::size_t i = 0; i < ncols; ++i) {
                if (!relation->columns[i].is_identity_key) continue;
                if (ot->is_null(i) != nt->is_null(i) || ot->text(i) != nt->text(i))
                    key_changed = true;
            }
            if (key_changed) change->old_tuple = key_only(*ot);
        }
        change->new_tuple = std::move(nt).value();
        break;
    }
    case 'D': {
        auto ot = tuple_of(c_old);
        if (!ot) return corrupt(ot.error().message);
        change->kind = ChangeKind::Delete;
        if (ri == ReplicaIdentity::Full) {
            change->old_tuple = std::move(ot).value();
            change->old_is_full = true;
        } else if (ri != ReplicaIdentity::Nothing && has_key) {
            change->old_tuple = key_only(*ot);
        }
        break;
    }
    default:
        return corrupt("unknown operation " + op);
    }
    change->sequence = ++sequence_;
    changes_.fetch_add(1, std::memory_order_relaxed);
    const ChangePtr handed = std::move(change);
    sink_.on_change(handed);
    return {};
}

Status TriggerSource::finish_transaction() {
    if (pending_truncate_) {
        ChangePtr t = std::move(*pending_truncate_);
        pending_truncate_.reset();
        if (!skipping_) {
            const_cast<Change&>(*t).sequence = ++sequence_;
            changes_.fetch_add(1, std::memory_order_relaxed);
            sink_.on_change(t);
        }
    }
    const std::uint64_t k = txn_index_++;
    in_txn_ = false;
    if (skipping_) return {};
    const Position end = TriggerPosition::end(state_.batch, k);
    last_handed_end_ = end;
    state_.done = std::max(state_.done, k + 1);
    last_commit_time_pg_us_.store(txn_.commit_time_pg_us, std::memory_order_release);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    advance_to(received_, end.value);
    sink_.on_commit(txn_, end);
    return {};
}

Result<RelationPtr> TriggerSource::relation_of_layout(std::int64_t layout) {
    if (auto it = layouts_.find(layout); it != layouts_.end()) return it->second;
    auto row = conn_.exec("SELECT rel, nspname, relname, replident, attnames, atttypids, "
                          "atttypmods FROM walcast.layout WHERE id = $1",
                          {std::to_string(layout)});
    if (!row) return row.error().to_error().context("reading layout " + std::to_string(layout));
    if (row->size() != 1)
        return make_error(Errc::NotFound, "layout " + std::to_string(layout) + " is missing");
    pg::pgoutput::Relation msg;
    msg.oid = row->integer<pg::Oid>(0, 0).value_or(0);
    msg.namespace_name = row->string(0, 1);
    msg.name = row->string(0, 2);
    const std::string ri = row->string(0, 3);
    msg.replica_identity = ri.empty() ? 'd' : ri[0];
    auto names = text_elements(row->string(0, 4));
    auto types = text_elements(row->string(0, 5));
    auto mods = text_elements(row->string(0, 6));
    if (!names || !types || !mods || names->size() != types->size() ||
        names->size() != mods->size())
        return make_error(Errc::InvalidInput, "layout " + std::to_string(layout) + " is corrupt");
    // The replica identity key as the catalog has it now (pgoutput flags it as of the change;
    // a key changed by a later ALTER TABLE is read with the new key).
    std::unordered_map<std::string, bool> key;
    if (auto now = loader_->load(msg.oid)) {
        for (const auto& c : now->columns)
            key[c.name] = c.is_identity_key;
    } else if (!conn_.healthy()) {
        return std::move(now).error();
    }
    for (std::size_t i = 0; i < names->size(); ++i) {
        pg::pgoutput::RelationColumn c;
        c.name = (*names)[i];
        c.type_oid = parse_int<pg::Oid>((*types)[i]).value_or(0);
        c.type_modifier = parse_int<std::int32_t>((*mods)[i]).value_or(-1);
        c.is_identity_key =
            msg.replica_identity == 'f' || (msg.replica_identity != 'n' && key[c.name]);
        msg.columns.push_back(std::move(c));
    }
    auto described = loader_->describe(msg);
    if (!described) return std::move(described).error();
    RelationPtr rel = make_relation(std::move(described).value());
    layouts_.emplace(layout, rel);
    sink_.on_relation(rel);
    return rel;
}

Status TriggerSource::write_position(bool force) {
    const Position confirmed{confirmed_.load(std::memory_order_acquire)};
    ReadState target = written_;
    if (!last_handed_end_.valid() || confirmed >= last_handed_end_) {
        // Everything handed on is confirmed: the read position itself (past empty batches too).
        if (!state_.to || !last_handed_end_.valid())
            target = state_;
        else
            target = ReadState{state_.batch, state_.from, state_.to, state_.done};
        pending_.clear();
    } else if (confirmed.valid()) {
        const auto b = TriggerPosition::batch_of(confirmed);
        const auto done = TriggerPosition::done_of(confirmed);
        while (!pending_.empty() && pending_.front().batch < b)
            pending_.pop_front();
        if (!pending_.empty() && pending_.front().batch == b) {
            const PendingBatch& p = pending_.front();
            if (p.transactions && done >= *p.transactions)
                target = ReadState{b + 1, p.to, std::nullopt, 0};
            else
                target = ReadState{b, p.from, p.to, done};
        }
    }
    const bool changed = target.batch != written_.batch ||
                         target.from.to_string() != written_.from.to_string() ||
                         !same(target.to, written_.to) || target.done != written_.done;
    if (!changed) return {};
    const bool only_ticks = target.batch == written_.batch && !target.to && !written_.to;
    const auto now = Clock::now();
    if (!force && only_ticks && now - last_write_ < std::chrono::seconds(1)) return {};
    std::optional<std::string> to;
    if (target.to) to = target.to->to_string();
    auto r = conn_.exec("UPDATE walcast.consumer SET batch = $2, snap_from = $3::pg_snapshot, "
                        "snap_to = $4::pg_snapshot, done = $5, updated_at = now() WHERE name = $1",
                        {consumer_, std::to_string(target.batch), target.from.to_string(), to,
                         std::to_string(target.done)});
    if (!r) return r.error().to_error().context("saving the position of consumer " + consumer_);
    written_ = target;
    last_write_ = now;
    return {};
}

Status TriggerSource::maintain() {
    auto r = conn_.exec("SELECT action, part FROM walcast.maintain($1, $2::interval)",
                        {std::to_string(options_.rotation_bytes),
                         std::to_string(options_.rotation_period.count()) + " seconds"});
    if (!r) return r.error().to_error().context("walcast.maintain()");
    for (int i = 0; i < r->size(); ++i)
        log::debug("trigger capture: {} walcast.event_{}", r->string(i, 0), r->string(i, 1));
    return {};
}

Status TriggerSource::reconcile() {
    auto r = conn_.exec("SELECT action, relation, detail FROM walcast.reconcile($1)",
                        {options_.publication});
    if (!r)
        return r.error().to_error().context("updating the capture triggers of publication " +
                                            options_.publication);
    for (int i = 0; i < r->size(); ++i)
        log::info("trigger capture: {} {} on {}", r->string(i, 0), r->string(i, 2),
                  r->string(i, 1));
    return {};
}

} // namespace walcast::capture
