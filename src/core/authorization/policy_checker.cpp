#include "core/authorization/policy_checker.hpp"

#include "core/authorization/log_redaction.hpp"

#include "common/logging.hpp"
#include "pg/sqlstate.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace walcast::core {

// ---- PolicyCache ----

std::string PolicyCache::key(const std::string& role, pg::Oid table) {
    std::string k = role;
    k += '\0';
    k += std::to_string(table);
    return k;
}

RowPolicyPtr PolicyCache::find(const std::string& role, pg::Oid table) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key(role, table));
    return it == entries_.end() ? nullptr : it->second;
}

RowPolicyPtr PolicyCache::put(RowPolicyPtr policy) {
    std::lock_guard lock(mu_);
    auto& slot = entries_[key(policy->role, policy->table)];
    if (!slot || slot->fingerprint != policy->fingerprint ||
        slot->roles_fingerprint != policy->roles_fingerprint)
        slot = std::move(policy);
    return slot;
}

void PolicyCache::erase(const std::string& role, pg::Oid table) {
    std::lock_guard lock(mu_);
    entries_.erase(key(role, table));
}

std::size_t PolicyCache::drop_stale(pg::Oid table, const std::string& fingerprint,
                                    const std::string& roles_fingerprint) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const RowPolicy& p = *it->second;
        if (p.roles_fingerprint != roles_fingerprint ||
            (p.table == table && p.fingerprint != fingerprint)) {
            it = entries_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    return n;
}

void PolicyCache::clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
}

std::size_t PolicyCache::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

// ---- PolicyChecker ----

namespace {

constexpr int max_stale_retries = 3;
constexpr std::string_view fingerprint_name = "walcast_rls_fingerprint";
/// A session re-prepares from scratch past this many statements (policies replaced over time
/// leave their old statements behind until then).
constexpr std::size_t max_prepared = 2000;

/// The results of one multi-statement script, in order, and its first error.
struct ScriptResults {
    std::vector<pg::Rows> tuples; ///< every result that returns rows, in order
    std::size_t commands = 0;     ///< statements that succeeded before the error
    bool failed = false;
    std::string error;
    std::string sqlstate;
};

/// Runs `script` in one round trip. in_transaction: it opens a transaction block, which a
/// failure leaves aborted: roll it back so the connection is reusable.
ScriptResults run_script(pg::Connection& conn, const std::string& script,
                         bool in_transaction = false) {
    ScriptResults out;
    auto r = conn.exec_multi(script);
    out.commands = r.results.size();
    for (auto& rows : r.results)
        if (rows.returns_tuples()) out.tuples.push_back(std::move(rows));
    if (r.error) {
        out.failed = true;
        out.error = r.error->describe();
        out.sqlstate = r.error->sqlstate;
        if (in_transaction && conn.healthy()) {
            auto rb = conn.exec_script("ROLLBACK");
            (void)rb;
        }
    }
    return out;
}

/// The transactions whose visibility a check must wait for, and the statement testing it.
/// A walsender can decode a commit before the committing backend has left the ProcArray, so a
/// snapshot taken at once may not contain the transaction yet: a policy reading another table
/// written in the same transaction (a membership added with the document) would judge the row
/// against the previous state. Each later statement of the READ COMMITTED check transaction
/// takes a newer snapshot, so "visible here" means visible to the policy statements after it.
/// pgoutput's xids are 32-bit: their epoch is that of the snapshot's xmax, or the one before
/// when the xid is above xmax's low half. A source that knows the full xid8 passes it as is.
struct Xids {
    std::vector<std::uint64_t> short_xids; ///< 32-bit, epoch unknown
    std::vector<std::uint64_t> full_xids;  ///< xid8

    void add(const capture::TransactionInfo& t) {
        auto& v = t.xid_has_epoch ? full_xids : short_xids;
        if (std::find(v.begin(), v.end(), t.xid) == v.end()) v.push_back(t.xid);
    }
    bool empty() const { return short_xids.empty() && full_xids.empty(); }

    static std::string array(const std::vector<std::uint64_t>& xs) {
        std::string list = "'{";
        for (std::size_t i = 0; i < xs.size(); ++i)
            list += (i ? "," : "") + std::to_string(xs[i]);
        return list + "}'::bigint[]";
    }
    /// One row, one boolean: every transaction is visible to a snapshot taken now.
    std::string statement() const {
        return "SELECT (SELECT coalesce(bool_and(pg_visible_in_snapshot(((((pg_snapshot_xmax(s)"
               "::text::bigint >> 32) - (x > (pg_snapshot_xmax(s)::text::bigint & 4294967295))"
               "::int) << 32) | x)::text::xid8, s)), true) FROM pg_current_snapshot() s, unnest(" +
               array(short_xids) +
               ") x) AND (SELECT coalesce(bool_and(pg_visible_in_snapshot(x::text::xid8, s)), "
               "true) FROM pg_current_snapshot() s, unnest(" +
               array(full_xids) + ") x)";
    }
};

} // namespace

/// What one check transaction found.
struct PolicyChecker::Outcome {
    bool failed = false;
    bool stale = false;
    bool not_visible = false; ///< a change's transaction is not visible to snapshots yet
    std::string error;
    std::string sqlstate;
};

void PolicyChecker::log_once(const std::string& key, const std::string& message) {
    {
        std::lock_guard lock(logged_mu_);
        if (!logged_.emplace(key, true).second) return;
    }
    log::warn("{}", message);
}

void PolicyChecker::log_missing(const RowPolicy& policy, const std::string& column) {
    log_once("missing:" + policy.qualified_name + ':' + column,
             "row-level security on " + policy.qualified_name + " reads column \"" + column +
                 "\", which a change did not carry (an unchanged TOAST value, a generated "
                 "column, or a column outside the publication's column list); such changes are "
                 "sent as error rows. To decide them, run ALTER TABLE " +
                 policy.qualified_name +
                 " REPLICA IDENTITY FULL (and publish every column the policies read)");
}

PolicyChecker::Policies PolicyChecker::build_missing(PolicySession& session,
                                                     std::span<RowCheckRequest*> requests,
                                                     std::unordered_set<std::string>& fresh) {
    Policies policies;
    std::set<std::pair<std::string, pg::Oid>> missing;
    for (const auto* r : requests)
        for (const auto& row : r->rows) {
            auto key = PolicyCache::key(r->identity->role, row.relation->oid);
            if (policies.count(key)) continue;
            if (auto p = cache_.find(r->identity->role, row.relation->oid))
                policies.emplace(std::move(key), std::move(p));
            else
                missing.emplace(r->identity->role, row.relation->oid);
        }
    if (missing.empty()) return policies;
    auto& conn = session.conn();
    std::string script;
    for (const auto& [role, oid] : missing)
        script += row_policy_query(conn, role, oid) + ";";
    stats_.round_trips.fetch_add(1, std::memory_order_relaxed);
    ++session.round_trips;
    auto res = run_script(conn, script);
    if (res.failed) {
        log_once("build:" + res.error, "cannot read row-level security policies: " + res.error +
                                           "; the checks concerned are sent as error rows");
        return policies;
    }
    std::size_t k = 0;
    for (const auto& [role, oid] : missing) {
        if (k >= res.tuples.size()) break;
        const pg::Rows& rows = res.tuples[k++];
        auto p = parse_row_policy(rows.size() == 1 ? rows.text(0, 0) : std::nullopt, role, oid);
        if (!p) {
            log_once("build:" + role + ':' + std::to_string(oid),
                     "row-level security for role " + role + ": " + p.error().message);
            continue;
        }
        stats_.builds.fetch_add(1, std::memory_order_relaxed);
        auto key = PolicyCache::key(role, oid);
        fresh.insert(key);
        policies.emplace(std::move(key), cache_.put(std::move(p).value()));
    }
    return policies;
}

void PolicyChecker::prepare_missing(PolicySession& session, const Policies& policies) {
    auto& conn = session.conn();
    // What to run, in order: each item is one or two statements (a DEALLOCATE of the
    // statement it replaces, then its PREPARE).
    struct Item {
        std::string sql;
        std::size_t statements = 1;
        std::string key; ///< "" for the fingerprint query
        RowPolicyPtr policy;
        std::string name;
    };
    std::vector<Item> items;
    if (session.prepared_.size() > max_prepared) {
        items.push_back({"DEALLOCATE ALL;", 1, {}, nullptr, {}});
        session.prepared_.clear();
        session.fingerprint_prepared_ = false;
    }
    if (!session.fingerprint_prepared_) {
        // The statements take arrays: a custom plan knows their length and always looks
        // cheaper than the generic one, so Postgres would plan every execution anew. Their
        // plans do not depend on the values: plan once.
        items.push_back({"SET plan_cache_mode TO force_generic_plan;", 1, {}, nullptr, {}});
        items.push_back({"PREPARE " + std::string(fingerprint_name) + "(oid[]) AS " +
                             fingerprint_statement() + ";",
                         1,
                         {},
                         nullptr,
                         std::string(fingerprint_name)});
    }
    for (const auto& [key, policy] : policies) {
        if (policy->mode != RowSecurity::Policies) continue;
        auto it = session.prepared_.find(key);
        if (it != session.prepared_.end() && it->second.policy == policy) continue;
        Item item;
        if (it != session.prepared_.end()) {
            item.sql = "DEALLOCATE " + it->second.name + ";";
            item.statements = 2;
            session.prepared_.erase(it);
        }
        item.name = "walcast_rls_" + std::to_string(++session.next_name_);
        item.sql +=
            "PREPARE " + item.name + "(" + policy->type_name + "[]) AS " + policy->statement + ";";
        item.key = key;
        item.policy = policy;
        items.push_back(std::move(item));
    }
    // Statements run in order up to the first error; the items after a failing one are sent
    // again, so that one policy that cannot be prepared does not hold the others back.
    for (std::size_t from = 0; from < items.size();) {
        std::string script;
        for (std::size_t i = from; i < items.size(); ++i)
            script += items[i].sql;
        stats_.round_trips.fetch_add(1, std::memory_order_relaxed);
        ++session.round_trips;
        auto res = run_script(conn, script);
        std::size_t ran = res.commands;
        std::size_t i = from;
        for (; i < items.size() && ran >= items[i].statements; ++i) {
            ran -= items[i].statements;
            if (items[i].policy)
                session.prepared_[items[i].key] = {items[i].policy, items[i].name};
            else if (!items[i].name.empty())
                session.fingerprint_prepared_ = true;
        }
        if (!res.failed) break;
        if (i < items.size()) {
            const auto& bad = items[i];
            log_once("prepare:" + bad.key + ':' + res.error,
                     bad.policy ? "cannot prepare the row-level security check of role " +
                                      bad.policy->role + " on " + bad.policy->qualified_name +
                                      ": " + res.error + "; its checks are sent as error rows"
                                : "cannot prepare a row-level security statement: " + res.error);
        }
        if (!conn.healthy()) break;
        from = i + 1;
    }
}

PolicyChecker::Outcome PolicyChecker::run(PolicySession& session,
                                          std::span<RowCheckRequest*> requests,
                                          const Policies& policies,
                                          const std::unordered_set<std::string>& fresh) {
    Outcome out;
    auto& conn = session.conn();
    struct Group {
        RowPolicyPtr policy;
        std::vector<std::size_t> rows; ///< indices into the request's rows
        PolicyRows bound;              ///< bound.rows are request indices
        const std::string* statement = nullptr;
    };
    struct Plan {
        RowCheckRequest* request;
        std::vector<Group> groups;
        bool any_sql = false;
    };
    std::vector<Plan> plans;
    std::vector<pg::Oid> tables;
    std::vector<RowPolicyPtr> used;
    Xids wait_for;
    for (auto* r : requests) {
        r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
        Plan plan{r, {}, false};
        for (std::size_t i = 0; i < r->rows.size(); ++i) {
            const pg::Oid oid = r->rows[i].relation->oid;
            auto g = std::find_if(plan.groups.begin(), plan.groups.end(),
                                  [&](const Group& x) { return x.policy->table == oid; });
            if (g == plan.groups.end()) {
                auto p = policies.find(PolicyCache::key(r->identity->role, oid));
                if (p == policies.end()) continue; // could not be built: stays Failed (logged)
                auto policy = p->second;
                plan.groups.push_back({std::move(policy), {}, {}, nullptr});
                g = plan.groups.end() - 1;
            }
            g->rows.push_back(i);
        }
        for (auto& g : plan.groups) {
            used.push_back(g.policy);
            if (std::find(tables.begin(), tables.end(), g.policy->table) == tables.end())
                tables.push_back(g.policy->table);
            std::vector<RowVersion> versions;
            versions.reserve(g.rows.size());
            for (auto i : g.rows)
                versions.push_back(r->rows[i]);
            std::vector<RowVerdict> verdicts;
            std::vector<std::string> missing;
            g.bound = bind_policy_rows(*g.policy, versions, verdicts, missing);
            bool rebuild = false;
            if (g.bound.absent_column) {
                // Built before a column it reads was renamed or dropped? Build it again, unless
                // a policy built after these relations lacks the column as well.
                const auto h = column_names_hash(*versions.front().relation);
                if (fresh.count(PolicyCache::key(g.policy->role, g.policy->table))) {
                    g.policy->absent_for.store(h, std::memory_order_relaxed);
                } else if (g.policy->absent_for.load(std::memory_order_relaxed) != h) {
                    cache_.erase(g.policy->role, g.policy->table);
                    rebuild = out.stale = true;
                }
            }
            for (std::size_t k = 0; k < g.rows.size(); ++k) {
                r->verdicts[g.rows[k]] = verdicts[k];
                if (!missing[k].empty() && !rebuild) log_missing(*g.policy, missing[k]);
            }
            for (auto& idx : g.bound.rows)
                idx = g.rows[idx];
            if (g.bound.rows.empty()) continue;
            auto it = session.prepared_.find(PolicyCache::key(g.policy->role, g.policy->table));
            if (it == session.prepared_.end() || it->second.policy != g.policy) {
                // Its preparation failed (logged then): the rows stay Failed.
                g.bound.rows.clear();
                continue;
            }
            g.statement = &it->second.name;
            plan.any_sql = true;
            if (g.policy->reads_database)
                for (auto idx : g.bound.rows)
                    if (r->rows[idx].txn) wait_for.add(*r->rows[idx].txn);
        }
        plans.push_back(std::move(plan));
    }
    if (out.stale) {
        for (auto* r : requests)
            std::fill(r->verdicts.begin(), r->verdicts.end(), RowVerdict::Failed);
        return out;
    }
    if (used.empty()) return out;
    if (!session.fingerprint_prepared_) {
        out.failed = true;
        out.error = "the fingerprint query is not prepared";
        return out;
    }

    std::string oids = "{";
    for (std::size_t i = 0; i < tables.size(); ++i)
        oids += (i ? "," : "") + std::to_string(tables[i]);
    oids += '}';
    std::string script =
        "BEGIN READ ONLY; SET LOCAL statement_timeout = " + std::to_string(options_.timeout_ms) +
        "; EXECUTE " + std::string(fingerprint_name) + "('" + oids + "');";
    const bool waits = !wait_for.empty();
    if (waits) script += wait_for.statement() + ";";
    for (const auto& plan : plans) {
        if (!plan.any_sql) continue;
        const Identity& id = *plan.request->identity;
        // A utility SET costs less than SELECT set_config() (no plan, no result rows).
        script += "SET LOCAL ROLE " + conn.quote_ident(id.role) +
                  "; SET LOCAL request.jwt.claims TO " + conn.quote_literal(id.claims_json) + ";";
        for (const auto& g : plan.groups) {
            if (!g.statement) continue;
            script += "EXECUTE " + *g.statement + "(" + conn.quote_literal(g.bound.array) + ");";
            stats_.statements.fetch_add(1, std::memory_order_relaxed);
            ++session.statements;
        }
    }
    script += "COMMIT";
    stats_.round_trips.fetch_add(1, std::memory_order_relaxed);
    ++session.round_trips;
    auto res = run_script(conn, script, true);
    if (res.failed) {
        out.failed = true;
        out.error = std::move(res.error);
        out.sqlstate = std::move(res.sqlstate);
        for (auto* r : requests)
            std::fill(r->verdicts.begin(), r->verdicts.end(), RowVerdict::Failed);
        return out;
    }

    // Every policy used must have been built from the catalog as it is now.
    std::size_t k = 0;
    {
        const pg::Rows* fp = k < res.tuples.size() ? &res.tuples[k++] : nullptr;
        std::unordered_map<pg::Oid, std::string> now;
        std::string roles_now;
        for (int row = 0; fp && row < fp->size(); ++row) {
            const auto oid = fp->integer<pg::Oid>(row, 0).value_or(0);
            std::string v = fp->string(row, 1);
            if (oid == 0)
                roles_now = std::move(v);
            else
                now[oid] = std::move(v);
        }
        for (const auto& p : used) {
            auto it = now.find(p->table);
            const std::string current = it == now.end() ? std::string() : it->second;
            if (current != p->fingerprint || roles_now != p->roles_fingerprint) {
                out.stale = true;
                cache_.drop_stale(p->table, current, roles_now);
            }
        }
        if (out.stale) {
            for (auto* r : requests)
                std::fill(r->verdicts.begin(), r->verdicts.end(), RowVerdict::Failed);
            return out;
        }
    }
    if (waits) {
        const pg::Rows* vis = k < res.tuples.size() ? &res.tuples[k++] : nullptr;
        if (!vis || vis->boolean(0, 0) != true) {
            out.not_visible = true;
            for (auto* r : requests)
                std::fill(r->verdicts.begin(), r->verdicts.end(), RowVerdict::Failed);
            return out;
        }
    }
    for (const auto& plan : plans) {
        if (!plan.any_sql) continue;
        for (const auto& g : plan.groups) {
            if (!g.statement) continue;
            const pg::Rows* rows = k < res.tuples.size() ? &res.tuples[k++] : nullptr;
            if (!rows) break;
            for (auto idx : g.bound.rows)
                plan.request->verdicts[idx] = RowVerdict::Hidden;
            for (int row = 0; row < rows->size(); ++row) {
                const auto n = rows->integer<std::uint64_t>(row, 0).value_or(0);
                if (n >= 1 && n <= g.bound.rows.size())
                    plan.request->verdicts[g.bound.rows[n - 1]] = RowVerdict::Visible;
            }
        }
    }
    return out;
}

PolicyChecker::Outcome PolicyChecker::run_current(PolicySession& session,
                                                  std::span<RowCheckRequest*> requests) {
    Outcome o;
    // The visibility window is microseconds: wait with a growing pause, bounded by the check
    // timeout.
    auto pause = std::chrono::microseconds(200);
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    for (int stale = 0; stale <= max_stale_retries;) {
        if (!session.conn().healthy()) {
            o.failed = true;
            o.error = "the connection to the database is broken";
            return o;
        }
        std::unordered_set<std::string> fresh;
        const Policies policies = build_missing(session, requests, fresh);
        prepare_missing(session, policies);
        o = run(session, requests, policies, fresh);
        if (o.stale) {
            stats_.stale.fetch_add(1, std::memory_order_relaxed);
            ++stale;
            continue;
        }
        if (!o.not_visible) return o;
        stats_.visibility_waits.fetch_add(1, std::memory_order_relaxed);
        if (std::chrono::steady_clock::now() >= give_up) {
            o.failed = true;
            o.error = "the changes' transactions did not become visible in time";
            return o;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20'000));
    }
    o.failed = true;
    o.error = "the row-level security policies kept changing during the check";
    return o;
}

void PolicyChecker::forget(PolicySession& session, std::span<RowCheckRequest*> requests) {
    for (auto* r : requests)
        for (const auto& row : r->rows) {
            cache_.erase(r->identity->role, row.relation->oid);
            // The statement stays prepared under its name until prepare_missing() replaces it.
        }
    (void)session;
}

void PolicyChecker::check(PolicySession& session, std::span<RowCheckRequest*> requests) {
    for (auto* r : requests)
        r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
    if (requests.empty()) return;
    auto o = run_current(session, requests);
    if (!o.failed) return;
    if (o.sqlstate == pg::sqlstate::query_canceled || !session.conn().healthy()) {
        // A timeout is not retried (it would only multiply the wait).
        log::warn("row-level security check failed: {}", o.error);
        return;
    }
    // A prepared statement re-planned as the subscriber after an invalidation resolves names
    // as the subscriber, and a name a policy uses may have been renamed since its text was
    // built: build and prepare afresh, once, before narrowing down.
    forget(session, requests);
    o = run_current(session, requests);
    if (!o.failed) return;
    if (o.sqlstate == pg::sqlstate::query_canceled || !session.conn().healthy()) {
        log::warn("row-level security check failed: {}", o.error);
        return;
    }
    check_narrowing(session, requests, o);
}

void PolicyChecker::check_narrowing(PolicySession& session, std::span<RowCheckRequest*> requests,
                                    const Outcome& last_failure) {
    for (auto* r : requests) {
        RowCheckRequest* one[] = {r};
        Outcome o;
        if (requests.size() > 1) {
            o = run_current(session, one);
            if (!o.failed) continue;
        } else {
            o = last_failure;
        }
        if (o.sqlstate == pg::sqlstate::query_canceled || !session.conn().healthy()) {
            log::warn("row-level security check for role {} failed: {}", r->identity->role,
                      redact_claims(o.error, *r->identity));
            continue;
        }
        if (r->rows.size() == 1) {
            // Already checked alone: the failure is this row's.
            log::warn("row-level security check for role {} on {}.{} failed: {}", r->identity->role,
                      r->rows[0].relation->schema, r->rows[0].relation->table,
                      redact_claims(o.error, *r->identity));
            continue;
        }
        for (std::size_t i = 0; i < r->rows.size(); ++i) {
            RowCheckRequest single{r->identity, {r->rows[i]}, {}};
            RowCheckRequest* s[] = {&single};
            auto os = run_current(session, s);
            r->verdicts[i] = os.failed ? RowVerdict::Failed : single.verdicts[0];
            if (os.failed) {
                log::warn("row-level security check for role {} on {}.{} failed: {}",
                          r->identity->role, r->rows[i].relation->schema,
                          r->rows[i].relation->table, redact_claims(os.error, *r->identity));
                if (os.sqlstate == pg::sqlstate::query_canceled || !session.conn().healthy()) break;
            }
        }
    }
}

} // namespace walcast::core
