// PolicyChecker: decides row versions for identities by evaluating their roles' SELECT
// policies (RowPolicy) in Postgres, as each identity (SET LOCAL ROLE + request.jwt.claims),
// over the values the changes carry — batched: one statement per identity and table, many
// identities per transaction and round trip.
//
// Each RowPolicy's statement is prepared once per connection by walcast's own user and
// executed as the subscriber: names in policy expressions are resolved when the statement is
// prepared (as Postgres resolved them when the policy was created — a subscriber needs no
// USAGE on the schemas a policy names), while privileges on the tables and functions a policy
// uses are checked at execution, as the subscriber, as Postgres checks them; parsing and
// planning the policy text is paid once, not per check.
//
// PolicyCache holds the built policies; every check transaction first compares their catalog
// fingerprints, so CREATE/ALTER/DROP POLICY, ENABLE/FORCE ROW LEVEL SECURITY, ownership and
// role-membership changes apply to every check that starts after they committed.
#pragma once

#include "core/authorization/row_policy.hpp"
#include "core/identity.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace walcast::core {

/// Built RowPolicies by (role, table). Thread-safe; shared by the authorizer's workers.
/// Bounded by roles × tables that exist (only roles Postgres knows reach it).
class PolicyCache {
public:
    RowPolicyPtr find(const std::string& role, pg::Oid table) const;
    /// Stores `policy` and returns the entry now in the cache: an existing one built from the
    /// same catalog state is kept (workers building the same policy at once agree on one
    /// object, so statements prepared for it stay current).
    RowPolicyPtr put(RowPolicyPtr policy);
    void erase(const std::string& role, pg::Oid table);
    /// Drops every entry of `table` whose fingerprint differs from `fingerprint`, and every
    /// entry at all when `roles_fingerprint` differs from theirs. Returns how many it dropped.
    std::size_t drop_stale(pg::Oid table, const std::string& fingerprint,
                           const std::string& roles_fingerprint);
    void clear();
    std::size_t size() const;

    static std::string key(const std::string& role, pg::Oid table);

private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, RowPolicyPtr> entries_;
};

/// One worker's connection and the policy statements prepared on it. Not thread-safe: one
/// worker owns it. Call reset() after replacing the connection.
class PolicySession {
public:
    explicit PolicySession(pg::Connection& conn) : conn_(&conn) {}
    pg::Connection& conn() { return *conn_; }
    std::uint64_t round_trips = 0; ///< on this session, for its owner's metrics
    std::uint64_t statements = 0;  ///< policy statements executed on this session
    /// Forgets what was prepared (the connection is new).
    void reset() {
        prepared_.clear();
        fingerprint_prepared_ = false;
    }

private:
    friend class PolicyChecker;
    struct Prepared {
        RowPolicyPtr policy;
        std::string name;
    };
    pg::Connection* conn_;
    std::unordered_map<std::string, Prepared> prepared_; ///< by PolicyCache::key
    std::uint64_t next_name_ = 0;
    bool fingerprint_prepared_ = false;
};

/// One identity's row versions to decide, and (after check()) the verdicts.
struct RowCheckRequest {
    IdentityPtr identity;
    std::vector<RowVersion> rows;
    std::vector<RowVerdict> verdicts; ///< filled by check(), one per row
};

/// What the checks did (monotone counters; any thread).
struct PolicyCheckerStats {
    std::atomic<std::uint64_t> round_trips{0};      ///< check, build and prepare round trips
    std::atomic<std::uint64_t> statements{0};       ///< policy statements executed
    std::atomic<std::uint64_t> builds{0};           ///< RowPolicies built
    std::atomic<std::uint64_t> stale{0};            ///< checks repeated because a policy changed
    std::atomic<std::uint64_t> visibility_waits{0}; ///< checks repeated because a change's
                                                    ///< transaction was not visible yet
};

/// One instance serves every worker, each passing its own session.
class PolicyChecker {
public:
    struct Options {
        std::uint32_t timeout_ms = 5000; ///< statement_timeout of a check transaction
    };
    PolicyChecker(Options options, PolicyCache& cache) : options_(options), cache_(cache) {}

    /// Decides every row of every request, normally in one round trip (more when a policy
    /// has to be built or prepared first). A failure (a policy raising) is narrowed: the
    /// statements are prepared afresh and the check repeated once, then the identities are
    /// checked alone, then a failing identity's rows one by one, so that only the rows whose
    /// check raises are Failed; a timeout fails its transaction's rows at once. Rows whose
    /// policies read a value the change does not carry are Failed and logged once per table
    /// and column with the fix. Never throws; a broken connection fails what is left.
    void check(PolicySession& session, std::span<RowCheckRequest*> requests);

    const PolicyCheckerStats& stats() const { return stats_; }

private:
    struct Outcome;
    /// The policies one attempt uses, by PolicyCache::key: taken from the cache once, so that
    /// preparing and running agree even while other workers replace entries.
    using Policies = std::unordered_map<std::string, RowPolicyPtr>;
    /// Builds a RowPolicy for every (role, table) of `requests` the cache lacks, and returns
    /// the policies of all of them (a pair whose build failed is absent: its rows fail); the
    /// keys of those built now go to `fresh`.
    Policies build_missing(PolicySession& session, std::span<RowCheckRequest*> requests,
                           std::unordered_set<std::string>& fresh);
    /// Prepares on the session the statements of `policies` it lacks.
    void prepare_missing(PolicySession& session, const Policies& policies);
    /// One transaction: fingerprints, then per identity role, claims and one statement per
    /// table. stale: a policy changed since it was built (its entries are dropped).
    /// A policy from the cache that names a column the changes do not have is dropped and the
    /// check repeated (stale): the column may have been renamed or dropped since.
    Outcome run(PolicySession& session, std::span<RowCheckRequest*> requests,
                const Policies& policies, const std::unordered_set<std::string>& fresh);
    /// build, prepare and run, repeated while a policy turns out stale.
    Outcome run_current(PolicySession& session, std::span<RowCheckRequest*> requests);
    void forget(PolicySession& session, std::span<RowCheckRequest*> requests);
    void check_narrowing(PolicySession& session, std::span<RowCheckRequest*> requests,
                         const Outcome& last_failure);
    void log_missing(const RowPolicy& policy, const std::string& column);
    void log_once(const std::string& key, const std::string& message);

    Options options_;
    PolicyCache& cache_;
    PolicyCheckerStats stats_;
    std::mutex logged_mu_;
    std::unordered_map<std::string, bool> logged_; ///< what was logged once (bounded by
                                                   ///< tables × columns and roles × errors)
};

} // namespace walcast::core
