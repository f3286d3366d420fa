#include "livequery/engine.hpp"

#include "capture/change_json.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "core/filter/filter.hpp"
#include "core/filter/value_normalizer.hpp"
#include "livequery/named_queries.hpp"
#include "pg/catalog.hpp"
#include "pg/relation_loader.hpp"
#include "pg/sqlstate.hpp"
#include "pg/xid_visibility.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace walcast::livequery {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string join_names(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names)
        s += (s.empty() ? "" : ", ") + n;
    return s;
}

std::string_view trimmed_sql(std::string_view sql) {
    auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ';'; };
    while (!sql.empty() && blank(sql.back()))
        sql.remove_suffix(1);
    while (!sql.empty() && blank(sql.front()))
        sql.remove_prefix(1);
    return sql;
}

} // namespace

// ---- results and diffs ------------------------------------------------------------------------

namespace {

Row key_of(const Row& row, const std::vector<std::size_t>& key) {
    Row k;
    k.reserve(key.size());
    for (auto i : key)
        k.push_back(i < row.size() ? row[i] : std::nullopt);
    return k;
}

struct RowKeyHash {
    std::size_t operator()(const Row& r) const {
        std::size_t h = 1469598103934665603ull;
        for (const auto& v : r) {
            h ^= v ? std::hash<std::string>{}(*v) : 0x9e3779b97f4a7c15ull;
            h *= 1099511628211ull;
        }
        return h;
    }
};

} // namespace

std::optional<Diff> diff_results(const std::vector<Row>& before, const std::vector<Row>& after,
                                 const std::vector<std::size_t>& key_columns) {
    if (key_columns.empty()) return std::nullopt;
    std::unordered_map<Row, std::size_t, RowKeyHash> old_index, new_index;
    old_index.reserve(before.size());
    new_index.reserve(after.size());
    for (std::size_t i = 0; i < before.size(); ++i)
        if (!old_index.emplace(key_of(before[i], key_columns), i).second) return std::nullopt;
    for (std::size_t i = 0; i < after.size(); ++i)
        if (!new_index.emplace(key_of(after[i], key_columns), i).second) return std::nullopt;
    Diff d;
    // What the client rule produces: old order minus deleted (updated in place), then inserted.
    std::vector<const Row*> applied_keys;
    for (const auto& row : before) {
        Row k = key_of(row, key_columns);
        auto it = new_index.find(k);
        if (it == new_index.end()) {
            d.deleted.push_back(std::move(k));
            continue;
        }
        if (after[it->second] != row) d.updated.push_back(after[it->second]);
        applied_keys.push_back(&after[it->second]);
    }
    for (const auto& row : after)
        if (!old_index.contains(key_of(row, key_columns))) {
            d.inserted.push_back(row);
            applied_keys.push_back(&row);
        }
    bool same_order = applied_keys.size() == after.size();
    for (std::size_t i = 0; same_order && i < after.size(); ++i)
        same_order = applied_keys[i] == &after[i];
    if (!same_order) {
        std::vector<Row> order;
        order.reserve(after.size());
        for (const auto& row : after)
            order.push_back(key_of(row, key_columns));
        d.order = std::move(order);
    }
    return d;
}

namespace {

void append_row_object(std::string& out, const std::vector<Column>& columns, const Row& row) {
    out += '{';
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if (i) out += ',';
        json::append_string(out, columns[i].name);
        out += ':';
        if (row[i])
            capture::append_value_json(out, columns[i].type, *row[i]);
        else
            out += "null";
    }
    out += '}';
}

void append_key_object(std::string& out, const std::vector<Column>& columns,
                       const std::vector<std::string>& key, const Row& values) {
    out += '{';
    for (std::size_t i = 0; i < key.size() && i < values.size(); ++i) {
        if (i) out += ',';
        json::append_string(out, key[i]);
        out += ':';
        const Column* col = nullptr;
        for (const auto& c : columns)
            if (c.name == key[i]) col = &c;
        if (!values[i])
            out += "null";
        else if (col)
            capture::append_value_json(out, col->type, *values[i]);
        else
            json::append_string(out, *values[i]);
    }
    out += '}';
}

void append_rows(std::string& out, const std::vector<Column>& columns,
                 const std::vector<Row>& rows) {
    out += '[';
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i) out += ',';
        append_row_object(out, columns, rows[i]);
    }
    out += ']';
}

} // namespace

void append_columns_json(std::string& out, const std::vector<Column>& columns) {
    out += '[';
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) out += ',';
        out += "{\"name\":";
        json::append_string(out, columns[i].name);
        out += ",\"type\":";
        json::append_string(out, columns[i].type.name);
        out += '}';
    }
    out += ']';
}

void append_names_json(std::string& out, const std::vector<std::string>& names) {
    out += '[';
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) out += ',';
        json::append_string(out, names[i]);
    }
    out += ']';
}

void append_update_json(std::string& out, const Update& u) {
    static const std::vector<std::string> no_key;
    const auto& key = u.key ? *u.key : no_key;
    const auto& columns = *u.result->columns;
    out += "{\"position\":";
    json::append_string(out, u.position_text);
    out += ",\"at\":";
    json::append_int(out, u.time_ms);
    out += ",\"key\":";
    append_names_json(out, key);
    if (!u.diff) {
        out += ",\"columns\":";
        append_columns_json(out, columns);
        out += ",\"rows\":";
        append_rows(out, columns, u.result->rows);
        out += '}';
        return;
    }
    out += ",\"inserted\":";
    append_rows(out, columns, u.diff->inserted);
    out += ",\"updated\":";
    append_rows(out, columns, u.diff->updated);
    out += ",\"deleted\":[";
    for (std::size_t i = 0; i < u.diff->deleted.size(); ++i) {
        if (i) out += ',';
        append_key_object(out, columns, key, u.diff->deleted[i]);
    }
    out += ']';
    if (u.diff->order) {
        out += ",\"order\":[";
        for (std::size_t i = 0; i < u.diff->order->size(); ++i) {
            if (i) out += ',';
            append_key_object(out, columns, key, (*u.diff->order)[i]);
        }
        out += ']';
    }
    out += '}';
}

void append_error_json(std::string& out, const LiveError& e) {
    out += "{\"code\":";
    json::append_string(out, e.code);
    out += ",\"message\":";
    json::append_string(out, e.message);
    out += '}';
}

// ---- the engine -------------------------------------------------------------------------------

namespace {

/// A result column's values (not NULL), for `:result/<column>` references; looked up by view.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using ValueSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

/// One `<column>=eq.:result/<result column>` condition of a refresh rule.
struct ResultRef {
    std::string column; ///< the table's column
    std::size_t at = 0; ///< its index in Refresh::columns
    std::size_t slot;   ///< index into LiveResult::ref_columns / ref_values
};

/// A table's refresh conditions (RefreshRule), compiled at subscribe: a change to the table
/// runs the live result again only when they hold on its old or new row. Used on the source's
/// thread only (CompiledFilter's cache, positions), under Engine::Impl::mu.
struct Refresh {
    core::CompiledFilter filter; ///< the plain conditions ($n substituted)
    /// One `column=eq.value` of the plain conditions whose value has one text form (integers,
    /// text/varchar/name, uuid: see canonical_value), so that a change can find the live
    /// results it may touch by the changed row's value instead of testing every one
    /// (Engine::Impl::EqualityIndex). eq_column empty: none.
    std::string eq_column;
    std::string eq_value;             ///< canonical_value of the condition's value
    std::vector<std::string> columns; ///< every column the conditions name (sorted, unique)
    std::vector<ResultRef> refs;      ///< ANDed with filter
    /// Where columns are in `resolved_for` (-1: not in it), looked up by name only when a
    /// change comes with another Relation (a schema change), not per change; the Relation is
    /// held, so its address cannot be reused by another.
    mutable capture::RelationPtr resolved_for;
    mutable std::vector<int> positions;

    const std::vector<int>& positions_in(const capture::RelationPtr& rel) const {
        if (resolved_for != rel) {
            positions.clear();
            for (const auto& name : columns)
                positions.push_back(rel->column_index(name));
            resolved_for = rel;
        }
        return positions;
    }
};

/// One table a live result reads, and which of its columns.
struct Dependency {
    pg::Oid relation = 0;
    std::vector<std::string> columns; ///< sorted
    bool whole_row = false;
    std::shared_ptr<const Refresh> refresh; ///< null: every change that touches it counts
    bool indirect = false; ///< read through a view or another table's policy (Read::indirect)
};

/// What a statement reads, split by whether walcast captures it (the publication's tables):
/// the captured ones as Dependencies, the others by name.
struct Reads {
    std::vector<Dependency> deps;
    std::vector<std::string> uncaptured; ///< schema.name
};

struct LiveResult;
/// Trailing-edge re-runs by due time (Engine::Impl::timers).
using TimerQueue = std::multimap<Clock::time_point, std::shared_ptr<LiveResult>>;

struct SubscriptionState {
    std::weak_ptr<Sink> sink;
    bool held = true;        ///< until subscribe's done returned
    bool needs_first = true; ///< has not had a whole result yet
};

/// What the engine knows of one (query, parameters, identity, options): the analysis, the
/// current result and the scheduling state. Guarded by Engine::Impl::mu except where noted.
struct LiveResult {
    /// Its prepared statement's name, walcast_lq_<number>, on each worker connection: one per
    /// distinct `sql` (results differing in parameters or identity share it), so that a
    /// connection prepares — and analyses — a statement once, not once per live result.
    std::uint64_t number = 0;
    std::string share_key;
    std::string body; ///< the subscriber's statement (what is analysed)
    // Written at subscribe (before the result is shared) and by check_catalog's worker (one
    // check at a time); read by both:
    std::vector<pg::Oid> relations; ///< StatementShape::relations of the last analysis
    std::string digest;             ///< analysed_digest() of the last analysis; "" = unknown
    std::string sql; ///< what runs (the subscriber's statement wrapped in the row limit)
    std::vector<std::optional<std::string>> params;
    core::IdentityPtr identity;
    std::uint32_t throttle_ms = 500;
    std::shared_ptr<const std::vector<Column>> columns;
    std::shared_ptr<const std::vector<std::string>> key_names;
    std::vector<std::size_t> key_indexes;
    bool full = false;
    std::vector<Dependency> deps;
    bool hinted = false; ///< deps' refresh conditions include Request::refresh_hints
    /// `:result/<column>` references: the result columns (indexes), and under mu their values
    /// in the last result read; refs_valid: that result is the latest word (no run taken since,
    /// none failed; refresh_holds also looks at the pending-run flags).
    std::vector<std::size_t> ref_columns;
    std::vector<std::shared_ptr<const ValueSet>> ref_values;
    bool refs_valid = false;

    std::vector<std::shared_ptr<SubscriptionState>> subs;
    // Worker-owned while running (only one worker runs a result at a time):
    std::shared_ptr<const ResultSet> current;
    capture::Position position;
    bool errored = false;
    // Scheduling:
    bool dirty = false;
    bool queued = false;
    bool running = false;
    std::optional<TimerQueue::iterator> timer; ///< its entry in Impl::timers, while waiting
    bool removed = false;
    pg::XidList xids;
    Clock::time_point last_run{};
    std::uint64_t touched_in = 0; ///< the transaction (Impl::txn_counter) that last touched it
};
using LiveResultPtr = std::shared_ptr<LiveResult>;

/// A run's outcome for one live result.
struct RunOutcome {
    std::optional<ResultSet> rows;
    std::optional<LiveError> error;
    bool retry = false; ///< not run (the round failed before it): schedule again
};

} // namespace

struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
    Settings settings;
    pg::ConnectParams params;
    std::function<std::string(capture::Position)> format_position;
    NamedQueries named;
    Counter& executions;
    Counter& round_trips;
    Counter& pushes;
    Counter& triggered;
    Gauge& subscriptions_gauge; ///< walcast_live_query_subscriptions
    Gauge& results_gauge;       ///< walcast_live_query_results

    mutable std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    std::vector<std::thread> threads;
    std::deque<std::function<void(pg::Connection&)>> tasks;
    std::deque<LiveResultPtr> ready;
    TimerQueue timers;
    std::unordered_map<std::string, LiveResultPtr> results; ///< by share_key
    std::unordered_map<pg::Oid, std::vector<LiveResult*>> by_relation;
    /// The live results of each relation by their refresh condition's `column=eq.value`
    /// (Refresh::eq_column), and those without one: a change tests only the results indexed
    /// under its row's values and the unindexed ones (on_change), not every live result
    /// reading the table. Under mu, beside by_relation.
    struct EqualityIndex {
        std::unordered_map<std::string, std::unordered_map<std::string, std::vector<LiveResult*>>>
            by_value; ///< column → canonical value → results
        std::vector<LiveResult*> unindexed;
    };
    std::unordered_map<pg::Oid, EqualityIndex> equality;
    std::vector<LiveResultPtr> touched; ///< by the transaction being streamed
    std::uint64_t txn_counter = 0;
    std::uint64_t next_number = 0;
    /// The statement number of each distinct `sql` and result columns (LiveResult::number).
    /// Bounded: past
    /// max_statements it starts afresh and statements_epoch tells the workers to DEALLOCATE
    /// ALL (a stream of distinct raw SQL must not grow every backend's prepared statements).
    std::unordered_map<std::string, std::uint64_t> statement_by_sql;
    std::uint64_t statements_epoch = 0;
    static constexpr std::size_t max_statements = 4096;
    capture::Position last_commit;
    bool stream_was_down = false;
    bool catalog_checking = false;          ///< a worker runs check_catalog
    Clock::time_point next_catalog_check{}; ///< while live results exist
    std::string catalog_seen;               ///< the catalog_stamp() of the last check
    std::uint64_t subscription_count = 0;

    Impl(Settings s, pg::ConnectParams p, std::function<std::string(capture::Position)> f,
         MetricsRegistry& registry)
        : settings(std::move(s)), params(std::move(p)), format_position(std::move(f)),
          executions(
              registry.counter("walcast_live_query_executions_total",
                               "live-query runs (one per result run; a run repeated until its "
                               "change is visible counts once, its round trips each)")),
          round_trips(registry.counter("walcast_live_query_round_trips_total",
                                       "live-query run transactions (one round trip each)")),
          pushes(registry.counter("walcast_live_query_pushes_total",
                                  "live-query results, diffs and errors pushed to subscribers")),
          triggered(registry.counter(
              "walcast_live_query_triggered_total",
              "live results a committed transaction touched (each asks for a run; runs a "
              "throttle window or a busy worker coalesces count once in executions)")),
          subscriptions_gauge(registry.gauge("walcast_live_query_subscriptions",
                                             "live-query subscriptions now (every front end)")),
          results_gauge(registry.gauge("walcast_live_query_results",
                                       "distinct live results now (subscriptions with the "
                                       "same query, parameters and identity share one)")) {}

    // Under mu: after subscription_count or results changed.
    void counts_changed() {
        subscriptions_gauge.set(static_cast<std::int64_t>(subscription_count));
        results_gauge.set(static_cast<std::int64_t>(results.size()));
    }

    // Under mu.
    void schedule(const LiveResultPtr& r, bool ignore_throttle = false) {
        if (r->removed || r->running || r->queued) return;
        bool held = false;
        for (const auto& s : r->subs)
            held = held || s->held;
        if (held && !r->current) return; // the first run waits for subscribe's done
        const auto now = Clock::now();
        const auto window = std::chrono::milliseconds(r->throttle_ms);
        if (ignore_throttle || !r->dirty || r->throttle_ms == 0 || now - r->last_run >= window) {
            if (r->timer) {
                timers.erase(*r->timer);
                r->timer.reset();
            }
            r->queued = true;
            ready.push_back(r);
            cv.notify_one();
            return;
        }
        if (r->timer) return;
        r->timer = timers.emplace(r->last_run + window, r);
        cv.notify_one();
    }

    void remove_result(const LiveResultPtr& r) {
        r->removed = true;
        if (r->timer) { // its trailing run is not wanted any more
            timers.erase(*r->timer);
            r->timer.reset();
        }
        unregister_deps(r.get());
        results.erase(r->share_key);
        counts_changed();
    }

    void unsubscribe(const LiveResultPtr& r, const std::shared_ptr<SubscriptionState>& s) {
        std::lock_guard lock(mu);
        auto& subs = r->subs;
        subs.erase(std::remove(subs.begin(), subs.end(), s), subs.end());
        --subscription_count;
        counts_changed();
        if (subs.empty() && !r->removed) remove_result(r);
    }

    void worker();
    /// Every catalog_poll_ms while live results exist (a worker's task): when catalog_stamp()
    /// changed, the results whose relations' digests changed are analysed again (reanalyse).
    void check_catalog(pg::Connection& conn);
    /// What reanalyse learns of one statement, shared by the results with that SQL.
    struct Analysis {
        std::optional<pg::StatementShape> shape; ///< nullopt: the statement does not prepare
        std::optional<Reads> reads;              ///< nullopt: the publication was not read
        std::string digest;                      ///< analysed_digest(); "" = unknown
    };
    /// After a schema change: prepares r's statement again (once per statement and check:
    /// analyses) and re-registers what it reads (a view redefined, a policy reading another
    /// table, a table added to the publication), keeping the refresh conditions of the tables it
    /// still reads, then runs it again. When it now reads nothing captured, the old dependencies
    /// stay (the conservative answer). A statement that no longer prepares runs again too (its
    /// error reaches the subscribers; it recovers after a later schema change); one whose result
    /// columns changed is ended with a dependency_changed error (its subscribers stay, a new
    /// subscription gets the new shape). A result being run is left for the next check.
    void reanalyse(pg::Connection& conn, const LiveResultPtr& r,
                   std::unordered_map<std::string, Analysis>& analyses);
    void register_deps(LiveResult* r) {
        for (const auto& d : r->deps) {
            by_relation[d.relation].push_back(r);
            auto& index = equality[d.relation];
            if (d.refresh && !d.refresh->eq_column.empty())
                index.by_value[d.refresh->eq_column][d.refresh->eq_value].push_back(r);
            else
                index.unindexed.push_back(r);
        }
    }
    void unregister_deps(LiveResult* r) {
        auto erase = [r](std::vector<LiveResult*>& v) {
            v.erase(std::remove(v.begin(), v.end(), r), v.end());
            return v.empty();
        };
        for (const auto& d : r->deps) {
            if (auto it = by_relation.find(d.relation);
                it != by_relation.end() && erase(it->second))
                by_relation.erase(it);
            auto eq = equality.find(d.relation);
            if (eq == equality.end()) continue;
            if (d.refresh && !d.refresh->eq_column.empty()) {
                auto column = eq->second.by_value.find(d.refresh->eq_column);
                if (column != eq->second.by_value.end()) {
                    auto value = column->second.find(d.refresh->eq_value);
                    if (value != column->second.end() && erase(value->second))
                        column->second.erase(value);
                    if (column->second.empty()) eq->second.by_value.erase(column);
                }
            } else {
                erase(eq->second.unindexed);
            }
            if (eq->second.by_value.empty() && eq->second.unindexed.empty()) equality.erase(eq);
        }
    }
    void run_batch(pg::Connection& conn, std::unordered_set<std::uint64_t>& prepared,
                   std::vector<LiveResultPtr>& batch, capture::Position position);
    void deliver(const LiveResultPtr& r, RunOutcome outcome, capture::Position position);

    /// After a successful run (the worker running r): the values of r's `:result/` columns
    /// in r->current, recomputed when the result changed, become what refresh conditions
    /// compare with.
    void publish_ref_values(LiveResult& r, bool changed) {
        std::vector<std::shared_ptr<const ValueSet>> sets;
        if (changed)
            for (auto index : r.ref_columns) {
                auto values = std::make_shared<ValueSet>();
                for (const auto& row : r.current->rows)
                    if (index < row.size() && row[index]) values->insert(*row[index]);
                sets.push_back(std::move(values));
            }
        std::lock_guard lock(mu);
        if (changed) r.ref_values = std::move(sets);
        r.refs_valid = true;
    }
    void do_subscribe(pg::Connection& conn, Request request, std::weak_ptr<Sink> sink,
                      std::function<void(Result<SubscriptionPtr>)> done);
};

namespace {

class SubscriptionImpl final : public Subscription {
public:
    SubscriptionImpl(std::weak_ptr<Engine::Impl> engine, LiveResultPtr result,
                     std::shared_ptr<SubscriptionState> state)
        : engine_(std::move(engine)), result_(std::move(result)), state_(std::move(state)) {}
    ~SubscriptionImpl() override {
        if (auto e = engine_.lock()) e->unsubscribe(result_, state_);
    }
    const std::vector<Column>& columns() const override { return *result_->columns; }
    const std::vector<std::string>& key() const override { return *result_->key_names; }

private:
    std::weak_ptr<Engine::Impl> engine_;
    LiveResultPtr result_;
    std::shared_ptr<SubscriptionState> state_;
};

bool connect(pg::Connection& conn, const pg::ConnectParams& params) {
    if (conn.healthy()) return true;
    auto c = pg::Connection::connect(params);
    if (!c) {
        log::warn("live queries: {}", c.error().message);
        return false;
    }
    conn = std::move(c).value();
    return true;
}

LiveError error_of(const pg::PgError& e, std::uint32_t timeout_ms) {
    if (e.is(pg::sqlstate::query_canceled))
        return LiveError{"timeout",
                         "the live query ran longer than LIVE_QUERY_TIMEOUT_MS (" +
                             std::to_string(timeout_ms) +
                             " ms) and was cancelled; make it faster or raise the setting"};
    if (e.is(pg::sqlstate::insufficient_privilege))
        return LiveError{"permission_denied", e.describe()};
    if (e.sqlstate == "42P01" || e.sqlstate == "42703")
        return LiveError{"dependency_changed", e.describe()};
    if (e.connection_lost) return LiveError{"unavailable", e.describe()};
    return LiveError{"query_error", e.describe()};
}

// Schema changes are found by the xmin of catalog rows: a row's xmin changes whenever the row is
// rewritten (ALTER TABLE adding or dropping a column, GRANT, ENABLE ROW LEVEL SECURITY write the
// pg_class row; CREATE OR REPLACE VIEW the pg_rewrite row; CREATE/ALTER/DROP POLICY pg_policy;
// ALTER PUBLICATION pg_publication_rel), while in-place updates (VACUUM's statistics) keep it,
// so an idle database changes nothing. A column rename writes only pg_attribute: not seen here;
// the statement's next run fails with the missing column instead.

/// A digest over the whole catalog's rows of those kinds: cheap to compare, read every
/// catalog_poll_ms while live results exist. nullopt: not read.
std::optional<std::string> catalog_stamp(pg::Connection& conn) {
    auto r = conn.exec(
        "SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM ("
        " SELECT 'c' || oid || ':' || xmin FROM pg_class WHERE relpersistence <> 't' AND"
        "  relkind IN ('r', 'p', 'v', 'm', 'f') AND relnamespace <> 'pg_catalog'::regnamespace"
        "  AND relnamespace <> 'information_schema'::regnamespace"
        " UNION ALL SELECT 'r' || oid || ':' || xmin FROM pg_rewrite WHERE oid >= 16384"
        " UNION ALL SELECT 'p' || oid || ':' || xmin FROM pg_policy"
        " UNION ALL SELECT 'u' || oid || ':' || xmin FROM pg_publication_rel) s(x)");
    if (!r || r->empty()) return std::nullopt;
    return r->string(0, 0);
}

/// Per relation of oids: a digest of its pg_class row, rewrite rules, policies and publication
/// memberships (a relation that no longer exists has none). nullopt: not read.
std::optional<std::unordered_map<pg::Oid, std::string>>
relation_digests(pg::Connection& conn, const std::vector<pg::Oid>& oids) {
    std::string list = "{";
    for (std::size_t i = 0; i < oids.size(); ++i)
        list += (i ? "," : "") + std::to_string(oids[i]);
    list += '}';
    auto r = conn.exec(
        "SELECT c.oid, md5(concat_ws('/', c.xmin::text,"
        " (SELECT string_agg(r.oid || ':' || r.xmin, ',' ORDER BY r.oid) FROM pg_rewrite r"
        "   WHERE r.ev_class = c.oid),"
        " (SELECT string_agg(p.oid || ':' || p.xmin, ',' ORDER BY p.oid) FROM pg_policy p"
        "   WHERE p.polrelid = c.oid),"
        " (SELECT string_agg(u.oid || ':' || u.xmin, ',' ORDER BY u.oid) FROM pg_publication_rel u"
        "   WHERE u.prrelid = c.oid)))"
        " FROM pg_class c WHERE c.oid = ANY($1::oid[])",
        {list});
    if (!r) return std::nullopt;
    std::unordered_map<pg::Oid, std::string> out;
    for (int i = 0; i < r->size(); ++i)
        out.emplace(r->integer<pg::Oid>(i, 0).value_or(0), r->string(i, 1));
    return out;
}

/// A result's digest: its relations' digests in order ("-" for one that no longer exists).
std::string combined_digest(const std::vector<pg::Oid>& relations,
                            const std::unordered_map<pg::Oid, std::string>& digests) {
    std::string out;
    for (auto oid : relations) {
        auto it = digests.find(oid);
        out += it == digests.end() ? std::string("-") : it->second;
        out += ';';
    }
    return out;
}

/// The digest of what shape's analysis went through, or "" (unknown: the next catalog check
/// analyses again) when it cannot be read or the catalog changed since `stamp_before`, read
/// before the analysis — so that a schema change racing the analysis is never missed.
std::string analysed_digest(pg::Connection& conn, const pg::StatementShape& shape,
                            const std::optional<std::string>& stamp_before) {
    auto digests = relation_digests(conn, shape.relations);
    if (!digests || !stamp_before || catalog_stamp(conn) != stamp_before) return "";
    return combined_digest(shape.relations, *digests);
}

Result<Reads> captured_reads(pg::Connection& conn, const pg::StatementShape& shape,
                             const std::string& publication) {
    auto published =
        conn.exec("SELECT c.oid FROM pg_publication_tables t JOIN pg_namespace n ON "
                  "n.nspname = t.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND "
                  "c.relname = t.tablename WHERE t.pubname = $1",
                  {publication});
    if (!published)
        return make_error(Errc::Unavailable,
                          "cannot read the publication: " + published.error().describe());
    std::unordered_set<pg::Oid> captured;
    for (int i = 0; i < published->size(); ++i)
        captured.insert(published->integer<pg::Oid>(i, 0).value_or(0));
    Reads out;
    for (const auto& read : shape.reads) {
        if (!captured.contains(read.relation)) {
            out.uncaptured.push_back(read.schema + "." + read.name);
            continue;
        }
        Dependency d{read.relation, read.columns, read.whole_row, nullptr, read.indirect};
        std::sort(d.columns.begin(), d.columns.end());
        out.deps.push_back(std::move(d));
    }
    return out;
}

/// Whether a table column of type `a` and a result column of type `b` (pg_type.typname) print
/// equal values as equal text, so that `:result/<column>` can compare their text: integers
/// with integers, text with text, and uuid, bool each with itself. Not numeric (1.0 vs 1.00),
/// not date/time types (their text follows session settings), not user types.
bool same_text_family(std::string_view a, std::string_view b) {
    auto family = [](std::string_view t) -> std::string_view {
        if (t == "int2" || t == "int4" || t == "int8" || t == "oid") return "integer";
        if (t == "text" || t == "varchar" || t == "name") return "text";
        if (t == "uuid" || t == "bool") return t;
        return {};
    };
    const auto fa = family(a);
    return !fa.empty() && fa == family(b);
}

bool is_parameter_ref(std::string_view v) {
    return v.size() > 1 && v[0] == '$' &&
           std::all_of(v.begin() + 1, v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Compiles refresh rules into r's dependencies (Dependency::refresh) and result references
/// (LiveResult::ref_columns); returns why they are refused instead (naming the rule and the
/// fix): a table the query does not read or walcast does not capture, a condition the grammar
/// or the table refuses, a `$n` without a value, a `:result/` reference not under eq, to a
/// column the result lacks or of another type. Blocking (catalog and casts, on conn).
/// The one text form of a value of a column of this type, as pgoutput and the trigger capture
/// print it (so that equal values compare equal as text), or nullopt when the type has no such
/// form walcast knows: integers (Postgres's input allows spaces and a sign), text, varchar and
/// name (bpchar pads, citext folds case: not these), uuid in its 36-character form.
std::optional<std::string> canonical_value(const pg::PgType& type, std::string_view v) {
    if (type.kind == pg::TypeKind::Int) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n'))
            v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n'))
            v.remove_suffix(1);
        if (v.starts_with('+')) v.remove_prefix(1);
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
        return std::to_string(n);
    }
    if (type.name == "text" || type.name == "varchar" || type.name == "name") return std::string(v);
    if (type.kind == pg::TypeKind::Uuid && v.size() == 36) {
        std::string out(v);
        for (std::size_t i = 0; i < out.size(); ++i) {
            const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash != (out[i] == '-') ||
                (!dash && !std::isxdigit(static_cast<unsigned char>(out[i]))))
                return std::nullopt;
            out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
        }
        return out;
    }
    return std::nullopt;
}

std::optional<std::string> compile_refresh(pg::Connection& conn, pg::Catalog& catalog,
                                           const std::vector<RefreshRule>& rules,
                                           const pg::StatementShape& shape,
                                           const std::vector<Column>& columns,
                                           const std::vector<std::optional<std::string>>& params,
                                           const Settings& settings, LiveResult& r) {
    if (!settings.parse_filter) return "refresh conditions are not available in this server";
    // Any role may add conditions to a named query, and each costs casts at subscribe and an
    // evaluation per change on the source's thread: a subscription has a few at most.
    constexpr std::size_t max_conditions = 16;
    std::size_t count = 0;
    std::map<pg::Oid, std::vector<core::FilterCondition>> by_table;
    for (const auto& rule : rules) {
        const std::string where = "refresh condition " + rule.table + " " + rule.filter + ": ";
        std::vector<pg::Oid> matched;
        std::vector<std::string> names;
        for (const auto& read : shape.reads) {
            names.push_back(read.schema + "." + read.name);
            if (rule.table == read.name || rule.table == names.back())
                matched.push_back(read.relation);
        }
        if (matched.empty())
            return where + "the live query does not read " + rule.table + " (it reads " +
                   join_names(names) + "); name one of those tables";
        auto parsed = settings.parse_filter(rule.filter);
        if (!parsed) return where + parsed.error().message;
        if (parsed->empty())
            return where + "the condition is empty; write one, e.g. status=eq.open";
        count += parsed->size();
        if (count > max_conditions)
            return "a live query takes at most " + std::to_string(max_conditions) +
                   " refresh conditions; merge some (id=in.(1,2,3)) or drop them";
        for (auto oid : matched) {
            if (std::none_of(r.deps.begin(), r.deps.end(),
                             [&](const Dependency& d) { return d.relation == oid; }))
                return where + rule.table + " is not in publication " + settings.publication +
                       ", so no change to it runs the query again; drop the condition or add "
                       "the table to the publication";
            auto& v = by_table[oid];
            v.insert(v.end(), parsed->begin(), parsed->end());
        }
    }
    pg::RelationLoader loader(catalog);
    core::PgValueNormalizer normalizer(conn);
    for (auto& [oid, conditions] : by_table) {
        auto d = loader.load(oid);
        if (!d) return "refresh condition: reading a table's columns failed: " + d.error().message;
        const capture::RelationPtr rel = capture::make_relation(std::move(d).value());
        const std::string where = "refresh condition on " + rel->schema + "." + rel->table + ": ";
        auto refresh = std::make_shared<Refresh>();
        std::vector<core::FilterCondition> plain;
        for (auto c : conditions) {
            const int col = rel->column_index(c.column);
            if (col < 0)
                return where + "the table has no column " + c.column + "; name one of its columns";
            refresh->columns.push_back(c.column);
            if (c.value.starts_with(":result/")) {
                const std::string name = c.value.substr(8);
                if (c.op != core::FilterOp::Eq || c.negate)
                    return where + c.value + " works with eq only, e.g. " + c.column + "=eq." +
                           c.value;
                auto it = std::find_if(columns.begin(), columns.end(),
                                       [&](const Column& x) { return x.name == name; });
                if (it == columns.end()) {
                    std::vector<std::string> result_names;
                    for (const auto& x : columns)
                        result_names.push_back(x.name);
                    return where + "the result has no column " + name + " (it has " +
                           join_names(result_names) + ")";
                }
                const auto& table_type = rel->columns[static_cast<std::size_t>(col)].type.name;
                if (!same_text_family(table_type, it->type.name))
                    return where + c.column + " is " + table_type + " and the result's " + name +
                           " is " + it->type.name +
                           ": :result/ compares integers, text, uuid or bool of the same kind; "
                           "cast the result column in the select list";
                const auto index = static_cast<std::size_t>(it - columns.begin());
                auto slot = std::find(r.ref_columns.begin(), r.ref_columns.end(), index);
                if (slot == r.ref_columns.end())
                    slot = r.ref_columns.insert(r.ref_columns.end(), index);
                refresh->refs.push_back(
                    {c.column, 0, static_cast<std::size_t>(slot - r.ref_columns.begin())});
                continue;
            }
            if (is_parameter_ref(c.value)) {
                std::size_t n = 0;
                std::from_chars(c.value.data() + 1, c.value.data() + c.value.size(), n);
                if (n < 1 || n > params.size())
                    return where + c.value + " names no parameter (the query has " +
                           std::to_string(params.size()) + ")";
                if (!params[n - 1])
                    return where + "parameter " + c.value +
                           " is NULL, which no value equals; pass a value";
                c.value = *params[n - 1];
            }
            if (refresh->eq_column.empty() && c.op == core::FilterOp::Eq && !c.negate)
                if (auto v = canonical_value(rel->columns[static_cast<std::size_t>(col)].type,
                                             c.value)) {
                    refresh->eq_column = c.column;
                    refresh->eq_value = std::move(*v);
                }
            plain.push_back(std::move(c));
        }
        if (!plain.empty()) {
            auto compiled = core::CompiledFilter::compile(plain, *rel, normalizer);
            if (!compiled) return where + compiled.error().describe();
            refresh->filter = std::move(compiled).value();
        }
        std::sort(refresh->columns.begin(), refresh->columns.end());
        refresh->columns.erase(std::unique(refresh->columns.begin(), refresh->columns.end()),
                               refresh->columns.end());
        for (auto& ref : refresh->refs)
            ref.at = static_cast<std::size_t>(
                std::lower_bound(refresh->columns.begin(), refresh->columns.end(), ref.column) -
                refresh->columns.begin());
        for (auto& dep : r.deps)
            if (dep.relation == oid) dep.refresh = refresh;
    }
    r.ref_values.assign(r.ref_columns.size(), nullptr);
    return std::nullopt;
}

} // namespace

void Engine::Impl::do_subscribe(pg::Connection& conn, Request req, std::weak_ptr<Sink> sink,
                                std::function<void(Result<SubscriptionPtr>)> done) {
    auto refuse = [&](std::string message) { done(make_error(Errc::InvalidInput, message)); };
    if (!req.identity) return refuse("a live query needs an identity (a verified token)");
    if (settings.max_subscriptions) {
        std::lock_guard lock(mu);
        if (subscription_count >= settings.max_subscriptions)
            return done(make_error(
                Errc::Unavailable,
                "walcast holds " + std::to_string(subscription_count) +
                    " live-query subscriptions, its limit (LIVE_QUERY_MAX_SUBSCRIPTIONS); try "
                    "again after others end, or raise LIVE_QUERY_MAX_SUBSCRIPTIONS"));
    }
    std::string sql;
    std::vector<std::string> key = req.key;
    std::optional<std::uint32_t> throttle = req.throttle_ms;
    std::vector<RefreshRule> rules;
    if (!req.name.empty()) {
        const NamedQuery* q = named.find(req.name);
        if (!q)
            return done(make_error(
                Errc::NotFound,
                "no named live query '" + req.name + "'" +
                    (settings.queries_dir.empty()
                         ? std::string(
                               " (LIVE_QUERIES_DIR is not set: no named queries are defined)")
                         : " in LIVE_QUERIES_DIR (" + settings.queries_dir.string() +
                               "); the file " + req.name + ".sql defines it")));
        sql = q->sql;
        if (key.empty()) key = q->key;
        if (!throttle) throttle = q->throttle_ms;
        rules = q->refresh;
    } else if (!req.sql.empty()) {
        const bool allowed =
            req.trusted || std::find(settings.sql_roles.begin(), settings.sql_roles.end(),
                                     req.identity->role) != settings.sql_roles.end();
        if (!allowed)
            return done(make_error(
                Errc::PermissionDenied,
                "raw SQL live queries are allowed only for the roles in LIVE_SQL_ROLES (" +
                    join_names(settings.sql_roles) + "); role " + req.identity->role +
                    " may subscribe to a named query of LIVE_QUERIES_DIR by name"));
        sql = req.sql;
    } else {
        return refuse("a live query needs a name (a named query of LIVE_QUERIES_DIR) or sql");
    }
    const std::string body(trimmed_sql(sql));
    if (body.empty()) return refuse("the live query's SQL is empty");
    rules.insert(rules.end(), req.refresh.begin(), req.refresh.end());

    std::string share_key = body;
    share_key += '\x1f';
    for (const auto& p : req.params) {
        share_key += p ? "v" + *p : std::string("n");
        share_key += '\x1e';
    }
    share_key += '\x1f' + req.identity->key + '\x1f' +
                 std::to_string(throttle.value_or(settings.throttle_ms)) + '\x1f' +
                 (req.full ? "full" : "diff") + '\x1f' + join_names(key);
    for (const auto& rule : rules)
        share_key += '\x1f' + rule.table + '\x1e' + rule.filter;
    for (const auto& hint : req.refresh_hints)
        share_key += '\x1d' + hint.table + '\x1e' + hint.filter;

    auto state = std::make_shared<SubscriptionState>();
    state->sink = std::move(sink);
    LiveResultPtr r;
    {
        std::lock_guard lock(mu);
        if (auto it = results.find(share_key); it != results.end()) {
            r = it->second;
            r->subs.push_back(state);
            ++subscription_count;
            counts_changed();
        }
    }
    if (!r) {
        if (!connect(conn, params))
            return done(
                make_error(Errc::Unavailable, "live queries cannot reach the database; try again"));
        const auto stamp = catalog_stamp(conn); // before the analysis
        auto shape = conn.prepare("", body);
        if (!shape) return refuse("the live query does not prepare: " + shape.error().describe());
        if (shape->columns.empty())
            return refuse("the live query returns no rows: a live query is one SELECT");
        if (shape->parameter_types.size() != req.params.size())
            return refuse("the live query takes " + std::to_string(shape->parameter_types.size()) +
                          " parameter(s) ($1…); params has " + std::to_string(req.params.size()));
        auto reads = captured_reads(conn, *shape, settings.publication);
        if (!reads) return refuse(reads.error().message);
        auto lr = std::make_shared<LiveResult>();
        lr->deps = std::move(reads->deps);
        const std::vector<std::string>& uncaptured = reads->uncaptured;
        if (lr->deps.empty()) {
            std::string why = "the live query reads nothing walcast captures (publication " +
                              settings.publication + ")";
            if (!uncaptured.empty())
                why += "; it reads " + join_names(uncaptured) +
                       ": add them with ALTER PUBLICATION " + settings.publication + " ADD TABLE …";
            if (!shape->functions.empty())
                why += "; what the functions it calls (" + join_names(shape->functions) +
                       ") read is not known";
            return refuse(why);
        }
        if (!uncaptured.empty())
            log::info("live query reads tables outside publication {} ({}): changes to them do "
                      "not run it again",
                      settings.publication, join_names(uncaptured));
        // Columns and their types.
        std::vector<pg::Oid> oids;
        for (const auto& c : shape->columns)
            oids.push_back(c.type);
        pg::Catalog catalog(conn);
        auto types = catalog.types(oids);
        if (!types) return refuse("cannot resolve the result's types: " + types.error().message);
        auto columns = std::make_shared<std::vector<Column>>();
        for (std::size_t i = 0; i < shape->columns.size(); ++i)
            columns->push_back({shape->columns[i].name, (*types)[i]});
        // The key: named, or the primary key of a table whose key columns are all selected.
        std::vector<std::size_t> key_indexes;
        if (!req.full && key.empty()) {
            std::vector<pg::Oid> tables;
            for (const auto& c : shape->columns)
                if (c.table && std::find(tables.begin(), tables.end(), c.table) == tables.end())
                    tables.push_back(c.table);
            for (auto t : tables) {
                auto pk = conn.exec("SELECT unnest(conkey) FROM pg_constraint WHERE contype = 'p' "
                                    "AND conrelid = $1::oid",
                                    {std::to_string(t)});
                if (!pk || pk->empty()) continue;
                std::vector<std::size_t> found;
                for (int i = 0; i < pk->size(); ++i) {
                    const int attnum = pk->integer<int>(i, 0).value_or(0);
                    for (std::size_t c = 0; c < shape->columns.size(); ++c)
                        if (shape->columns[c].table == t &&
                            shape->columns[c].table_column == attnum) {
                            found.push_back(c);
                            break;
                        }
                }
                if (found.size() == static_cast<std::size_t>(pk->size())) {
                    key_indexes = std::move(found);
                    break;
                }
            }
            for (auto i : key_indexes)
                key.push_back((*columns)[i].name);
        } else if (!req.full) {
            for (const auto& k : key) {
                auto it = std::find_if(columns->begin(), columns->end(),
                                       [&](const Column& c) { return c.name == k; });
                if (it == columns->end()) {
                    std::vector<std::string> names;
                    for (const auto& c : *columns)
                        names.push_back(c.name);
                    return refuse("key column '" + k + "' is not in the live query's result (" +
                                  join_names(names) + ")");
                }
                key_indexes.push_back(static_cast<std::size_t>(it - columns->begin()));
            }
        }
        if (req.full) key.clear();
        // The hints on tables the statement reads only directly, ANDed with the rules; when
        // together they are refused, the rules alone decide (Request::refresh_hints).
        std::vector<RefreshRule> all = rules;
        for (const auto& hint : req.refresh_hints)
            if (std::any_of(shape->reads.begin(), shape->reads.end(), [&](const auto& read) {
                    return read.schema + "." + read.name == hint.table && !read.indirect;
                }))
                all.push_back(hint);
        lr->hinted = all.size() > rules.size();
        if (!all.empty()) {
            auto refused =
                compile_refresh(conn, catalog, all, *shape, *columns, req.params, settings, *lr);
            if (refused && lr->hinted) {
                log::debug("live query: derived refresh conditions dropped ({})", *refused);
                for (auto& d : lr->deps)
                    d.refresh.reset();
                lr->ref_columns.clear();
                lr->hinted = false;
                refused = rules.empty() ? std::nullopt
                                        : compile_refresh(conn, catalog, rules, *shape, *columns,
                                                          req.params, settings, *lr);
            }
            if (refused) return refuse(*refused);
        }
        lr->share_key = share_key;
        lr->body = body;
        lr->relations = shape->relations;
        lr->digest = analysed_digest(conn, *shape, stamp);
        lr->sql = "SELECT * FROM (\n" + body + "\n) walcast_live_query LIMIT " +
                  std::to_string(settings.max_rows + 1);
        lr->params = req.params;
        lr->identity = req.identity;
        lr->throttle_ms = throttle.value_or(settings.throttle_ms);
        lr->columns = std::move(columns);
        lr->key_names = std::make_shared<const std::vector<std::string>>(key);
        lr->key_indexes = std::move(key_indexes);
        lr->full = req.full;
        lr->dirty = true;
        lr->subs.push_back(state);
        std::lock_guard lock(mu);
        if (auto it = results.find(share_key); it != results.end()) {
            // Subscribed meanwhile by another worker: share that one.
            r = it->second;
            r->subs.push_back(state);
        } else {
            r = lr;
            // The SQL with the result columns of its analysis: after DDL changed them, a new
            // subscription's statement is prepared afresh (the old one would fail "cached plan
            // must not change result type").
            std::string statement_key = r->sql;
            for (const auto& c : *r->columns) {
                statement_key += '\x1f';
                statement_key += c.name;
                statement_key += ':';
                statement_key += std::to_string(c.type.oid);
            }
            if (statement_by_sql.size() >= max_statements &&
                !statement_by_sql.contains(statement_key)) {
                statement_by_sql.clear();
                ++statements_epoch;
            }
            auto [statement, fresh] =
                statement_by_sql.try_emplace(std::move(statement_key), next_number + 1);
            if (fresh) ++next_number;
            r->number = statement->second;
            results.emplace(share_key, r);
            register_deps(r.get());
        }
        ++subscription_count;
        counts_changed();
    }
    done(SubscriptionPtr(std::make_shared<SubscriptionImpl>(weak_from_this(), r, state)));
    std::lock_guard lock(mu);
    state->held = false;
    schedule(r, true);
}

void Engine::Impl::worker() {
    pg::Connection conn;
    std::unordered_set<std::uint64_t> prepared; ///< statements (LiveResult::number) on conn
    std::uint64_t epoch = 0;                    ///< statements_epoch when prepared was filled
    std::unique_lock lock(mu);
    while (!stopping) {
        const auto now = Clock::now();
        while (!timers.empty() && timers.begin()->first <= now) {
            auto r = timers.begin()->second;
            timers.erase(timers.begin());
            r->timer.reset();
            if (r->dirty) schedule(r, true);
        }
        if (!results.empty() && !catalog_checking && now >= next_catalog_check) {
            catalog_checking = true;
            tasks.push_back([this](pg::Connection& c) { check_catalog(c); });
        }
        if (!tasks.empty()) {
            auto task = std::move(tasks.front());
            tasks.pop_front();
            lock.unlock();
            if (!conn.healthy()) prepared.clear();
            task(conn);
            lock.lock();
            continue;
        }
        if (ready.empty()) {
            // A copy: wait_until reads its deadline again after waking, and the timer node it
            // came from may be erased meanwhile (schedule, remove_result) — passing
            // timers.begin()->first itself was a heap use after free under ASan.
            Clock::time_point until =
                timers.empty() ? Clock::time_point::max() : timers.begin()->first;
            if (!results.empty() && !catalog_checking) until = std::min(until, next_catalog_check);
            if (until == Clock::time_point::max())
                cv.wait(lock);
            else
                cv.wait_until(lock, until);
            continue;
        }
        std::vector<LiveResultPtr> batch;
        while (!ready.empty() && batch.size() < settings.max_batch) {
            auto r = std::move(ready.front());
            ready.pop_front();
            r->queued = false;
            if (r->removed) continue;
            r->running = true;
            batch.push_back(std::move(r));
        }
        const capture::Position position = last_commit;
        const bool deallocate = epoch != statements_epoch && !prepared.empty();
        epoch = statements_epoch;
        lock.unlock();
        if (!conn.healthy()) prepared.clear();
        if (deallocate) {
            (void)conn.exec_script("DEALLOCATE ALL"); // a failure: the connection is renewed
            prepared.clear();
        }
        run_batch(conn, prepared, batch, position);
        lock.lock();
        for (auto& r : batch) {
            r->running = false;
            bool waiting = false;
            for (const auto& s : r->subs)
                waiting = waiting || (s->needs_first && !s->held);
            if (r->dirty || (waiting && r->current)) schedule(r, !r->dirty);
        }
    }
}

void Engine::Impl::check_catalog(pg::Connection& conn) {
    std::optional<std::string> stamp;
    if (connect(conn, params)) stamp = catalog_stamp(conn);
    std::vector<LiveResultPtr> all;
    {
        std::lock_guard lock(mu);
        catalog_checking = false;
        next_catalog_check = Clock::now() + std::chrono::milliseconds(settings.catalog_poll_ms);
        if (!stamp || *stamp == catalog_seen) return;
        for (const auto& [k, r] : results)
            all.push_back(r);
    }
    std::vector<pg::Oid> oids;
    for (const auto& r : all)
        oids.insert(oids.end(), r->relations.begin(), r->relations.end());
    std::sort(oids.begin(), oids.end());
    oids.erase(std::unique(oids.begin(), oids.end()), oids.end());
    auto digests = relation_digests(conn, oids);
    if (!digests) return; // the next check tries again
    std::vector<LiveResultPtr> stale;
    {
        std::lock_guard lock(mu);
        catalog_seen = *stamp;
        for (const auto& r : all)
            if (!r->removed && r->digest != combined_digest(r->relations, *digests))
                stale.push_back(r);
    }
    std::unordered_map<std::string, Analysis> analyses; // by statement, for this check
    for (const auto& r : stale)
        reanalyse(conn, r, analyses);
}

void Engine::Impl::reanalyse(pg::Connection& conn, const LiveResultPtr& r,
                             std::unordered_map<std::string, Analysis>& analyses) {
    // One analysis per statement: the results of a named query with different parameters or
    // identities share their SQL, and what it reads does not depend on either.
    auto it = analyses.find(r->body);
    if (it == analyses.end()) {
        Analysis a;
        const auto stamp = catalog_stamp(conn);
        if (auto shape = conn.prepare("", r->body)) {
            auto got = captured_reads(conn, *shape, settings.publication);
            if (got) a.reads = std::move(got).value();
            a.digest = analysed_digest(conn, *shape, stamp);
            a.shape = std::move(shape).value();
        }
        it = analyses.emplace(r->body, std::move(a)).first;
    }
    const Analysis& a = it->second;
    // "" digest when the statement no longer prepares: analysed again at the next change.
    const std::optional<pg::StatementShape>& shape = a.shape;
    bool same_columns = false;
    if (shape) {
        same_columns = shape->columns.size() == r->columns->size();
        for (std::size_t i = 0; same_columns && i < shape->columns.size(); ++i)
            same_columns = shape->columns[i].name == (*r->columns)[i].name &&
                           shape->columns[i].type == (*r->columns)[i].type.oid;
        if (same_columns && !a.reads) { // the publication could not be read: try again later
            std::lock_guard lock(mu);
            catalog_seen.clear();
            return;
        }
    }
    std::optional<Reads> reads;
    if (same_columns) reads = a.reads;
    const std::string& digest = a.digest;
    {
        std::lock_guard lock(mu);
        if (r->removed) return;
        if (r->running) { // left for the next check, which must then look again
            catalog_seen.clear();
            return;
        }
        if (shape) r->relations = shape->relations;
        r->digest = digest;
        if (!shape || reads) {
            if (reads && !reads->deps.empty()) {
                // A table now read through a view or another table's policy keeps no derived
                // condition (Request::refresh_hints): its refresh is dropped, the conservative
                // answer.
                for (auto& d : reads->deps)
                    for (const auto& old : r->deps)
                        if (old.relation == d.relation && !(r->hinted && d.indirect))
                            d.refresh = old.refresh;
                unregister_deps(r.get());
                r->deps = std::move(reads->deps);
                register_deps(r.get());
            }
            r->dirty = true;
            schedule(r, true);
            return;
        }
        remove_result(r); // the result's shape changed: new subscriptions analyse afresh
    }
    deliver(r,
            {std::nullopt,
             LiveError{"dependency_changed",
                       "the live query's result columns changed (a schema change); subscribe "
                       "again to receive results of the new shape"},
             false},
            r->position);
}

void Engine::Impl::run_batch(pg::Connection& conn, std::unordered_set<std::uint64_t>& prepared,
                             std::vector<LiveResultPtr>& batch, capture::Position position) {
    // Take the run's inputs: a result that is not dirty only delivers its current result to
    // subscribers waiting for their first.
    std::vector<LiveResultPtr> run;
    pg::XidList xids;
    {
        std::lock_guard lock(mu);
        for (auto& r : batch) {
            if (!r->dirty && r->current) continue;
            r->dirty = false;
            r->refs_valid = false; // until this run's result is published
            r->last_run = Clock::now();
            for (auto x : r->xids.short_xids)
                xids.add(x, false);
            for (auto x : r->xids.full_xids)
                xids.add(x, true);
            r->xids.clear();
            run.push_back(r);
        }
    }
    for (auto& r : batch)
        if (std::find(run.begin(), run.end(), r) == run.end()) deliver(r, {}, r->position);
    if (run.empty()) return;
    if (!connect(conn, params)) {
        for (auto& r : run)
            deliver(r,
                    {std::nullopt,
                     LiveError{"unavailable", "live queries cannot reach the database"}, false},
                    position);
        return;
    }
    // Prepare what this connection has not prepared yet (once per connection and result).
    std::vector<LiveResultPtr> runnable;
    for (auto& r : run) {
        if (!prepared.contains(r->number)) {
            auto shape = conn.prepare("walcast_lq_" + std::to_string(r->number), r->sql);
            if (!shape) {
                deliver(
                    r,
                    {std::nullopt, error_of(shape.error(), settings.statement_timeout_ms), false},
                    position);
                continue;
            }
            prepared.insert(r->number);
        }
        runnable.push_back(r);
    }
    // Group by identity: one SET LOCAL ROLE + claims per identity.
    std::stable_sort(runnable.begin(), runnable.end(), [](const auto& a, const auto& b) {
        return a->identity->key < b->identity->key;
    });
    xids.sort_unique();
    struct Slot {
        LiveResult* result = nullptr; ///< null: a set-up statement of group `group`
        std::size_t group = 0;
        bool visibility = false;
    };
    std::string script = "BEGIN READ ONLY; SET LOCAL statement_timeout = " +
                         std::to_string(settings.statement_timeout_ms) + "; " +
                         pg::visibility_statement(xids);
    std::vector<Slot> slots{{}, {}, {nullptr, 0, true}};
    std::vector<std::vector<LiveResult*>> groups;
    const core::Identity* current = nullptr;
    for (auto& r : runnable) {
        if (!current || current->key != r->identity->key) {
            current = r->identity.get();
            groups.emplace_back();
            script += " SET LOCAL ROLE " + conn.quote_ident(current->role) +
                      "; SET LOCAL request.jwt.claims TO " +
                      conn.quote_literal(current->claims_json) + ";";
            slots.push_back({nullptr, groups.size() - 1});
            slots.push_back({nullptr, groups.size() - 1});
        }
        groups.back().push_back(r.get());
        script += " EXECUTE walcast_lq_" + std::to_string(r->number);
        if (!r->params.empty()) {
            script += '(';
            for (std::size_t i = 0; i < r->params.size(); ++i) {
                if (i) script += ", ";
                script += r->params[i] ? conn.quote_literal(*r->params[i]) : std::string("NULL");
            }
            script += ')';
        }
        script += ';';
        slots.push_back({r.get(), groups.size() - 1});
    }
    script += " COMMIT";

    auto pause = std::chrono::microseconds(200);
    const auto give_up = Clock::now() + std::chrono::milliseconds(settings.statement_timeout_ms);
    executions.inc(runnable.size());
    for (;;) {
        round_trips.inc();
        auto out = conn.exec_multi(script);
        bool visible = true;
        std::unordered_map<LiveResult*, RunOutcome> outcomes;
        for (std::size_t i = 0; i < out.results.size() && i < slots.size(); ++i) {
            const auto& slot = slots[i];
            const pg::Rows& rows = out.results[i];
            if (slot.visibility) visible = rows.boolean(0, 0).value_or(true);
            if (!slot.result) continue;
            RunOutcome o;
            if (static_cast<std::size_t>(rows.size()) > settings.max_rows) {
                o.error =
                    LiveError{"too_large", "the live query's result has more than "
                                           "LIVE_QUERY_MAX_ROWS (" +
                                               std::to_string(settings.max_rows) +
                                               ") rows; narrow it (WHERE, LIMIT) or raise the "
                                               "setting"};
            } else {
                ResultSet rs;
                rs.columns = slot.result->columns;
                std::size_t bytes = 0;
                rs.rows.reserve(static_cast<std::size_t>(rows.size()));
                for (int row = 0; row < rows.size(); ++row) {
                    Row values;
                    values.reserve(static_cast<std::size_t>(rows.columns()));
                    for (int c = 0; c < rows.columns(); ++c) {
                        auto v = rows.text(row, c);
                        if (v) bytes += v->size();
                        values.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
                    }
                    rs.rows.push_back(std::move(values));
                }
                if (bytes > settings.max_bytes)
                    o.error = LiveError{"too_large", "the live query's result has " +
                                                         std::to_string(bytes) +
                                                         " bytes of values, more than "
                                                         "LIVE_QUERY_MAX_BYTES (" +
                                                         std::to_string(settings.max_bytes) +
                                                         "); narrow it or raise the setting"};
                else
                    o.rows = std::move(rs);
            }
            outcomes[slot.result] = std::move(o);
        }
        if (out.error) {
            if (conn.healthy()) (void)conn.exec_script("ROLLBACK");
            const std::size_t failed = out.results.size();
            const LiveError err = error_of(*out.error, settings.statement_timeout_ms);
            if (out.error->connection_lost || !conn.healthy()) {
                prepared.clear();
                for (auto& r : runnable)
                    if (!outcomes.contains(r.get()))
                        outcomes[r.get()] = RunOutcome{std::nullopt, err, false};
            } else {
                // The statement that failed: a set-up statement of the round (all fail), of an
                // identity (its group fails), or one live query (it fails). The statements
                // after it did not run: their results run again in a later round.
                const Slot* slot = failed < slots.size() ? &slots[failed] : nullptr;
                for (auto& r : runnable) {
                    if (outcomes.contains(r.get())) continue;
                    bool hit = false;
                    if (slot && failed < 3)
                        hit = true;
                    else if (slot && slot->result)
                        hit = slot->result == r.get();
                    else if (slot)
                        hit = std::find(groups[slot->group].begin(), groups[slot->group].end(),
                                        r.get()) != groups[slot->group].end();
                    outcomes[r.get()] = hit ? RunOutcome{std::nullopt, err, false}
                                            : RunOutcome{std::nullopt, std::nullopt, true};
                }
            }
        }
        // Not yet visible: the WAL can reach walcast before the commit is visible to new
        // snapshots. Run again, also when a statement failed: it ran on the snapshot before
        // the change and its error may be one the committed rows no longer cause (a division
        // by a value the change just made non-zero). Only a lost connection ends the wait.
        const bool lost = out.error && (out.error->connection_lost || !conn.healthy());
        if (!visible && !lost && Clock::now() < give_up) {
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::microseconds(20'000));
            continue;
        }
        for (auto& r : runnable) {
            auto it = outcomes.find(r.get());
            if (it == outcomes.end()) continue;
            if (it->second.retry) {
                std::lock_guard lock(mu);
                r->dirty = true;
                for (auto x : xids.short_xids)
                    r->xids.add(x, false);
                for (auto x : xids.full_xids)
                    r->xids.add(x, true);
                continue;
            }
            deliver(r, std::move(it->second), position);
        }
        return;
    }
}

void Engine::Impl::deliver(const LiveResultPtr& r, RunOutcome outcome, capture::Position position) {
    // Runs on the worker that runs r (only one at a time): pushes stay in order per result.
    std::vector<std::shared_ptr<SubscriptionState>> subs;
    {
        std::lock_guard lock(mu);
        for (const auto& s : r->subs)
            if (!s->held) subs.push_back(s);
    }
    if (outcome.error) {
        r->errored = true;
        if (!r->ref_columns.empty()) {
            std::lock_guard lock(mu);
            r->refs_valid = false;
        }
        for (const auto& s : subs)
            if (auto sink = s->sink.lock()) {
                sink->on_error(*outcome.error);
                pushes.inc();
            }
        return;
    }
    position = std::max(position, r->position);
    std::shared_ptr<const Diff> diff;
    bool changed = false;
    if (outcome.rows) {
        auto next = std::make_shared<const ResultSet>(std::move(*outcome.rows));
        changed = !r->current || r->errored || r->current->rows != next->rows;
        if (changed && r->current && !r->errored && !r->full)
            if (auto d = diff_results(r->current->rows, next->rows, r->key_indexes))
                diff = std::make_shared<const Diff>(std::move(*d));
        if (changed || !r->current) r->current = std::move(next);
        r->errored = false;
        if (!r->ref_columns.empty()) publish_ref_values(*r, changed);
    }
    r->position = position;
    if (!r->current) return;
    Update u;
    u.position = position;
    u.position_text = format_position(position);
    u.time_ms = unix_ms_now();
    u.result = r->current;
    u.key = r->key_names;
    for (const auto& s : subs) {
        const bool first = s->needs_first;
        if (!first && !changed) continue;
        auto sink = s->sink.lock();
        if (!sink) continue;
        u.diff = first ? nullptr : diff;
        {
            std::lock_guard lock(mu);
            s->needs_first = false;
        }
        sink->on_update(u);
        pushes.inc();
    }
}

// ---- Engine -----------------------------------------------------------------------------------

Engine::Engine(Settings settings, pg::ConnectParams params,
               std::function<std::string(capture::Position)> format_position,
               MetricsRegistry& registry)
    : impl_(std::make_shared<Impl>(std::move(settings), std::move(params),
                                   std::move(format_position), registry)) {}

Engine::~Engine() {
    stop();
}

Status Engine::start() {
    if (!impl_->settings.queries_dir.empty()) {
        auto named = NamedQueries::load(impl_->settings.queries_dir);
        if (!named) return std::move(named).error();
        impl_->named = std::move(named).value();
    }
    const unsigned n = std::max(1u, impl_->settings.workers);
    for (unsigned i = 0; i < n; ++i)
        impl_->threads.emplace_back([impl = impl_.get()] { impl->worker(); });
    return {};
}

void Engine::stop() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
}

void Engine::subscribe(Request request, std::weak_ptr<Sink> sink,
                       std::function<void(Result<SubscriptionPtr>)> done) {
    std::lock_guard lock(impl_->mu);
    impl_->tasks.push_back([impl = impl_.get(), request = std::move(request),
                            sink = std::move(sink),
                            done = std::move(done)](pg::Connection& conn) mutable {
        impl->do_subscribe(conn, std::move(request), std::move(sink), std::move(done));
    });
    impl_->cv.notify_one();
}

Stats Engine::stats() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->executions.value(), impl_->round_trips.value(), impl_->results.size(),
            impl_->subscription_count};
}

namespace {

/// What an UPDATE changed, worked out once per change for every live result it may touch:
/// the relation's columns by name (sorted), each with whether its value changed. unknown: the
/// old row is not whole (not REPLICA IDENTITY FULL and not trigger capture), so any column may
/// have changed (the conservative answer).
struct ChangedColumns {
    bool unknown = true;
    std::vector<std::pair<std::string_view, bool>> by_name;

    explicit ChangedColumns(const capture::Change& c) {
        if (!c.old_is_full || !c.old_tuple || !c.new_tuple) return;
        unknown = false;
        const auto& columns = c.relation->columns;
        by_name.reserve(columns.size());
        for (std::size_t i = 0; i < columns.size(); ++i) {
            bool changed = true; // a column past either tuple's end: DDL, run to find out
            if (i < c.new_tuple->size() && i < c.old_tuple->size())
                changed = !c.new_tuple->is_unchanged_toast(i) &&
                          (c.new_tuple->state(i) != c.old_tuple->state(i) ||
                           c.new_tuple->text(i) != c.old_tuple->text(i));
            by_name.emplace_back(columns[i].name, changed);
        }
        std::sort(by_name.begin(), by_name.end());
    }

    /// Whether the UPDATE changed a column d reads (d.columns is sorted): one merge of the two
    /// sorted lists. A column the relation no longer has (DDL) counts as changed.
    bool touches(const Dependency& d) const {
        if (unknown || d.whole_row) return true;
        auto it = by_name.begin();
        for (const auto& name : d.columns) {
            while (it != by_name.end() && it->first < name)
                ++it;
            if (it == by_name.end() || it->first != name || it->second) return true;
        }
        return false;
    }
};

/// Whether r's refresh conditions f on the change's table hold on its old or new row. A row
/// that does not carry a value the conditions need (a key-only old row, an unchanged TOAST
/// value, a column dropped since subscribe) counts as holding, and so do `:result/`
/// references from the moment a run of r is asked for until its result is published, and
/// after a failed run (the last result may be older than the change): the conservative
/// answers. A published result was read on a snapshot; a change committed before it is in
/// the result, one committed after is judged against it, which is right either way. Under
/// Engine::Impl::mu, on the source's thread.
bool refresh_holds(const Refresh& f, const LiveResult& r, const capture::Change& c) {
    const capture::Relation& rel = *c.relation;
    const std::vector<int>& at = f.positions_in(c.relation);
    const bool refs_known = r.refs_valid && !r.queued && !r.dirty && !r.timer;
    auto holds = [&](const pg::Tuple& t, bool full) {
        for (const int i : at)
            if (i < 0 || static_cast<std::size_t>(i) >= t.size() ||
                t.is_unchanged_toast(static_cast<std::size_t>(i)) ||
                (!full && !rel.columns[static_cast<std::size_t>(i)].is_identity_key))
                return true;
        if (!f.filter.empty() &&
            !f.filter.matches(rel, t, full ? core::TupleScope::Full : core::TupleScope::KeyOnly))
            return false;
        if (!refs_known) return true;
        for (const auto& ref : f.refs) {
            const auto i = static_cast<std::size_t>(at[ref.at]);
            const auto& values = r.ref_values[ref.slot];
            if (t.is_null(i) || !values || !values->contains(t.text(i))) return false;
        }
        return true;
    };
    // An UPDATE without an old row kept its replica identity key: when the conditions name
    // only key columns, the old row's values are the new row's.
    auto only_key_columns = [&] {
        return std::all_of(at.begin(), at.end(), [&](int i) {
            return i >= 0 && rel.columns[static_cast<std::size_t>(i)].is_identity_key;
        });
    };
    switch (c.kind) {
    case capture::ChangeKind::Insert:
        return !c.new_tuple || holds(*c.new_tuple, true);
    case capture::ChangeKind::Delete:
        return !c.old_tuple || holds(*c.old_tuple, c.old_is_full);
    case capture::ChangeKind::Update:
        if (!c.new_tuple || holds(*c.new_tuple, true)) return true;
        return c.old_tuple ? holds(*c.old_tuple, c.old_is_full) : !only_key_columns();
    case capture::ChangeKind::Truncate:
        return true;
    }
    return true;
}

} // namespace

void Engine::on_change(const capture::ChangePtr& change) {
    auto& m = *impl_;
    std::lock_guard lock(m.mu);
    if (m.by_relation.empty()) return;
    // change: null for a TRUNCATE (every result reading the table runs again).
    auto touch = [&](pg::Oid oid, const capture::Change* change) {
        auto it = m.by_relation.find(oid);
        if (it == m.by_relation.end()) return;
        std::optional<ChangedColumns> changed; // once per change, for every result it touches
        auto test = [&](LiveResult* r) {
            if (r->touched_in == m.txn_counter + 1) return;
            const Dependency* dep = nullptr;
            for (const auto& d : r->deps)
                if (d.relation == oid) dep = &d;
            if (dep && change) {
                if (change->kind == capture::ChangeKind::Update) {
                    if (!changed) changed.emplace(*change);
                    if (!changed->touches(*dep)) return;
                }
                if (dep->refresh && !refresh_holds(*dep->refresh, *r, *change)) return;
            }
            r->touched_in = m.txn_counter + 1;
            m.touched.push_back(m.results.at(r->share_key));
        };
        // Only the results whose indexed condition (column = value) the row's values can meet,
        // when the change carries every indexed column's value in each row it has; else all.
        auto eq = m.equality.find(oid);
        std::vector<const std::vector<LiveResult*>*> lists;
        bool narrowed = change && change->relation && eq != m.equality.end();
        if (narrowed) {
            const capture::Relation& rel = *change->relation;
            lists.push_back(&eq->second.unindexed);
            for (const auto& [column, values] : eq->second.by_value) {
                const int i = rel.column_index(column);
                if (i < 0) {
                    narrowed = false;
                    break;
                }
                const auto at = static_cast<std::size_t>(i);
                auto lookup = [&](const pg::Tuple* t, bool full) {
                    if (!t) return true; // no such row version: nothing to look up
                    if (at >= t->size() || t->is_unchanged_toast(at) ||
                        (!full && !rel.columns[at].is_identity_key))
                        return false;                // the value is unknown: test every result
                    if (t->is_null(at)) return true; // NULL equals nothing
                    auto v = canonical_value(rel.columns[at].type, t->text(at));
                    if (!v) return false;
                    if (auto found = values.find(*v); found != values.end())
                        lists.push_back(&found->second);
                    return true;
                };
                const pg::Tuple* old_row =
                    change->kind == capture::ChangeKind::Insert || !change->old_tuple
                        ? nullptr
                        : &*change->old_tuple;
                const bool old_known =
                    change->kind == capture::ChangeKind::Update && !change->old_tuple
                        ? rel.columns[at].is_identity_key // the key is unchanged: the new row's
                        : lookup(old_row, change->old_is_full);
                const pg::Tuple* new_row =
                    change->kind == capture::ChangeKind::Delete || !change->new_tuple
                        ? nullptr
                        : &*change->new_tuple;
                if (!old_known || !lookup(new_row, true)) {
                    narrowed = false;
                    break;
                }
            }
        }
        if (!narrowed) {
            for (LiveResult* r : it->second)
                test(r);
            return;
        }
        for (const auto* list : lists)
            for (LiveResult* r : *list)
                test(r);
    };
    if (change->kind == capture::ChangeKind::Truncate) {
        for (const auto& rel : change->truncated)
            if (rel) touch(rel->oid, nullptr);
        return;
    }
    if (!change->relation) return;
    touch(change->relation->oid, change.get());
}

void Engine::on_commit(const capture::TransactionInfo& txn, capture::Position end) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        ++m.txn_counter;
        m.last_commit = std::max(m.last_commit, txn.commit_position);
        for (auto& r : m.touched) {
            if (r->removed) continue;
            m.triggered.inc();
            r->dirty = true;
            r->xids.add(txn.xid, txn.xid_has_epoch);
            m.schedule(r);
        }
        m.touched.clear();
    }
    confirm_(end);
}

void Engine::on_stream_state(bool up, const std::string& /*reason*/) {
    auto& m = *impl_;
    std::lock_guard lock(m.mu);
    if (!up) {
        m.stream_was_down = true;
        return;
    }
    if (!m.stream_was_down) return;
    m.stream_was_down = false;
    // Changes may have been missed while the stream was down: every live result runs again.
    for (auto& [k, r] : m.results) {
        r->dirty = true;
        m.schedule(r);
    }
}

void Engine::on_gap(const capture::Gap& gap) {
    if (gap.open()) return;
    auto& m = *impl_;
    std::lock_guard lock(m.mu);
    for (auto& [k, r] : m.results) {
        r->dirty = true;
        m.schedule(r);
    }
}

} // namespace walcast::livequery
