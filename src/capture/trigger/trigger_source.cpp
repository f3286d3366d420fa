#include "capture/trigger/trigger_source.hpp"

#include "capture/trigger/record_text.hpp"
#include "capture/trigger/trigger_sql.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"

#include <charconv>
#include <cstdlib>
#include <random>
#include <unistd.h>

namespace walcast::capture::trigger {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t max_ordinal = (std::uint64_t{1} << TriggerSource::ordinal_bits) - 1;
// An idle source still runs the batch query this often, so that its read position (and with
// it what rotation may truncate) follows the snapshot even when nothing is written.
constexpr std::chrono::milliseconds idle_batch_interval{1000};
// Idle position writes (only the snapshot moved) are rarer than writes after deliveries.
constexpr std::chrono::milliseconds idle_persist_interval{1000};

// A Postgres error as a walcast Error; a missing privilege on walcast's objects is a
// configuration error that names the fix.
Error with_privilege_fix(const pg::PgError& pe) {
    Error e = pe.to_error();
    if (pe.is(pg::sqlstate::insufficient_privilege)) {
        e.code = Errc::Config;
        e.message += ": connect as the role that ran `walcast db init --capture trigger`, or as "
                     "a member of it (GRANT <that role> TO <this one>)";
    }
    return e;
}

std::int64_t to_i64(std::string_view s) {
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string consumer_name_for(const std::string& configured) {
    if (!configured.empty()) return configured;
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}() & 0xffffff;
    return "walcast_tmp_" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
           std::to_string(counter++);
}

std::string xid8_array(const std::vector<std::uint64_t>& xids) {
    std::string s = "{";
    for (std::size_t i = 0; i < xids.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(xids[i]);
    }
    s += '}';
    return s;
}

// The batch query: the events of the transactions committed between two snapshots (see
// snapshot.hpp for the predicate), from every event table (a transaction may have written to
// two of them across a rotation), ordered by each transaction's last event id, then event id,
// then row within the event. Row chunks are unnested into one result row per changed row.
std::string batch_query(bool track_commit_timestamp) {
    std::string parts;
    for (int i = 0; i < event_tables; ++i) {
        const std::string t = "walcast.event_" + std::to_string(i);
        const std::string cols =
            "SELECT ev_id, ev_txid, ev_time, ev_rel, ev_layout, ev_op, ev_new, ev_old FROM " + t;
        if (i) parts += " UNION ALL ";
        parts += cols +
                 " WHERE ev_txid >= $1::xid8 AND ev_txid < $2::xid8"
                 " AND pg_visible_in_snapshot(ev_txid, $3::pg_snapshot)"
                 " AND NOT pg_visible_in_snapshot(ev_txid, $4::pg_snapshot)"
                 " UNION ALL " +
                 cols + " WHERE ev_txid = ANY ($5::xid8[])";
    }
    const std::string commit_time =
        track_commit_timestamp ? "coalesce(pg_xact_commit_timestamp(e.ev_txid::xid), e.tx_time)"
                               : "e.tx_time";
    return "WITH ev AS (" + parts +
           "), tx AS (SELECT ev_txid, max(ev_id) AS tx_last, max(ev_time) AS tx_time FROM ev "
           "GROUP BY ev_txid) "
           "SELECT e.tx_last, e.ev_txid, "
           "(extract(epoch FROM " +
           commit_time +
           ") * 1000000)::bigint - 946684800000000, "
           "e.ev_id, e.ev_rel, e.ev_layout, e.ev_op, u.ord, u.n, u.o "
           "FROM (SELECT ev.*, tx.tx_last, tx.tx_time FROM ev JOIN tx USING (ev_txid) "
           "WHERE tx.tx_last > $6::bigint ORDER BY tx.tx_last, ev.ev_id) e "
           "LEFT JOIN LATERAL unnest(e.ev_new, e.ev_old) WITH ORDINALITY AS u(n, o, ord) ON true "
           "ORDER BY e.tx_last, e.ev_id, u.ord";
}

} // namespace

// A table layout (walcast.layout) with its Relation and how record fields map onto it.
struct TriggerSource::Layout {
    int id = 0;
    RelationPtr relation;
    std::size_t fields = 0;           ///< fields in the record text (all non-dropped columns)
    std::vector<int> column_of_field; ///< field → relation column, -1 when not published
};

struct TriggerSource::Batch {
    std::uint64_t id = 0; ///< 0 until its first transaction is handed on
    Snapshot s1, s2;
};

TriggerSource::TriggerSource(pg::ConnectParams params, TriggerSourceOptions options,
                             ChangeSink& sink)
    : params_(std::move(params)), options_(std::move(options)), sink_(sink) {
    // pg_stat_activity tells the capture connections from walcast's others.
    params_.application_name = "walcast_capture";
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
    std::uint64_t cur = confirmed_.load(std::memory_order_relaxed);
    while (cur < end.value &&
           !confirmed_.compare_exchange_weak(cur, end.value, std::memory_order_release,
                                             std::memory_order_relaxed)) {
    }
}

SourceHealth TriggerSource::health() const {
    SourceHealth h;
    std::lock_guard lock(state_mutex_);
    h.finished = finished_.load(std::memory_order_acquire);
    h.fatal = fatal_error_.has_value();
    if (h.fatal) {
        h.reason = fatal_error_->message;
        return h;
    }
    if (!up_.load(std::memory_order_acquire)) {
        h.reason = down_reason_.empty() ? std::string("trigger capture starting") : down_reason_;
        return h;
    }
    if (missing_tables_.load(std::memory_order_relaxed) > 0) {
        h.reason = problems_;
        return h;
    }
    h.up = true;
    return h;
}

SourceStats TriggerSource::stats() const {
    const auto t = trigger_stats();
    SourceStats s;
    s.received = Position{t.received};
    s.confirmed = Position{t.confirmed};
    s.lag_ms = t.lag_ms;
    s.transactions = t.transactions;
    s.changes = t.changes;
    s.reconnects = t.reconnects;
    return s;
}

std::optional<Position> TriggerSource::parse_position(std::string_view text) const {
    return parse_position_text(text);
}

std::optional<Position> TriggerSource::parse_position_text(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
    std::uint64_t batch = 0, ordinal = 0;
    auto b = std::from_chars(text.data(), text.data() + dot, batch);
    auto o = std::from_chars(text.data() + dot + 1, text.data() + text.size(), ordinal);
    if (b.ec != std::errc() || b.ptr != text.data() + dot || o.ec != std::errc() ||
        o.ptr != text.data() + text.size() || ordinal > max_ordinal ||
        batch >= (std::uint64_t{1} << (64 - ordinal_bits)))
        return std::nullopt;
    return Position{(batch << ordinal_bits) | ordinal};
}

std::string TriggerSource::down_reason() const {
    std::lock_guard lock(state_mutex_);
    if (!up_.load()) return down_reason_;
    return problems_;
}

std::string TriggerSource::problems() const {
    std::lock_guard lock(state_mutex_);
    return problems_;
}

std::optional<Error> TriggerSource::fatal_error() const {
    std::lock_guard lock(state_mutex_);
    return fatal_error_;
}

std::string TriggerSource::consumer_name() const {
    std::lock_guard lock(state_mutex_);
    return consumer_name_.empty() ? options_.consumer : consumer_name_;
}

std::string TriggerSource::position_text(std::uint64_t position) {
    return std::to_string(position >> ordinal_bits) + "." + std::to_string(position & max_ordinal);
}

TriggerSourceStats TriggerSource::trigger_stats() const {
    TriggerSourceStats s;
    s.up = stream_up();
    s.received = received_.load(std::memory_order_acquire);
    s.confirmed = confirmed_.load(std::memory_order_acquire);
    s.persisted = persisted_.load(std::memory_order_acquire);
    if (!caught_up_.load(std::memory_order_acquire)) {
        auto commit = last_commit_time_pg_us_.load(std::memory_order_acquire);
        if (commit != 0) s.lag_ms = std::max<std::int64_t>(0, (now_pg_us() - commit) / 1000);
    }
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.changes = changes_.load(std::memory_order_relaxed);
    s.batches = batches_.load(std::memory_order_relaxed);
    s.polls = polls_.load(std::memory_order_relaxed);
    s.corrupt_events = corrupt_.load(std::memory_order_relaxed);
    s.dropped_events = dropped_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.tables_missing_triggers = missing_tables_.load(std::memory_order_relaxed);
    return s;
}

void TriggerSource::set_down(const std::string& reason) {
    up_.store(false, std::memory_order_release);
    std::lock_guard lock(state_mutex_);
    down_reason_ = reason;
}

bool TriggerSource::wait_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(wait_mutex_);
    return !wait_cv_.wait_for(lock, delay,
                              [this] { return stopping_.load(std::memory_order_acquire); });
}

// The reconnect loop: each session() is one pair of connections' life.
void TriggerSource::run() {
    auto backoff = options_.initial_backoff;
    std::string last_reported;
    while (!stopping_.load(std::memory_order_acquire)) {
        Status st = session();
        const bool was_up = up_.load(std::memory_order_acquire);
        if (stopping_.load(std::memory_order_acquire)) {
            set_down("stopped");
            if (was_up) sink_.on_stream_state(false, "stopped");
            break;
        }
        std::string reason = st ? std::string("trigger capture stopped") : st.error().message;
        set_down(reason);
        read_conn_ = pg::Connection();
        loader_.reset();
        catalog_.reset();
        ctl_conn_ = pg::Connection();
        registered_ = false;
        in_read_txn_ = false;
        statement_prepared_ = false;
        if (!st && st.error().code == Errc::Config && options_.config_errors_fatal) {
            {
                std::lock_guard lock(state_mutex_);
                fatal_error_ = st.error();
            }
            log::error("{}", reason);
            sink_.on_stream_state(false, reason);
            break;
        }
        if (was_up || reason != last_reported) {
            sink_.on_stream_state(false, reason);
            last_reported = reason;
        }
        if (was_up) {
            reconnects_.fetch_add(1, std::memory_order_relaxed);
            backoff = options_.initial_backoff;
        }
        log::warn("trigger capture down: {}; retrying in {} ms", reason, backoff.count());
        if (!wait_for(backoff)) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
    up_.store(false, std::memory_order_release);
    finished_.store(true, std::memory_order_release);
}

Status TriggerSource::connect_and_register() {
    auto ctl = pg::Connection::connect(params_);
    if (!ctl) return std::move(ctl).error();
    ctl_conn_ = std::move(ctl).value();
    catalog_.emplace(ctl_conn_);
    loader_.emplace(*catalog_);

    // Installed, in this version, for this publication?
    auto v = ctl_conn_.exec("SELECT to_regprocedure('walcast.version()') IS NOT NULL");
    if (!v) return with_privilege_fix(v.error());
    if (v->string(0, 0) != "t")
        return make_error(Errc::Config, "trigger capture is not installed in " +
                                            params_.describe() +
                                            ": run `walcast db init --capture trigger` (or choose "
                                            "CAPTURE=logical)");
    auto q = ctl_conn_.exec("SELECT walcast.version(), publication, "
                            "current_setting('track_commit_timestamp') FROM walcast.queue");
    if (!q) return with_privilege_fix(q.error());
    if (q->size() != 1)
        return make_error(Errc::Config, "walcast.queue is empty: run `walcast db init "
                                        "--capture trigger` to repair trigger capture");
    const int version = static_cast<int>(to_i64(q->string(0, 0)));
    if (version != schema_version)
        return make_error(Errc::Config,
                          "trigger capture in the database is version " + std::to_string(version) +
                              ", this walcast needs version " + std::to_string(schema_version) +
                              ": run `walcast db init --capture trigger` to upgrade it");
    const std::string installed_pub = q->string(0, 1);
    if (installed_pub != options_.publication)
        return make_error(Errc::Config, "trigger capture is installed for publication " +
                                            installed_pub + ", not " + options_.publication +
                                            ": set PUBLICATION=" + installed_pub +
                                            " or run `walcast db init --capture trigger "
                                            "--publication " +
                                            options_.publication + "`");
    track_commit_timestamp_ = q->string(0, 2) == "on";

    // The consumer: created at the current snapshot when new; locked for this session.
    const std::string name = consumer_name_for(options_.consumer);
    const bool durable = !options_.consumer.empty();
    auto reg =
        ctl_conn_.exec("SELECT consumer_id, last_snapshot::text, batch_snapshot::text, batch_id, "
                       "batch_done_last, batch_done_ordinal, lost_events, lost_since::text, "
                       "updated_at::text, (extract(epoch FROM updated_at) * 1000)::bigint "
                       "FROM walcast.register_consumer($1, $2)",
                       {name, std::string(durable ? "true" : "false")});
    if (!reg) {
        Error e = with_privilege_fix(reg.error());
        if (reg.error().is(pg::sqlstate::object_in_use)) {
            e.code = ever_up_ ? Errc::Unavailable : Errc::Config;
            if (!reg.error().hint.empty()) e.message += ": " + reg.error().hint;
        }
        return e;
    }
    const pg::Rows& r = *reg;
    consumer_id_ = static_cast<int>(to_i64(r.string(0, 0)));
    registered_ = true;
    {
        std::lock_guard lock(state_mutex_);
        consumer_name_ = name;
    }
    if (!ever_up_) {
        // First registration in this process: start from the database's position.
        auto s1 = Snapshot::parse(r.string(0, 1));
        if (!s1) return make_error(Errc::Internal, "unreadable last_snapshot of consumer " + name);
        s1_ = *s1;
        persisted_s1_ = *s1;
        seq_at_s1_ = -1;
        batch_id_ = to_u64(r.string(0, 3));
        if (r.text(0, 2)) {
            auto s2 = Snapshot::parse(r.string(0, 2));
            if (!s2)
                return make_error(Errc::Internal, "unreadable batch_snapshot of consumer " + name);
            auto b = std::make_shared<Batch>();
            b->id = batch_id_;
            b->s1 = *s1;
            b->s2 = *s2;
            open_ = OpenBatch{b, to_i64(r.string(0, 4)),
                              static_cast<std::uint32_t>(to_u64(r.string(0, 5)))};
            persisted_position_ =
                (b->id << ordinal_bits) | static_cast<std::uint64_t>(open_->done_ordinal);
        } else {
            persisted_position_ = batch_id_ << ordinal_bits | max_ordinal;
        }
        persisted_.store(persisted_position_, std::memory_order_release);
        if (durable)
            log::info("trigger capture: resuming consumer {} at snapshot {}{}", name,
                      s1_.to_string(),
                      open_ ? " (inside batch " + std::to_string(open_->batch->id) + ")" : "");
    }
    const std::int64_t lost = to_i64(r.string(0, 6));
    if (lost > 0) {
        log::warn("trigger capture: {} events consumer {} had not read were dropped since {} "
                  "because it was away longer than walcast.queue.max_retention (last seen {}); "
                  "changes committed in that time are missing",
                  lost, name, r.string(0, 7), r.string(0, 8));
        dropped_.fetch_add(static_cast<std::uint64_t>(lost), std::memory_order_relaxed);
        // Since the consumer was last seen (its position was last written).
        report_lost(lost, to_i64(r.string(0, 9)));
        if (auto a = ctl_conn_.exec("SELECT walcast.acknowledge_lost($1)",
                                    {std::to_string(consumer_id_)});
            !a)
            return std::move(a).error().to_error();
    }

    auto rd = pg::Connection::connect(params_);
    if (!rd) return std::move(rd).error();
    read_conn_ = std::move(rd).value();
    if (auto prep = read_conn_.prepare("walcast_batch", batch_query(track_commit_timestamp_));
        !prep)
        return std::move(prep).error().to_error().context("preparing the batch query");
    statement_prepared_ = true;
    return {};
}

Status TriggerSource::session() {
    if (auto st = connect_and_register(); !st) return st;
    // The first maintenance round installs triggers on tables that joined the publication
    // while walcast was away and reads the publication's operations.
    if (auto st = maintenance(); !st) return st;
    last_maintenance_ = Clock::now();

    ever_up_ = true;
    up_.store(true, std::memory_order_release);
    {
        std::lock_guard lock(state_mutex_);
        down_reason_.clear();
    }
    log::info("trigger capture: reading publication {} as consumer {} ({})", options_.publication,
              consumer_name(), options_.consumer.empty() ? "not durable" : "durable");
    sink_.on_stream_state(true, "reading trigger-captured events as consumer " + consumer_name());

    auto interval = options_.poll_min;
    for (;;) {
        if (stopping_.load(std::memory_order_acquire)) {
            if (in_read_txn_) (void)read_conn_.exec_script("COMMIT");
            in_read_txn_ = false;
            Status st = persist(true);
            if (!options_.consumer.empty() || !registered_) return st;
            auto u = ctl_conn_.exec("SELECT walcast.unregister_consumer($1)",
                                    {std::to_string(consumer_id_)});
            if (!u) return std::move(u).error().to_error();
            return st;
        }
        const auto now = Clock::now();
        if (now - last_maintenance_ >= options_.maintenance_interval) {
            if (auto st = maintenance(); !st) return st;
            last_maintenance_ = Clock::now();
        }
        if (auto st = persist(false); !st) return st;

        bool had_events = false;
        const bool force = open_.has_value() || now - last_batch_query_ >= idle_batch_interval;
        if (auto st = poll_once(force, had_events); !st) return st;
        if (had_events) {
            interval = options_.poll_min;
            continue; // more may be waiting: poll again at once
        }
        caught_up_.store(true, std::memory_order_release);
        sink_.on_idle();
        if (!wait_for(interval)) continue; // stopping: handled at the top
        interval = std::min(interval * 2, options_.poll_max);
    }
}

Status TriggerSource::poll_once(bool force, bool& had_events) {
    had_events = false;
    // One round trip: end the previous poll's transaction, read the sequence (in a
    // transaction of its own: the COMMIT ends the implicit one of the multi-statement string),
    // then take the snapshot — the sequence is read before the snapshot is taken, as
    // nothing_new() requires.
    std::string sql = in_read_txn_ ? "COMMIT; " : "";
    sql += "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM walcast.event_seq; "
           "COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
           "SELECT pg_current_snapshot()::text";
    auto polled = read_conn_.exec_multi(sql);
    if (!polled) {
        in_read_txn_ = false;
        return polled.error->to_error().context("polling walcast.event_seq");
    }
    in_read_txn_ = true;
    polls_.fetch_add(1, std::memory_order_relaxed);
    const auto& res = polled.results;
    if (res.size() < 4)
        return make_error(Errc::Internal, "polling walcast.event_seq: short answer");
    const std::int64_t seq = res[res.size() - 4].integer<std::int64_t>(0, 0).value_or(0);
    auto now_snapshot = Snapshot::parse(res.back().string(0, 0));
    if (!now_snapshot) return make_error(Errc::Internal, "unreadable pg_current_snapshot()");

    std::shared_ptr<Batch> batch;
    std::int64_t done_last = 0;
    std::uint32_t done_ordinal = 0;
    if (open_) {
        // Finish the batch that was being read (after a reconnect, or as persisted at a
        // restart) with its own end snapshot, so positions come out as before.
        batch = std::const_pointer_cast<Batch>(open_->batch);
        done_last = open_->done_last;
        done_ordinal = open_->done_ordinal;
    } else {
        if (!force && nothing_new(s1_, seq_at_s1_, *now_snapshot, seq)) return {};
        batch = std::make_shared<Batch>();
        batch->s1 = s1_;
        batch->s2 = *now_snapshot;
    }
    const bool resumed = open_.has_value();
    open_.reset();
    last_batch_query_ = Clock::now();
    if (auto st = read_batch(batch, done_last, done_ordinal, had_events); !st) return st;
    if (open_) return {}; // split at the ordinal limit: the rest follows in the next poll
    auto commit = read_conn_.exec_script("COMMIT");
    in_read_txn_ = false;
    if (!commit) return std::move(commit).error().to_error();
    s1_ = batch->s2;
    seq_at_s1_ = resumed ? -1 : seq;
    return {};
}

Result<std::shared_ptr<const TriggerSource::Layout>> TriggerSource::layout(int id) {
    if (auto it = layouts_.find(id); it != layouts_.end()) return it->second;
    auto r = ctl_conn_.exec("SELECT relid, schema_name, table_name, replident, att_names, "
                            "att_types, att_typmods, att_flags FROM walcast.layout "
                            "WHERE layout_id = $1",
                            {std::to_string(id)});
    if (!r) {
        Error e = std::move(r).error().to_error();
        e.code = Errc::Unavailable; // retried: a layout is never skipped for a query failure
        return std::move(e.context("reading walcast.layout"));
    }
    if (r->size() != 1)
        return make_error(Errc::NotFound, "layout " + std::to_string(id) + " does not exist");
    const pg::Rows& res = *r;
    // Arrays of names/oids/ints/flags as text: parse with the record reader's sibling rules —
    // these come from walcast's own catalog queries, so a simple split suffices for oids and
    // ints; names and flags may be quoted.
    auto split_array = [](std::string_view a) -> std::optional<std::vector<std::string>> {
        std::vector<std::string> out;
        if (a.size() < 2 || a.front() != '{' || a.back() != '}') return std::nullopt;
        a = a.substr(1, a.size() - 2);
        std::size_t i = 0;
        if (a.empty()) return out;
        while (i <= a.size()) {
            std::string item;
            if (i < a.size() && a[i] == '"') {
                ++i;
                while (i < a.size() && a[i] != '"') {
                    if (a[i] == '\\' && i + 1 < a.size()) ++i;
                    item += a[i++];
                }
                if (i >= a.size()) return std::nullopt;
                ++i; // closing quote
            } else {
                while (i < a.size() && a[i] != ',')
                    item += a[i++];
            }
            out.push_back(std::move(item));
            if (i >= a.size()) break;
            if (a[i] != ',') return std::nullopt;
            ++i;
        }
        return out;
    };
    auto names = split_array(res.string(0, 4));
    auto types = split_array(res.string(0, 5));
    auto typmods = split_array(res.string(0, 6));
    auto flags = split_array(res.string(0, 7));
    if (!names || !types || !typmods || !flags || types->size() != names->size() ||
        typmods->size() != names->size() || flags->size() != names->size())
        return make_error(Errc::Protocol,
                          "layout " + std::to_string(id) + " is malformed in walcast.layout");

    // The relation as pgoutput's Relation message would describe it (published columns with
    // their identity-key flags), described by the one RelationLoader like the logical source's.
    pg::pgoutput::Relation message;
    message.oid = static_cast<pg::Oid>(to_u64(res.string(0, 0)));
    message.namespace_name = res.string(0, 1);
    message.name = res.string(0, 2);
    message.replica_identity = res.string(0, 3).c_str()[0];
    auto l = std::make_shared<Layout>();
    l->id = id;
    l->fields = names->size();
    for (std::size_t i = 0; i < names->size(); ++i) {
        const std::string& f = (*flags)[i];
        if (f.find('g') != std::string::npos || f.find('x') != std::string::npos) {
            l->column_of_field.push_back(-1);
            continue;
        }
        l->column_of_field.push_back(static_cast<int>(message.columns.size()));
        pg::pgoutput::RelationColumn c;
        c.name = (*names)[i];
        c.type_oid = static_cast<pg::Oid>(to_u64((*types)[i]));
        c.type_modifier = static_cast<std::int32_t>(to_i64((*typmods)[i]));
        c.is_identity_key = f.find('k') != std::string::npos;
        message.columns.push_back(std::move(c));
    }
    auto description = loader_->describe(message);
    if (!description) {
        Error e = std::move(description).error();
        e.code = Errc::Unavailable; // retried: a layout is never skipped for a query failure
        return std::move(e.context("describing layout " + std::to_string(id)));
    }
    l->relation = make_relation(std::move(description).value());
    layouts_.emplace(id, l);
    sink_.on_relation(l->relation);
    return std::shared_ptr<const Layout>(l);
}

namespace {

// Fills tuple with the published columns of one record text: column_of_field maps each
// field of the text (every non-dropped column of the table as of the event) to its relation
// column, -1 for fields pgoutput does not send (generated, outside the column list).
Status fill_tuple(std::string_view text, const std::vector<int>& column_of_field,
                  std::size_t columns, pg::Tuple& tuple) {
    RecordReader reader(text);
    tuple.reserve(columns, text.size());
    std::optional<std::string_view> value;
    for (std::size_t f = 0;; ++f) {
        auto more = reader.next(value);
        if (!more) return std::move(more).error();
        if (!*more) break;
        if (f >= column_of_field.size())
            return make_error(Errc::InvalidInput, "the row has more columns than its layout (" +
                                                      std::to_string(column_of_field.size()) + ")");
        if (column_of_field[f] < 0) continue;
        if (!value)
            tuple.push_null();
        else
            tuple.push_value(*value);
    }
    if (reader.count() != column_of_field.size())
        return make_error(Errc::InvalidInput, "the row has " + std::to_string(reader.count()) +
                                                  " columns, its layout " +
                                                  std::to_string(column_of_field.size()));
    return {};
}

bool key_changed(const Relation& rel, const pg::Tuple& old_tuple, const pg::Tuple& new_tuple) {
    for (std::size_t i = 0; i < rel.columns.size(); ++i) {
        if (!rel.columns[i].is_identity_key) continue;
        if (old_tuple.is_null(i) != new_tuple.is_null(i)) return true;
        if (old_tuple.text(i) != new_tuple.text(i)) return true;
    }
    return false;
}

pg::Tuple key_only_copy(const Relation& rel, const pg::Tuple& full) {
    pg::Tuple t;
    t.reserve(rel.columns.size(), full.data_bytes());
    for (std::size_t i = 0; i < rel.columns.size(); ++i) {
        if (rel.columns[i].is_identity_key && !full.is_null(i))
            t.push_value(full.text(i));
        else
            t.push_null();
    }
    return t;
}

} // namespace

Status TriggerSource::read_batch(const std::shared_ptr<Batch>& batch, std::int64_t done_last,
                                 std::uint32_t done_ordinal, bool& had_events) {
    const BatchRange range = batch_range(batch->s1, batch->s2);
    const std::string lo = std::to_string(range.range_lo);
    const std::string hi = std::to_string(range.range_hi);
    const std::string s2 = batch->s2.to_string();
    const std::string s1 = batch->s1.to_string();
    const std::string listed = xid8_array(range.listed);
    const std::string after = std::to_string(done_last);

    reading_ = true;
    struct Reading {
        bool& flag;
        ~Reading() { flag = false; }
    } reading_guard{reading_};
    std::int64_t cur_tx_last = 0;
    bool tx_open = false;  // a transaction's rows are being read
    bool tx_begun = false; // … and on_begin was called for it
    std::uint32_t ordinal = done_ordinal;
    std::uint64_t position = 0;
    TransactionInfo txn;
    std::int64_t last_done = done_last; // tx_last of the last transaction fully handed on
    std::optional<Error> failure;
    bool split = false;

    auto finish_txn = [&] {
        if (!tx_open) return;
        if (tx_begun) {
            last_commit_time_pg_us_.store(txn.commit_time_pg_us, std::memory_order_release);
            transactions_.fetch_add(1, std::memory_order_relaxed);
            received_.store(position, std::memory_order_release);
            handed_.push_back(Handed{position, cur_tx_last, batch});
            sink_.on_commit(txn, Position{position});
        }
        // A long batch writes its progress too (between transactions; ctl_conn_ is free).
        if (auto st = persist(false); !st && !failure) failure = std::move(st).error();
        last_done = cur_tx_last;
        tx_open = false;
        tx_begun = false;
    };

    // One result row per changed row (or TRUNCATE); returns false to stop reading.
    auto on_row = [&](const pg::Rows& raw) -> bool {
        if (stopping_.load(std::memory_order_acquire)) {
            // Stop between rows: the open transaction is not handed on (what was handed of it
            // is delivered again after the restart, like a replication stream cut
            // mid-transaction).
            failure = make_error(Errc::Unavailable, "stopped");
            return false;
        }
        const std::int64_t tx_last = to_i64(raw.string(0, 0));
        if (!tx_open || tx_last != cur_tx_last) {
            finish_txn();
            if (static_cast<std::uint64_t>(ordinal) >= max_ordinal) {
                // A batch has room for 2^24 - 1 transactions: go on in a new batch (same
                // snapshots, after the last transaction handed on).
                auto next = std::make_shared<Batch>();
                next->s1 = batch->s1;
                next->s2 = batch->s2;
                open_ = OpenBatch{next, last_done, 0};
                split = true;
                return false;
            }
            if (batch->id == 0) {
                batch->id = ++batch_id_;
                batches_.fetch_add(1, std::memory_order_relaxed);
            }
            ++ordinal;
            position = (batch->id << ordinal_bits) | ordinal;
            cur_tx_last = tx_last;
            tx_open = true;
            const std::uint64_t xid = to_u64(raw.string(0, 1));
            txn = TransactionInfo{xid, true, Position{position}, to_i64(raw.string(0, 2))};
        }
        had_events = true;

        // One changed row (or a TRUNCATE) of the transaction.
        const std::string ev_id(raw.string(0, 3));
        const int layout_id = static_cast<int>(to_i64(raw.string(0, 5)));
        const std::string op = raw.string(0, 6);
        auto corrupt = [&](const std::string& why) {
            corrupt_.fetch_add(1, std::memory_order_relaxed);
            log::error("trigger capture: skipping event {} (relation {}, layout {}): {}; the "
                       "rest of its transaction is delivered",
                       ev_id, raw.string(0, 4), layout_id, why);
        };
        auto l = layout(layout_id);
        if (!l) {
            if (l.error().code != Errc::NotFound && l.error().code != Errc::Protocol) {
                failure = std::move(l).error();
                return false;
            }
            corrupt(l.error().message);
            return true;
        }
        const Layout& lay = **l;
        auto change = std::make_shared<Change>();
        change->relation = lay.relation;
        const auto new_text = raw.text(0, 8);
        const auto old_text = raw.text(0, 9);
        const Relation& rel = *lay.relation;
        bool skip = false;
        std::string bad;
        if (op == "I") {
            if (!pub_insert_) return true;
            change->kind = ChangeKind::Insert;
            if (!new_text)
                bad = "INSERT without a new row";
            else if (auto s = fill_tuple(*new_text, lay.column_of_field, rel.columns.size(),
                                         change->new_tuple.emplace());
                     !s)
                bad = s.error().message;
        } else if (op == "U" || op == "D") {
            const bool update = op == "U";
            if (update ? !pub_update_ : !pub_delete_) return true;
            change->kind = update ? ChangeKind::Update : ChangeKind::Delete;
            pg::Tuple old_full;
            if (!old_text)
                bad = std::string(update ? "UPDATE" : "DELETE") + " without an old row";
            else if (auto s =
                         fill_tuple(*old_text, lay.column_of_field, rel.columns.size(), old_full);
                     !s)
                bad = s.error().message;
            if (bad.empty() && update) {
                if (!new_text)
                    bad = "UPDATE without a new row";
                else if (auto s = fill_tuple(*new_text, lay.column_of_field, rel.columns.size(),
                                             change->new_tuple.emplace());
                         !s)
                    bad = s.error().message;
            }
            if (bad.empty()) {
                // The old row as pgoutput sends it for the table's replica identity.
                switch (rel.replica_identity) {
                case ReplicaIdentity::Full:
                    change->old_tuple = std::move(old_full);
                    change->old_is_full = true;
                    break;
                case ReplicaIdentity::Nothing:
                    if (!update) skip = true; // pgoutput sends no DELETE without identity
                    break;
                default:
                    if (!update || key_changed(rel, old_full, *change->new_tuple))
                        change->old_tuple = key_only_copy(rel, old_full);
                    break;
                }
            }
        } else if (op == "T") {
            if (!pub_truncate_) return true;
            change->kind = ChangeKind::Truncate;
            change->truncated.push_back(lay.relation);
        } else {
            bad = "unknown operation \"" + op + "\"";
        }
        if (!bad.empty()) {
            corrupt(bad);
            return true;
        }
        if (skip) return true;
        if (!tx_begun) {
            tx_begun = true;
            caught_up_.store(false, std::memory_order_release);
            sink_.on_begin(txn);
        }
        change->txn = txn;
        change->sequence = ++sequence_;
        changes_.fetch_add(1, std::memory_order_relaxed);
        const ChangePtr handed = std::move(change);
        sink_.on_change(handed);
        return !failure;
    };
    if (auto st = read_conn_.stream("walcast_batch", {lo, hi, s2, s1, listed, after}, on_row);
        !st && !failure)
        failure = std::move(st).error().to_error().context("reading a batch");

    if (failure) {
        // Resume this batch after the last transaction handed on in full.
        open_ = OpenBatch{batch, last_done, ordinal - (tx_open ? 1u : 0u)};
        if (tx_open && tx_begun)
            log::warn("trigger capture: transaction at {} was cut off after some of its changes; "
                      "it is read again from its start",
                      position_text(position));
        return std::move(*failure);
    }
    if (split) return {};
    finish_txn();
    if (batch->id != 0)
        log::debug("trigger capture: batch {} ({}, {}] read up to ordinal {}", batch->id,
                   batch->s1.to_string(), batch->s2.to_string(), ordinal);
    return {};
}

Status TriggerSource::maintenance() {
    // Publication operations (what pgoutput would publish).
    auto p = ctl_conn_.exec("SELECT pubinsert, pubupdate, pubdelete, pubtruncate "
                            "FROM pg_publication WHERE pubname = $1",
                            {options_.publication});
    if (!p) return std::move(p).error().to_error().context("reading the publication");
    if (p->size() == 0)
        return make_error(Errc::Config, "publication \"" + options_.publication +
                                            "\" does not exist: create it (walcast db init "
                                            "--capture trigger) or set PUBLICATION");
    pub_insert_ = p->string(0, 0) == "t";
    pub_update_ = p->string(0, 1) == "t";
    pub_delete_ = p->string(0, 2) == "t";
    pub_truncate_ = p->string(0, 3) == "t";

    auto rec = ctl_conn_.exec("SELECT action, relation, detail FROM walcast.reconcile(false)");
    if (!rec) return with_privilege_fix(rec.error()).context("walcast.reconcile()");
    std::string problems;
    std::uint64_t missing = 0;
    for (int i = 0; i < rec->size(); ++i) {
        const std::string action = rec->string(i, 0);
        const std::string relation = rec->string(i, 1);
        const std::string detail = rec->string(i, 2);
        if (action == "missing" || action == "unsupported") {
            if (!problems.empty()) problems += "; ";
            problems += relation + " " + detail;
            if (action == "missing") ++missing;
        } else if (action == "busy") {
            log::info("trigger capture: {} {}", relation, detail);
        } else if (action == "restamped") {
            log::debug("trigger capture: {} {}", relation, detail);
        } else {
            log::info("trigger capture: {} {} ({})", action, relation, detail);
        }
    }
    missing_tables_.store(missing, std::memory_order_relaxed);
    {
        std::lock_guard lock(state_mutex_);
        if (problems != problems_) {
            if (!problems.empty())
                log::error("trigger capture: {}", problems);
            else if (!problems_.empty())
                log::info("trigger capture: every table is captured again");
            problems_ = problems;
        }
    }

    auto m = ctl_conn_.exec("SELECT action, detail FROM walcast.maintain()");
    if (!m) return with_privilege_fix(m.error()).context("walcast.maintain()");
    for (int i = 0; i < m->size(); ++i) {
        const std::string action = m->string(i, 0);
        const std::string detail = m->string(i, 1);
        if (action == "dropped")
            log::warn("trigger capture: {}", detail);
        else if (action == "rotation-busy" || action == "rotation-waiting")
            log::debug("trigger capture: {}", detail);
        else
            log::info("trigger capture: {}", detail);
    }
    return {};
}

void TriggerSource::report_lost(std::int64_t lost, std::int64_t from_unix_ms) {
    Gap g;
    g.from_unix_ms = from_unix_ms;
    g.to_unix_ms = std::max<std::int64_t>(now_unix_us() / 1000, from_unix_ms + 1);
    // Streaming goes on from the last transaction handed on (this run or, after a restart, the
    // persisted position): the missing changes lie after it.
    const Position last{std::max(received_.load(std::memory_order_acquire), persisted_position_)};
    g.from = last;
    g.to = last;
    g.reason = std::to_string(lost) + " captured events were dropped unread because walcast (" +
               "consumer " + consumer_name() +
               ") was away longer than walcast.queue.max_retention; to keep them longer: "
               "UPDATE walcast.queue SET max_retention = '3 days'";
    sink_.on_gap(g);
}

Status TriggerSource::persist(bool force) {
    const std::uint64_t confirmed = confirmed_.load(std::memory_order_acquire);
    // What may be written: after the last confirmed transaction, the batch it belongs to done up
    // to it; with nothing handed on unconfirmed between batches, the reader's own snapshot.
    while (!handed_.empty() && handed_.front().position <= confirmed) {
        const Handed& h = handed_.front();
        pending_ =
            Durable{h.batch->s1, h.batch->s2, true,
                    h.batch->id, h.tx_last,   static_cast<std::uint32_t>(h.position & max_ordinal),
                    h.position};
        handed_.pop_front();
    }
    if (handed_.empty() && !reading_) {
        if (open_)
            pending_ = Durable{open_->batch->s1,
                               open_->batch->s2,
                               true,
                               open_->batch->id,
                               open_->done_last,
                               open_->done_ordinal,
                               (open_->batch->id << ordinal_bits) | open_->done_ordinal};
        else
            pending_ =
                Durable{s1_, {}, false, batch_id_, 0, 0, (batch_id_ << ordinal_bits) | max_ordinal};
    }
    if (!pending_) return {};
    const Durable d = *pending_;
    const bool advanced = d.position > persisted_position_;
    const bool moved = !d.has_batch && !(d.s1 == persisted_s1_);
    if (!advanced && !moved) {
        pending_.reset();
        return {};
    }
    const auto since = Clock::now() - last_persist_;
    if (!force && !(advanced && since >= options_.persist_interval) &&
        !(moved && since >= idle_persist_interval))
        return {};
    const Snapshot& s1 = d.s1;
    const Snapshot& s2 = d.s2;
    const bool has_batch = d.has_batch;
    const std::uint64_t batch_id = d.batch_id;
    const std::int64_t done_last = d.done_last;
    const std::uint32_t done_ordinal = d.done_ordinal;
    const std::uint64_t position = d.position;
    auto r = ctl_conn_.exec(
        "SELECT walcast.save_position($1, $2::pg_snapshot, $3::pg_snapshot, $4, $5, $6)",
        {std::to_string(consumer_id_), s1.to_string(),
         has_batch ? std::optional<std::string>(s2.to_string()) : std::nullopt,
         std::to_string(batch_id), std::to_string(done_last), std::to_string(done_ordinal)});
    if (!r) return std::move(r).error().to_error().context("saving the read position");
    log::debug("trigger capture: read position {} saved", position_text(position));
    last_persist_ = Clock::now();
    pending_.reset();
    persisted_position_ = std::max(persisted_position_, position);
    persisted_.store(persisted_position_, std::memory_order_release);
    if (!has_batch) persisted_s1_ = s1;
    const std::int64_t lost = to_i64(r->string(0, 0));
    if (lost > 0) {
        log::warn("trigger capture: {} events consumer {} had not read were dropped because it "
                  "was away longer than walcast.queue.max_retention",
                  lost, consumer_name());
        dropped_.fetch_add(static_cast<std::uint64_t>(lost), std::memory_order_relaxed);
        // Since the last transaction handed on.
        const auto commit = last_commit_time_pg_us_.load(std::memory_order_acquire);
        report_lost(lost, commit ? (commit + pg_epoch_offset_us) / 1000 : 0);
        if (auto a = ctl_conn_.exec("SELECT walcast.acknowledge_lost($1)",
                                    {std::to_string(consumer_id_)});
            !a)
            return std::move(a).error().to_error();
    }
    return {};
}

} // namespace walcast::capture::trigger
