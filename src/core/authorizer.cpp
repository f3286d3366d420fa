#include "core/authorizer.hpp"

#include "common/logging.hpp"

#include <algorithm>
#include <chrono>

namespace walcast::core {

namespace {

enum class Verdict : std::uint8_t { Failed, Hidden, Visible };

// A PostgreSQL array literal element, always quoted: "a\"b" (array_in rules).
void append_array_element(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

// The first statement of a check transaction: are the changes' transactions visible to a
// snapshot taken now? A walsender can decode a commit before the committing backend has left
// the ProcArray, so a check run at once could judge the previous version of the row (an
// allowed INSERT withheld, an UPDATE judged by its old row). Each later statement of the READ
// COMMITTED transaction takes a newer snapshot, so "visible here" means visible to the checks.
// pgoutput's xids are 32-bit; their epoch comes from the snapshot's xmax (an xid above xmax's
// low half belongs to the previous epoch). A source that knows the full xid8 passes it as is.
struct XidList {
    std::vector<std::uint64_t> short_xids; ///< 32-bit, epoch unknown
    std::vector<std::uint64_t> full_xids;  ///< xid8
    void add(const capture::TransactionInfo& t) {
        (t.xid_has_epoch ? full_xids : short_xids).push_back(t.xid);
    }
    void sort_unique() {
        for (auto* v : {&short_xids, &full_xids}) {
            std::sort(v->begin(), v->end());
            v->erase(std::unique(v->begin(), v->end()), v->end());
        }
    }
};

std::string bigint_array(const std::vector<std::uint64_t>& xs) {
    std::string list = "{";
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (i) list += ',';
        list += std::to_string(xs[i]);
    }
    list += '}';
    return list;
}

std::string visibility_statement(const XidList& xids) {
    std::string sql = "SELECT coalesce(bool_and(pg_visible_in_snapshot(((("
                      "(pg_snapshot_xmax(s)::text::bigint >> 32) - (x > "
                      "(pg_snapshot_xmax(s)::text::bigint & 4294967295))::int) << 32) | "
                      "x)::text::xid8, s)), true) FROM pg_current_snapshot() s, unnest('" +
                      bigint_array(xids.short_xids) + "'::bigint[]) x";
    if (xids.full_xids.empty()) return sql + ";";
    return "SELECT (" + sql +
           ") AND (SELECT coalesce(bool_and(pg_visible_in_snapshot(x::text::xid8, "
           "s)), true) FROM pg_current_snapshot() s, unnest('" +
           bigint_array(xids.full_xids) + "'::bigint[]) x);";
}

// "SELECT k.n FROM unnest(<keys>) WITH ORDINALITY AS k(c0, …, n), LATERAL (SELECT 1 FROM t
// WHERE t.pk = k.c0 … LIMIT 1) hit": the ordinals of the keys whose row the current role may
// see. The LATERAL … LIMIT 1 keeps the planner from turning the lookup into a hash join over a
// scan of the whole table (which would run the policy on every row): one index probe per key.
// Returns "" when a key value is missing (the row cannot be checked).
std::string visibility_query(const pg::Connection& conn, const capture::Relation& rel,
                             const PrimaryKey& pk,
                             const std::vector<const capture::Change*>& changes) {
    std::string arrays, aliases, join;
    for (std::size_t j = 0; j < pk.columns.size(); ++j) {
        int col = rel.column_index(pk.columns[j]);
        if (col < 0) return "";
        std::string lit = "{";
        for (std::size_t i = 0; i < changes.size(); ++i) {
            const auto& t = *changes[i]->new_tuple;
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

} // namespace

/// One identity's items taken by a worker, and what the check made of them.
struct Authorizer::Batch {
    std::string key;
    IdentityPtr identity;
    std::vector<AuthWork> items;
    /// Distinct changes in order of first appearance, each with its verdict.
    std::vector<const ChangePayloads*> changes;
    std::vector<Verdict> verdicts;
    /// Per table (Relation object: a new one after ALTER TABLE is its own group) the indices
    /// into changes, and the statement checking them.
    struct Group {
        const capture::Relation* relation;
        std::vector<std::size_t> changes;
        std::string select;
    };
    std::vector<Group> groups;
    std::string error; ///< why the statements could not be built (then every verdict fails)

    void prepare(const pg::Connection& conn, AccessCache& access) {
        std::unordered_map<const ChangePayloads*, std::size_t> index;
        for (const auto& w : items)
            if (index.emplace(w.payloads.get(), changes.size()).second)
                changes.push_back(w.payloads.get());
        verdicts.assign(changes.size(), Verdict::Failed);
        for (std::size_t i = 0; i < changes.size(); ++i) {
            const capture::Relation* rel = changes[i]->change().relation.get();
            auto g = std::find_if(groups.begin(), groups.end(),
                                  [&](const Group& x) { return x.relation == rel; });
            if (g == groups.end()) {
                groups.push_back({rel, {}, {}});
                g = groups.end() - 1;
            }
            g->changes.push_back(i);
        }
        for (auto& g : groups) {
            auto pk = access.primary_key(conn, g.relation->oid);
            if (!pk) {
                error = pk.error().message;
                return;
            }
            std::vector<const capture::Change*> cs;
            for (auto i : g.changes)
                cs.push_back(&changes[i]->change());
            g.select = (*pk)->columns.empty() ? std::string()
                                              : visibility_query(conn, *g.relation, **pk, cs);
            if (g.select.empty()) {
                error = "cannot build the primary-key lookup for " + g.relation->schema + "." +
                        g.relation->table;
                return;
            }
        }
    }

    void add_xids(XidList& out) const {
        for (const auto* c : changes)
            out.add(c->change().txn);
    }

    /// Sets the verdicts from a check: per group, visible[k] for its k-th change.
    void apply(const std::vector<std::vector<bool>>& visible) {
        for (std::size_t g = 0; g < groups.size(); ++g)
            for (std::size_t k = 0; k < groups[g].changes.size(); ++k)
                verdicts[groups[g].changes[k]] = visible[g][k] ? Verdict::Visible : Verdict::Hidden;
    }

    /// This identity's part of a check transaction: role, claims, one SELECT per table.
    void append_statements(const pg::Connection& conn, std::string& script) const {
        script += "SET LOCAL ROLE " + conn.quote_ident(identity->role) +
                  "; SELECT set_config('request.jwt.claims', " +
                  conn.quote_literal(identity->claims_json) + ", true);";
        for (const auto& g : groups)
            script += g.select + ";";
    }
};

Authorizer::Authorizer(pg::ConnectParams params, AuthorizerOptions options, AccessCache& access,
                       CommitTracker& tracker, std::function<void(capture::Position)> confirm,
                       MetricsRegistry& metrics)
    : params_(std::move(params)), options_(options), access_(access), tracker_(tracker),
      confirm_(std::move(confirm)),
      checks_(metrics.counter("walcast_rls_checks_total",
                              "row-level security check statements (one per identity, table and "
                              "batch of changes)")),
      round_trips_(metrics.counter("walcast_rls_round_trips_total",
                                   "row-level security check transactions, one round trip each")),
      rows_checked_(metrics.counter("walcast_rls_rows_checked_total",
                                    "distinct (identity, change) pairs checked")),
      check_errors_(metrics.counter("walcast_rls_check_errors_total",
                                    "deliveries sent as error rows because their check failed")),
      visible_(metrics.counter("walcast_rls_visible_total", "deliveries allowed by RLS")),
      hidden_(metrics.counter("walcast_rls_hidden_total", "deliveries withheld by RLS")),
      batch_changes_(metrics.histogram("walcast_rls_batch_changes",
                                       "distinct changes per identity batch",
                                       {1, 2, 4, 8, 16, 32, 64, 128, 256})) {
    metrics.gauge_callback("walcast_rls_pending",
                           "deliveries waiting for a row-level security check",
                           [this] { return static_cast<double>(pending()); });
}

Authorizer::~Authorizer() {
    stop();
}

void Authorizer::start() {
    for (unsigned i = 0; i < options_.pool_size; ++i)
        workers_.emplace_back([this, i] { worker_loop(i); });
}

void Authorizer::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    for (auto& t : workers_)
        t.join();
    workers_.clear();
}

std::size_t Authorizer::pending() const {
    std::lock_guard lock(mu_);
    return pending_;
}

void Authorizer::submit(std::vector<std::pair<IdentityPtr, AuthWork>>& work) {
    if (work.empty()) return;
    std::unique_lock lock(mu_);
    space_cv_.wait(lock, [&] { return pending_ < options_.max_pending || stopping_; });
    pending_ += work.size();
    std::size_t became_ready = 0;
    for (auto& [identity, w] : work) {
        if (options_.strategy == RlsStrategy::PerSubscriber) {
            fifo_.emplace_back(identity, std::move(w));
            continue;
        }
        auto& q = queues_[identity->key];
        if (!q.identity) q.identity = identity;
        q.items.push_back(std::move(w));
        if (!q.running && q.items.size() == 1) {
            ready_.push_back(identity->key);
            ++became_ready;
        }
    }
    work.clear();
    lock.unlock();
    if (options_.strategy == RlsStrategy::PerSubscriber || became_ready > 1) {
        work_cv_.notify_all();
    } else if (became_ready == 1) {
        work_cv_.notify_one();
    }
}

void Authorizer::finish(AuthWork& work, std::shared_ptr<const std::string> data,
                        DeliveryRound& round) {
    if (data) {
        work.subscription->complete(work.slot, std::move(data), std::move(work.ids), round);
    } else {
        work.subscription->skip(work.slot, round);
    }
    if (auto p = tracker_.finish(work.ticket); p.valid()) confirm_(p);
}

void Authorizer::worker_loop(unsigned index) {
    pg::Connection conn;
    DeliveryRound round; // this worker's: closed after each batch
    auto connect = [&] {
        // (Re)connect with a short backoff; a database that stays down turns the batch into
        // error rows rather than silently withholding it.
        for (int attempt = 0; !conn.healthy() && attempt < 5; ++attempt) {
            auto c = pg::Connection::connect(params_);
            if (c) {
                conn = std::move(c).value();
                break;
            }
            log::warn("authorizer {}: {}", index, c.error().message);
            std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
        }
    };
    if (options_.strategy == RlsStrategy::PerSubscriber) {
        for (;;) {
            std::vector<AuthWork> batch;
            {
                std::unique_lock lock(mu_);
                work_cv_.wait(lock, [&] { return stopping_ || !fifo_.empty(); });
                if (stopping_) return;
                // Every subscriber's check of one change, as the reference runs them.
                const ChangePayloads* change = fifo_.front().second.payloads.get();
                while (!fifo_.empty() && fifo_.front().second.payloads.get() == change) {
                    batch.push_back(std::move(fifo_.front().second));
                    fifo_.pop_front();
                }
            }
            connect();
            check_per_subscriber(conn, batch, round);
            round.close(); // this batch's deliveries go out now
            std::lock_guard lock(mu_);
            pending_ -= batch.size();
            space_cv_.notify_all();
        }
    }
    for (;;) {
        std::vector<Batch> batches;
        {
            std::unique_lock lock(mu_);
            work_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;
            // Several ready identities share one round trip; each identity's work stays with
            // this worker until done, so its order holds.
            while (!ready_.empty() && batches.size() < options_.max_batch_identities) {
                Batch b;
                b.key = std::move(ready_.front());
                ready_.pop_front();
                auto& q = queues_[b.key];
                q.running = true;
                b.identity = q.identity;
                // Consecutive items up to max_batch_changes distinct changes.
                const ChangePayloads* last = nullptr;
                std::size_t distinct = 0;
                while (!q.items.empty()) {
                    const ChangePayloads* p = q.items.front().payloads.get();
                    if (p != last) {
                        if (distinct == options_.max_batch_changes) break;
                        ++distinct;
                        last = p;
                    }
                    b.items.push_back(std::move(q.items.front()));
                    q.items.pop_front();
                }
                batches.push_back(std::move(b));
            }
        }

        connect();
        check(conn, batches, round);
        round.close(); // this round's deliveries go out now

        std::lock_guard lock(mu_);
        for (auto& b : batches) {
            pending_ -= b.items.size();
            auto& q = queues_[b.key];
            q.running = false;
            if (!q.items.empty()) {
                ready_.push_back(b.key);
                work_cv_.notify_one();
            } else {
                queues_.erase(b.key);
            }
        }
        space_cv_.notify_all();
    }
}

/// The outcome of one check transaction: per identity of the set, per table group, whether
/// each of the group's changes is visible.
struct Authorizer::RoundOutcome {
    std::vector<std::vector<std::vector<bool>>> visible;
    bool not_visible_yet = false; ///< a changed transaction is not in the snapshot yet: retry
    bool failed = false;
    std::string error;
    std::string sqlstate;
};

Authorizer::RoundOutcome Authorizer::run_round(pg::Connection& conn,
                                               const std::vector<Batch*>& set) {
    XidList xids;
    for (const auto* b : set)
        b->add_xids(xids);
    xids.sort_unique();
    std::string script =
        "BEGIN READ ONLY; SET LOCAL statement_timeout = " + std::to_string(options_.timeout_ms) +
        ";" + visibility_statement(xids);
    std::size_t selects = 0;
    for (const auto* b : set) {
        b->append_statements(conn, script);
        selects += b->groups.size();
    }
    script += "COMMIT";
    // The visibility window is microseconds; wait with a growing pause, bounded by the check
    // timeout.
    auto pause = std::chrono::microseconds(200);
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    for (;;) {
        RoundOutcome out;
        checks_.inc(selects);
        round_trips_.inc();
        auto results = conn.exec_multi(script);
        if (!results) {
            out.failed = true;
            out.error = results.error->describe();
            out.sqlstate = results.error->sqlstate;
            // The explicit transaction is aborted; end it so the connection is reusable.
            if (conn.healthy()) (void)conn.exec_script("ROLLBACK");
            return out;
        }
        // The statements that return rows, in order: the visibility test, then per identity
        // its set_config and one per table group.
        std::size_t identity = 0, group = 0;
        bool first = true, expect_config = true;
        out.visible.resize(set.size());
        for (const pg::Rows& rows : results.results) {
            if (!rows.returns_tuples()) continue;
            if (first) {
                first = false;
                out.not_visible_yet = rows.size() == 1 && rows.boolean(0, 0) == false;
            } else if (expect_config) {
                expect_config = false;
            } else if (identity < set.size()) {
                // The rows are the 1-based ordinals of the visible keys.
                std::vector<bool> vis(set[identity]->groups[group].changes.size(), false);
                for (int r = 0; r < rows.size(); ++r) {
                    const auto n = rows.integer<std::size_t>(r, 0).value_or(0);
                    if (n >= 1 && n <= vis.size()) vis[n - 1] = true;
                }
                out.visible[identity].push_back(std::move(vis));
                if (++group == set[identity]->groups.size()) {
                    group = 0;
                    ++identity;
                    expect_config = true;
                }
            }
        }
        if (out.failed || !out.not_visible_yet) return out;
        if (std::chrono::steady_clock::now() >= give_up) {
            out.failed = true;
            out.error = "the changed rows' transactions did not become visible in time";
            return out;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20'000));
    }
}

void Authorizer::check_rows_singly(pg::Connection& conn, Batch& b) {
    for (const auto& group : b.groups) {
        for (auto i : group.changes) {
            Batch one;
            one.identity = b.identity;
            one.changes = {b.changes[i]};
            one.verdicts = {Verdict::Failed};
            for (auto& w : b.items)
                if (w.payloads.get() == b.changes[i]) {
                    one.items.push_back(w);
                    break;
                }
            one.prepare(conn, access_);
            if (!one.error.empty()) continue;
            auto single = run_round(conn, {&one});
            if (!single.failed) {
                b.verdicts[i] = single.visible[0][0][0] ? Verdict::Visible : Verdict::Hidden;
            } else {
                log::warn("row-level security check for role {} on {}.{} failed: {}",
                          b.identity->role, group.relation->schema, group.relation->table,
                          single.error);
            }
        }
    }
}

void Authorizer::check(pg::Connection& conn, std::vector<Batch>& batches, DeliveryRound& round) {
    for (auto& b : batches) {
        if (conn.healthy()) b.prepare(conn, access_);
        batch_changes_.observe(static_cast<double>(b.changes.size()));
        rows_checked_.inc(b.changes.size());
    }

    std::vector<Batch*> ready;
    for (auto& b : batches) {
        if (!b.error.empty())
            log::warn("row-level security check for role {}: {}", b.identity->role, b.error);
        else if (!b.changes.empty())
            ready.push_back(&b);
    }
    if (conn.healthy() && !ready.empty()) {
        auto o = run_round(conn, ready);
        if (!o.failed) {
            for (std::size_t i = 0; i < ready.size(); ++i)
                ready[i]->apply(o.visible[i]);
        } else if (o.sqlstate != "57014" && conn.healthy()) {
            // One identity's policy may raise: check identities alone, then a failing
            // identity's rows one by one, so that only the failing rows become error rows.
            // (A timeout is not retried: it would only multiply the wait.)
            for (auto* b : ready) {
                auto alone = ready.size() > 1 ? run_round(conn, {b}) : o;
                if (!alone.failed) {
                    b->apply(alone.visible[0]);
                } else if (alone.sqlstate == "57014" || !conn.healthy()) {
                    log::warn("row-level security check for role {} failed: {}", b->identity->role,
                              alone.error);
                } else {
                    log::warn("row-level security check for role {} failed ({}); checking rows "
                              "singly",
                              b->identity->role, alone.error);
                    check_rows_singly(conn, *b);
                }
            }
        } else {
            log::warn("row-level security check failed: {}", o.error);
        }
    } else if (!ready.empty()) {
        log::error("row-level security checks cannot reach the database; sending error rows");
    }

    for (auto& b : batches) {
        std::unordered_map<const ChangePayloads*, std::size_t> index;
        for (std::size_t i = 0; i < b.changes.size(); ++i)
            index.emplace(b.changes[i], i);
        for (auto& w : b.items) {
            auto it = index.find(w.payloads.get());
            const Verdict v = it == index.end() ? Verdict::Failed : b.verdicts[it->second];
            switch (v) {
            case Verdict::Visible:
                visible_.inc();
                finish(w, w.payloads->get(w.variant), round);
                break;
            case Verdict::Hidden:
                hidden_.inc();
                finish(w, nullptr, round);
                break;
            case Verdict::Failed: {
                check_errors_.inc();
                PayloadVariant pv = w.variant;
                pv.error = ErrorRow::CheckFailed;
                finish(w, w.payloads->get(pv), round);
                break;
            }
            }
        }
    }
}

void Authorizer::check_per_subscriber(pg::Connection& conn, std::vector<AuthWork>& batch,
                                      DeliveryRound& round) {
    // One round trip per change; inside it, per subscriber: switch role and claims, then
    // `SELECT EXISTS (… WHERE pk = <value>)` — the reference's apply_rls loop.
    std::vector<int> verdicts(batch.size(), -1); // -1 failed, 0 hidden, 1 visible
    if (conn.healthy()) {
        const auto& change = batch.front().payloads->change();
        const auto& rel = *change.relation;
        auto pk = access_.primary_key(conn, rel.oid);
        std::string where;
        if (pk && !(*pk)->columns.empty() && change.new_tuple) {
            for (std::size_t j = 0; j < (*pk)->columns.size(); ++j) {
                int col = rel.column_index((*pk)->columns[j]);
                if (col < 0) {
                    where.clear();
                    break;
                }
                if (j) where += " AND ";
                where += conn.quote_ident((*pk)->columns[j]) + " = " +
                         conn.quote_literal(change.new_tuple->text(static_cast<std::size_t>(col))) +
                         "::" + (*pk)->type_names[j];
            }
        }
        if (!where.empty()) {
            std::string script = "BEGIN READ ONLY; SET LOCAL statement_timeout = " +
                                 std::to_string(options_.timeout_ms) + ";" +
                                 visibility_statement([&] {
                                     XidList x;
                                     x.add(change.txn);
                                     return x;
                                 }());
            for (const auto& w : batch) {
                const auto id = w.subscription->identity();
                script += "SET LOCAL ROLE " + conn.quote_ident(id->role) +
                          "; SELECT set_config('request.jwt.claims', " +
                          conn.quote_literal(id->claims_json) +
                          ", true); SELECT EXISTS (SELECT 1 FROM " + conn.quote_ident(rel.schema) +
                          "." + conn.quote_ident(rel.table) + " WHERE " + where + "); RESET ROLE;";
            }
            script += "COMMIT";
            auto pause = std::chrono::microseconds(200);
            const auto give_up =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
            for (bool again = true; again;) {
                again = false;
                checks_.inc(batch.size());
                rows_checked_.inc(batch.size());
                auto results = conn.exec_multi(script);
                const bool failed = !results;
                bool not_visible = false;
                std::size_t tuples = 0;
                for (const pg::Rows& rows : results.results) {
                    if (!rows.returns_tuples()) continue;
                    // The visibility test, then per subscriber set_config and EXISTS.
                    if (tuples == 0) {
                        not_visible = rows.boolean(0, 0) == false;
                    } else if (tuples % 2 == 0 && (tuples - 1) / 2 < batch.size()) {
                        verdicts[(tuples - 1) / 2] = rows.boolean(0, 0) == true ? 1 : 0;
                    }
                    ++tuples;
                }
                if (failed && conn.healthy()) (void)conn.exec_script("ROLLBACK");
                if (!failed && not_visible && std::chrono::steady_clock::now() < give_up) {
                    std::fill(verdicts.begin(), verdicts.end(), -1);
                    std::this_thread::sleep_for(pause);
                    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
                    again = true;
                }
            }
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& w = batch[i];
        if (verdicts[i] == 1) {
            visible_.inc();
            finish(w, w.payloads->get(w.variant), round);
        } else if (verdicts[i] == 0) {
            hidden_.inc();
            finish(w, nullptr, round);
        } else {
            check_errors_.inc();
            PayloadVariant v = w.variant;
            v.error = ErrorRow::CheckFailed;
            finish(w, w.payloads->get(v), round);
        }
    }
}

} // namespace walcast::core
