#include "core/authorization/pg_row_checker.hpp"

#include "common/logging.hpp"
#include "pg/xid_visibility.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace walcast::core {

namespace {

// A PostgreSQL array literal element, always quoted: "a\"b" (array_in rules).
void append_array_element(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

// "SELECT k.n FROM unnest(<keys>) WITH ORDINALITY AS k(c0, …, n), LATERAL (SELECT 1 FROM t
// WHERE t.pk = k.c0 … LIMIT 1) hit": the ordinals of the keys whose row the current role may
// see. The LATERAL … LIMIT 1 keeps the planner from turning the lookup into a hash join over a
// scan of the whole table (which would run the policy on every row): one index probe per key.
// Returns "" when a key value is missing (the row cannot be checked).
std::string visibility_query(const pg::Connection& conn, const capture::Relation& rel,
                             const PrimaryKey& pk, const std::vector<const pg::Tuple*>& rows) {
    std::string arrays, aliases, join;
    for (std::size_t j = 0; j < pk.columns.size(); ++j) {
        int col = rel.column_index(pk.columns[j]);
        if (col < 0) return "";
        std::string lit = "{";
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const auto& t = *rows[i];
            if (static_cast<std::size_t>(col) >= t.size() ||
                t.state(static_cast<std::size_t>(col)) != pg::ValueState::Text)
                return "";
            if (i) lit += ',';
            append_array_element(lit, t.text(static_cast<std::size_t>(col)));
        }
        lit += '}';
        if (j) {
            arrays += ", ";
            aliases += ", ";
            join += " AND ";
        }
        arrays += conn.quote_literal(lit) + "::" + pk.type_names[j] + "[]";
        aliases += "c" + std::to_string(j);
        join += "t." + conn.quote_ident(pk.columns[j]) + " = k.c" + std::to_string(j);
    }
    return "SELECT k.n FROM unnest(" + arrays + ") WITH ORDINALITY AS k(" + aliases +
           ", n), LATERAL (SELECT 1 FROM " + conn.quote_ident(rel.schema) + "." +
           conn.quote_ident(rel.table) + " t WHERE " + join + " LIMIT 1) hit";
}

// What each statement of a round that returns rows answers, in order.
struct Expect {
    enum class What : unsigned char { Visibility, Claims, Probe, Exists };
    What what;
    RowCheckRequest* request = nullptr;
    std::vector<std::size_t> rows; ///< Probe: the request's rows in key order; Exists: one
};

} // namespace

RowCheckMetrics::RowCheckMetrics(MetricsRegistry& metrics)
    : checks(metrics.counter("walcast_rls_checks_total",
                             "row-level security check statements (one per identity, table and "
                             "batch of changes)")),
      round_trips(metrics.counter("walcast_rls_round_trips_total",
                                  "row-level security check transactions, one round trip each")),
      reconnects(metrics.counter("walcast_rls_reconnects_total",
                                 "row-level security check rounds run again on a new connection "
                                 "after theirs was lost (e.g. Postgres restarted)")) {}

PgRowChecker::PgRowChecker(pg::ConnectParams params, Statements statements, AccessCache& access,
                           std::uint32_t timeout_ms, RowCheckMetrics& metrics,
                           std::chrono::milliseconds reconnect_window,
                           const std::atomic<bool>* stopping)
    : params_(std::move(params)), statements_(statements), access_(access), timeout_ms_(timeout_ms),
      metrics_(metrics), reconnect_window_(reconnect_window), stopping_(stopping) {}

void PgRowChecker::pause_for(std::chrono::milliseconds d) const {
    // Retry pacing against a database that is down, in slices so that shutdown ends it.
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stopping() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds(20)));
}

bool PgRowChecker::connect() {
    // (Re)connect with a short backoff; check() keeps trying for reconnect_window_, then a
    // database that stays down turns the round into error rows rather than withholding it.
    for (int attempt = 0; !conn_.healthy() && attempt < 5 && !stopping(); ++attempt) {
        auto c = pg::Connection::connect(params_);
        if (c) {
            conn_ = std::move(c).value();
            break;
        }
        log::warn("row-level security checks: {}", c.error().message);
        pause_for(std::chrono::milliseconds(100 << attempt));
    }
    return conn_.healthy();
}

RowChecker::Round PgRowChecker::check(std::span<RowCheckRequest*> requests) {
    // A lost connection (Postgres restarted, the backend was terminated) is transient: drop it,
    // reconnect and run the whole round again. Only a statement's own error (a raising policy)
    // or the timeout is the round's answer.
    const auto give_up = std::chrono::steady_clock::now() + reconnect_window_;
    auto pause = std::chrono::milliseconds(50);
    for (;;) {
        auto round = check_once(requests);
        if (round.status != Status::Unreachable || stopping() ||
            std::chrono::steady_clock::now() >= give_up)
            return round;
        log::warn("row-level security checks: {}; reconnecting and running the check again",
                  round.error);
        conn_ = pg::Connection{};
        metrics_.reconnects.inc();
        pause_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
}

RowChecker::Round PgRowChecker::check_once(std::span<RowCheckRequest*> requests) {
    for (auto* r : requests)
        r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
    if (!connect())
        return {Status::Unreachable, "row-level security checks cannot reach the database"};

    // Statements per request; a request whose rows cannot be checked at all stays Failed.
    PgAccessSource source(conn_);
    // The changes' transactions must be visible to the checks (pg::visibility_statement).
    pg::XidList xids;
    std::vector<Expect> expect{{Expect::What::Visibility}};
    std::string body;
    std::size_t statements = 0;
    for (auto* req : requests) {
        const std::string role_and_claims =
            "SET LOCAL ROLE " + conn_.quote_ident(req->identity->role) +
            "; SELECT set_config('request.jwt.claims', " +
            conn_.quote_literal(req->identity->claims_json) + ", true);";
        if (statements_ == Statements::ExistsPerRow) {
            for (std::size_t i = 0; i < req->rows.size(); ++i) {
                const RowVersion& v = req->rows[i];
                const auto& rel = *v.relation;
                auto pk = access_.primary_key(source, rel.oid);
                std::string where;
                if (pk && !(*pk)->columns.empty() && v.values) {
                    for (std::size_t j = 0; j < (*pk)->columns.size(); ++j) {
                        int col = rel.column_index((*pk)->columns[j]);
                        if (col < 0 || static_cast<std::size_t>(col) >= v.values->size() ||
                            v.values->state(static_cast<std::size_t>(col)) !=
                                pg::ValueState::Text) {
                            where.clear(); // the key is not in the change
                            break;
                        }
                        if (j) where += " AND ";
                        where +=
                            conn_.quote_ident((*pk)->columns[j]) + " = " +
                            conn_.quote_literal(v.values->text(static_cast<std::size_t>(col))) +
                            "::" + (*pk)->type_names[j];
                    }
                }
                if (where.empty()) continue;
                if (v.txn) xids.add(v.txn->xid, v.txn->xid_has_epoch);
                body += role_and_claims + " SELECT EXISTS (SELECT 1 FROM " +
                        conn_.quote_ident(rel.schema) + "." + conn_.quote_ident(rel.table) +
                        " WHERE " + where + "); RESET ROLE;";
                expect.push_back({Expect::What::Claims, req, {}});
                expect.push_back({Expect::What::Exists, req, {i}});
                ++statements;
            }
            continue;
        }
        // KeyProbe: the request's rows grouped by Relation object (a new one after ALTER TABLE
        // is its own group), one statement per group.
        std::vector<std::pair<const capture::Relation*, std::vector<std::size_t>>> groups;
        for (std::size_t i = 0; i < req->rows.size(); ++i) {
            const capture::Relation* rel = req->rows[i].relation;
            auto g = std::find_if(groups.begin(), groups.end(),
                                  [&](const auto& x) { return x.first == rel; });
            if (g == groups.end()) {
                groups.push_back({rel, {}});
                g = groups.end() - 1;
            }
            g->second.push_back(i);
        }
        std::string mine = role_and_claims;
        std::vector<Expect> mine_expect{{Expect::What::Claims, req, {}}};
        std::string error;
        for (const auto& [rel, rows] : groups) {
            auto pk = access_.primary_key(source, rel->oid);
            if (!pk) {
                error = pk.error().message;
                break;
            }
            std::vector<const pg::Tuple*> tuples;
            for (auto i : rows)
                tuples.push_back(req->rows[i].values);
            bool have_all = true;
            for (auto* t : tuples)
                have_all = have_all && t != nullptr;
            std::string select = (*pk)->columns.empty() || !have_all
                                     ? std::string()
                                     : visibility_query(conn_, *rel, **pk, tuples);
            if (select.empty()) {
                error = "cannot build the primary-key lookup for " + rel->schema + "." + rel->table;
                break;
            }
            mine += select + ";";
            mine_expect.push_back({Expect::What::Probe, req, rows});
        }
        if (!error.empty()) {
            log::warn("row-level security check for role {}: {}", req->identity->role, error);
            continue;
        }
        for (const auto& v : req->rows)
            if (v.txn) xids.add(v.txn->xid, v.txn->xid_has_epoch);
        body += mine;
        statements += groups.size();
        expect.insert(expect.end(), std::make_move_iterator(mine_expect.begin()),
                      std::make_move_iterator(mine_expect.end()));
    }
    // A primary-key lookup above may have found the connection dead (Postgres restarted since
    // the last round): that is not the rows' fault — check() reconnects and runs it again.
    if (!conn_.healthy()) return {Status::Unreachable, "the connection to the database was lost"};
    if (expect.size() == 1) return {}; // nothing to ask: every row stays Failed
    xids.sort_unique();
    const std::string script =
        "BEGIN READ ONLY; SET LOCAL statement_timeout = " + std::to_string(timeout_ms_) + ";" +
        pg::visibility_statement(xids) + body + "COMMIT";

    // The visibility window is microseconds; wait with a growing pause, bounded by the check
    // timeout.
    auto pause = std::chrono::microseconds(200);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    for (;;) {
        metrics_.checks.inc(statements);
        metrics_.round_trips.inc();
        auto results = conn_.exec_multi(script);
        bool not_visible_yet = false;
        std::size_t k = 0;
        for (const pg::Rows& rows : results.results) {
            if (!rows.returns_tuples()) continue;
            if (k >= expect.size()) break;
            const Expect& e = expect[k++];
            switch (e.what) {
            case Expect::What::Visibility:
                not_visible_yet = rows.size() == 1 && rows.boolean(0, 0) == false;
                break;
            case Expect::What::Claims:
                break;
            case Expect::What::Probe: {
                // The rows are the 1-based ordinals of the visible keys.
                for (auto i : e.rows)
                    e.request->verdicts[i] = RowVerdict::Hidden;
                for (int r = 0; r < rows.size(); ++r) {
                    const auto n = rows.integer<std::size_t>(r, 0).value_or(0);
                    if (n >= 1 && n <= e.rows.size())
                        e.request->verdicts[e.rows[n - 1]] = RowVerdict::Visible;
                }
                break;
            }
            case Expect::What::Exists:
                e.request->verdicts[e.rows.front()] =
                    rows.boolean(0, 0) == true ? RowVerdict::Visible : RowVerdict::Hidden;
                break;
            }
        }
        if (!results) {
            const pg::PgError& err = *results.error;
            // The explicit transaction is aborted; end it so the connection is reusable.
            if (conn_.healthy()) (void)conn_.exec_script("ROLLBACK");
            if (err.connection_lost || !conn_.healthy())
                return {Status::Unreachable, err.describe()};
            if (err.is(pg::sqlstate::query_canceled)) return {Status::TimedOut, err.describe()};
            // The verdicts of the statements that ran before the failing one stay set.
            return {Status::Failed, err.describe()};
        }
        if (!not_visible_yet) return {};
        for (auto* r : requests)
            std::fill(r->verdicts.begin(), r->verdicts.end(), RowVerdict::Failed);
        if (std::chrono::steady_clock::now() >= give_up)
            return {Status::TimedOut,
                    "the changed rows' transactions did not become visible in time"};
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20'000));
    }
}

} // namespace walcast::core
