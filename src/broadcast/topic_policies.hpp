// broadcast::TopicPolicies: the read and write permissions of private channels, decided by the
// RLS policies of realtime.messages as the reference decides them (spec §7.3):
//   read  — probe rows inserted as walcast's own role, then, as the user's role with its six
//           settings, `SELECT id … WHERE id = ANY(probes)`: a probe that comes back is
//           readable; everything rolled back (§7.3.3).
//   write — as the user's role, one INSERT per extension in a savepoint, without RETURNING:
//           success = may write, 42501 = may not, anything else = the check failed; rolled
//           back (§7.3.4).
// Checks run on a small pool of blocking connections (worker threads); results are handed to
// the caller's callback on a worker thread.
#pragma once

#include "pg/connection.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace walcast::broadcast {

/// Who asks about which topic (§7.3.2).
struct TopicAuthContext {
    std::string topic;               ///< the sub-topic (no "realtime:")
    std::string role;                ///< the JWT role claim
    std::string claims_json;         ///< all claims, a JSON object's text
    std::optional<std::string> sub;  ///< the sub claim, when present
    std::string headers_json = "{}"; ///< the request's x-* headers as a JSON object
};

/// One permission: granted, denied, or never evaluated (nullopt).
using Permission = std::optional<bool>;

struct ReadVerdict {
    Permission broadcast;
    Permission presence; ///< nullopt when not asked
};
struct WriteVerdict {
    bool broadcast = false;
    bool presence = false;
};

/// Why a check could not decide (spec §7.3.3 error mapping; §7.5.4 REST statuses).
enum class PolicyFailure {
    RlsError,         ///< a policy raised, an unknown role, …: treated as denied
    MissingPartition, ///< no realtime.messages partition for now (23514)
    Unavailable,      ///< no database connection
    PoolExhausted,    ///< too many checks queued
    Cancelled,        ///< statement timeout
};

/// A verdict or the failure with its text (the Postgres error, for logs).
template <class V> struct PolicyOutcome {
    std::optional<V> verdict;
    PolicyFailure failure = PolicyFailure::RlsError;
    std::string error;
};

/// One stored database message replayed to a private channel (spec §7.6.1).
struct ReplayedMessage {
    std::string id;
    std::string event;
    std::string payload; ///< jsonb text, or the bytes of binary_payload
    bool binary = false;
};

struct TopicPoliciesOptions {
    unsigned pool_size = 2;           ///< connections, one worker thread each
    std::uint32_t timeout_ms = 5000;  ///< statement_timeout of one check
    std::size_t max_pending = 10'000; ///< queued checks before PoolExhausted
};

/// Thread-safe.
class TopicPolicies {
public:
    TopicPolicies(pg::ConnectParams params, TopicPoliciesOptions options);
    ~TopicPolicies();
    TopicPolicies(const TopicPolicies&) = delete;
    TopicPolicies& operator=(const TopicPolicies&) = delete;

    /// Read permissions of ctx on its topic: broadcast always, presence when asked. done runs
    /// once, on a worker thread (or the caller's, for PoolExhausted).
    void check_read(TopicAuthContext ctx, bool presence,
                    std::function<void(PolicyOutcome<ReadVerdict>)> done);
    /// Write permissions (both extensions, as every caller in the reference asks).
    void check_write(TopicAuthContext ctx, std::function<void(PolicyOutcome<WriteVerdict>)> done);

    /// Replay (spec §7.6.1), as walcast's own role (the caller checked broadcast.read): the
    /// newest `limit` rows of realtime.messages with this topic, private, extension
    /// 'broadcast', since ≤ inserted_at < now + 1 min (since_ms: Unix epoch ms, compared in
    /// the session's time zone as now() stored it), delivered oldest first — rows of one
    /// transaction share inserted_at and keep their insertion order (the reference reverses
    /// them, supabase/realtime#2201). done on a worker thread.
    void replay(std::string topic, std::int64_t since_ms, int limit,
                std::function<void(PolicyOutcome<std::vector<ReplayedMessage>>)> done);

    /// The SQL of the checks, for tests and the docs. quote: the connection's literal quoting.
    static std::string read_script(const TopicAuthContext& ctx,
                                   const std::vector<std::string>& probe_ids, bool presence,
                                   std::uint32_t timeout_ms,
                                   const std::function<std::string(std::string_view)>& quote);

private:
    using Job = std::function<void(pg::Connection&)>;
    void submit(Job job, const std::function<void()>& exhausted);
    void worker();
    bool ensure_connected(pg::Connection& conn);
    PolicyOutcome<ReadVerdict> run_read(pg::Connection& conn, const TopicAuthContext& ctx,
                                        bool presence);
    PolicyOutcome<WriteVerdict> run_write(pg::Connection& conn, const TopicAuthContext& ctx);

    const pg::ConnectParams params_;
    const TopicPoliciesOptions options_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace walcast::broadcast
