// livequery::Engine: live SQL queries on the change stream (issue 13). A live query is one
// SELECT with positional parameters, run as its subscriber's JWT role and claims (SET LOCAL ROLE
// + request.jwt.claims, as row-level security checks) in a READ ONLY transaction with a
// statement timeout; the engine finds what it reads at subscribe (pg::Connection::prepare:
// relations and columns, views resolved to their base tables), and, as one more consumer of
// capture::ChangeFanout, runs it again only when a committed change touches that (an INSERT or
// DELETE on a used table, an UPDATE that changed a used column where the old row is known),
// throttled per result (leading + trailing edge). It pushes the first result, then only when the
// result changed: a diff keyed by the result's key columns, or the full result. Every push
// carries the commit position it reflects (never backwards per subscription). Results are
// shared only between subscriptions with the same SQL, parameters, identity and options.
//
// Front ends: the Phoenix channel feature (protocol/phoenix/live_query_feature, realtime-js
// `config.broadcast.live_query`), and any other (GraphQL subscriptions: Request::trusted).
// docs/livequery.md has the message shapes.
#pragma once

#include "capture/change_fanout.hpp"
#include "capture/change_sink.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "core/filter/condition.hpp"
#include "core/identity.hpp"
#include "livequery/named_queries.hpp"
#include "pg/connection.hpp"
#include "pg/pg_type.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::livequery {

/// The engine's settings (Config: LIVE_*).
struct Settings {
    std::string publication = "supabase_realtime"; ///< what "captured" means (PUBLICATION)
    std::filesystem::path queries_dir;             ///< LIVE_QUERIES_DIR: named queries; "" none
    std::vector<std::string> sql_roles{"service_role"}; ///< LIVE_SQL_ROLES: may send raw SQL
    std::uint32_t throttle_ms = 500;           ///< default throttle window (per request override)
    std::uint32_t statement_timeout_ms = 5000; ///< LIVE_QUERY_TIMEOUT_MS
    std::size_t max_rows = 10'000;             ///< LIVE_QUERY_MAX_ROWS: larger results refused
    std::size_t max_bytes = 8 * 1024 * 1024;   ///< LIVE_QUERY_MAX_BYTES: sum of value bytes
    unsigned workers = 2;                      ///< LIVE_QUERY_POOL_SIZE: database connections
    std::size_t max_batch = 64;                ///< live results run in one round trip
    /// LIVE_QUERY_MAX_SUBSCRIPTIONS: subscriptions at once, of every front end; past it
    /// subscribe() refuses (checked before the analysis, so concurrent subscribes on the
    /// workers may pass it by at most LIVE_QUERY_POOL_SIZE - 1). 0 = no limit. The anon key is
    /// public: this bounds what every anon client together can make walcast hold and run.
    std::uint64_t max_subscriptions = 100'000;
    /// How often the catalog is checked for schema changes while live results exist
    /// (Engine: re-analysis of the statements analysed against an older catalog).
    std::uint32_t catalog_poll_ms = 2000;
    /// The grammar of refresh conditions: the Postgres Changes filter parser
    /// (protocol::supabase::parse_filter, which the app passes in: livequery knows no protocol
    /// text). Its errors are sent to the subscriber unchanged. Unset: refresh conditions are
    /// refused.
    std::function<Result<std::vector<core::FilterCondition>>(std::string_view)> parse_filter;
};

/// What a subscriber asks for.
struct Request {
    std::string name; ///< a named query of LIVE_QUERIES_DIR ("" = sql)
    std::string sql;  ///< raw SQL (roles of LIVE_SQL_ROLES, or trusted)
    std::vector<std::optional<std::string>> params; ///< $1, $2, … as text (nullopt = NULL)
    core::IdentityPtr identity;                     ///< whose role and claims it runs as
    std::optional<std::uint32_t> throttle_ms;       ///< nullopt = the query's or the default
    /// Key columns of the result for diffs; empty = the primary key of a table whose key
    /// columns are all plain columns of the select list (else full results).
    std::vector<std::string> key;
    bool full = false; ///< always push the full result, never a diff
    /// Refresh conditions (RefreshRule), ANDed per table with the named query's own.
    std::vector<RefreshRule> refresh;
    /// Refresh conditions the caller derived from a statement it built (a GraphQL
    /// subscription's root filter), which every row the statement reads from that table
    /// satisfies. ANDed with the others like `refresh`, but one that cannot apply is dropped,
    /// never refused: a table read (also) through a view or another table's policy (its other
    /// rows obey no such condition), one outside the publication, too many conditions. Dropped
    /// means every change to the table counts: the conservative answer.
    std::vector<RefreshRule> refresh_hints;
    /// The SQL was built by walcast (a GraphQL subscription), not sent by the subscriber:
    /// LIVE_SQL_ROLES does not apply.
    bool trusted = false;
};

/// One result column: its name and type (pg_type.typname in type.name).
struct Column {
    std::string name;
    pg::PgType type;
};

/// A row's values as Postgres text output (nullopt = NULL), in column order.
using Row = std::vector<std::optional<std::string>>;

/// A result: immutable once published, shared by every push that carries it.
struct ResultSet {
    std::shared_ptr<const std::vector<Column>> columns;
    std::vector<Row> rows; ///< in the query's order
};

/// The change from one result to the next, keyed by the key columns. Applying it to the
/// previous rows reproduces the new rows: drop the rows whose key is in `deleted`, replace the
/// rows whose key matches a row of `updated`, append `inserted` in order; then, when `order`
/// is set, arrange the rows in that key order.
struct Diff {
    std::vector<Row> inserted; ///< whole rows
    std::vector<Row> updated;  ///< whole rows (new values)
    std::vector<Row> deleted;  ///< key values only, in key-column order
    std::optional<std::vector<Row>>
        order; ///< every key of the new result, when the rule's order differs
};

/// One push to a subscriber.
struct Update {
    capture::Position position;              ///< the commit position the result reflects (at least)
    std::string position_text;               ///< as the source prints it ("0/16B3F28")
    std::int64_t time_ms = 0;                ///< when the result was read (Unix ms)
    std::shared_ptr<const ResultSet> result; ///< always the whole current result
    std::shared_ptr<const Diff> diff;        ///< null: send the whole result (first, or full)
    std::shared_ptr<const std::vector<std::string>> key; ///< key column names; empty: none
};

/// An error of one subscription (the subscription stays until it is dropped).
struct LiveError {
    /// query_error (the SQL failed), timeout, permission_denied, too_large,
    /// dependency_changed (DDL), unavailable (database unreachable).
    std::string code;
    std::string message; ///< names the cause and, where there is one, the fix
};

/// Where a subscription's pushes go. Called from the engine's workers, one call at a time per
/// subscription and in order; must not block.
class Sink {
public:
    virtual ~Sink() = default;
    virtual void on_update(const Update& update) = 0;
    virtual void on_error(const LiveError& error) = 0;
};

/// A subscription; dropping the last reference unsubscribes (no sink call starts afterwards,
/// one in progress may finish).
class Subscription {
public:
    virtual ~Subscription() = default;
    /// Columns of the result and its key (empty: full results). Any thread.
    virtual const std::vector<Column>& columns() const = 0;
    virtual const std::vector<std::string>& key() const = 0;
};
using SubscriptionPtr = std::shared_ptr<Subscription>;

/// Counters for tests and /metrics.
struct Stats {
    std::uint64_t executions = 0;  ///< live-query statements run
    std::uint64_t round_trips = 0; ///< run transactions
    std::uint64_t results = 0;     ///< distinct live results now
    std::uint64_t subscriptions = 0;
};

class Engine final : public capture::ChangeSink {
public:
    /// format_position: the source's printer (capture::Source::format_position). registry:
    /// the engine's metrics (walcast_live_query_*).
    Engine(Settings settings, pg::ConnectParams params,
           std::function<std::string(capture::Position)> format_position,
           MetricsRegistry& registry);
    ~Engine() override;

    /// Loads the named queries (errors name the file) and starts the workers. Once.
    Status start();
    /// Stops the workers (a run in progress finishes). Idempotent.
    void stop();
    /// The fan-out handle (confirms each commit at once: results are read from the database,
    /// the stream is never held back). Before the source starts.
    void set_confirm(capture::ConfirmHandle confirm) { confirm_ = confirm; }

    /// Subscribes: checks the request (named query or allowed raw SQL, parameters), analyses
    /// the statement, registers what it reads — then calls done with the subscription, before
    /// the first result is pushed to sink (a change committed after done is reflected in a
    /// later push). done gets the refusal instead (its message names the setting or fix: the
    /// query reads nothing walcast captures, raw SQL for a role not in LIVE_SQL_ROLES, …).
    /// Never blocks; done runs on a worker thread.
    void subscribe(Request request, std::weak_ptr<Sink> sink,
                   std::function<void(Result<SubscriptionPtr>)> done);

    Stats stats() const;

    // capture::ChangeSink (the source's thread)
    void on_change(const capture::ChangePtr& change) override;
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override;
    void on_stream_state(bool up, const std::string& reason) override;
    void on_gap(const capture::Gap& gap) override;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
    capture::ConfirmHandle confirm_;
};

/// The keyed diff from `before` to `after` (see Diff), or nullopt when a key is not unique in
/// either result (then the whole result is sent). key_columns: indexes into the rows. Pure.
std::optional<Diff> diff_results(const std::vector<Row>& before, const std::vector<Row>& after,
                                 const std::vector<std::size_t>& key_columns);

/// Appends the JSON of one push's payload: `{"position","at","columns","key","rows"}` for a
/// whole result, `{"position","at","key","inserted","updated","deleted"[,"order"]}` for a diff
/// (rows as objects by column name, values as Postgres Changes renders them). Pure.
void append_update_json(std::string& out, const Update& update);

/// Appends `[{"name":"id","type":"int4"},…]` (type = pg_type.typname). Pure.
void append_columns_json(std::string& out, const std::vector<Column>& columns);

/// Appends `["a","b"]`. Pure.
void append_names_json(std::string& out, const std::vector<std::string>& names);

/// Appends `{"code","message"}`. Pure.
void append_error_json(std::string& out, const LiveError& error);

} // namespace walcast::livequery
