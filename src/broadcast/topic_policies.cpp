#include "broadcast/topic_policies.hpp"

#include "common/logging.hpp"
#include "pg/sqlstate.hpp"

#include <random>

namespace walcast::broadcast {

namespace {

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t a = rng(), b = rng();
    a = (a & ~0xF000ull) | 0x4000ull;                        // version 4
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; // variant 10
    std::string s;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
        const std::uint64_t w = i < 16 ? a : b;
        s += hex[(w >> (60 - 4 * (i % 16))) & 15];
    }
    return s;
}

PolicyFailure failure_of(const pg::PgError& e) {
    if (e.connection_lost || e.sqlstate.empty()) return PolicyFailure::Unavailable;
    if (e.is(pg::sqlstate::query_canceled)) return PolicyFailure::Cancelled;
    if (e.is("23514")) return PolicyFailure::MissingPartition;
    return PolicyFailure::RlsError;
}

/// The six transaction-local settings of a check (§7.3.2); the first switches to the role.
std::string settings(const TopicAuthContext& ctx,
                     const std::function<std::string(std::string_view)>& q) {
    return "SELECT set_config('role', " + q(ctx.role) + ", true), set_config('realtime.topic', " +
           q(ctx.topic) + ", true), set_config('request.jwt.claims', " + q(ctx.claims_json) +
           ", true), set_config('request.jwt.claim.sub', " + q(ctx.sub.value_or("")) +
           ", true), set_config('request.jwt.claim.role', " + q(ctx.role) +
           ", true), set_config('request.headers', " + q(ctx.headers_json) + ", true)";
}

constexpr std::string_view utc_now = "(now() AT TIME ZONE 'UTC')";

} // namespace

TopicPolicies::TopicPolicies(pg::ConnectParams params, TopicPoliciesOptions options)
    : params_(std::move(params)), options_(options) {
    for (unsigned i = 0; i < std::max(1u, options_.pool_size); ++i)
        workers_.emplace_back([this] { worker(); });
}

TopicPolicies::~TopicPolicies() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
        t.join();
}

void TopicPolicies::submit(Job job, const std::function<void()>& exhausted) {
    {
        std::lock_guard lock(mu_);
        if (jobs_.size() < options_.max_pending && !stopping_) {
            jobs_.push_back(std::move(job));
            cv_.notify_one();
            return;
        }
    }
    exhausted();
}

void TopicPolicies::worker() {
    pg::Connection conn;
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return; // queued checks are dropped with their channels
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job(conn);
    }
}

bool TopicPolicies::ensure_connected(pg::Connection& conn) {
    if (conn.healthy()) return true;
    auto c = pg::Connection::connect(params_);
    if (!c) {
        log::warn("private channel check: cannot connect to the database: {}", c.error().message);
        return false;
    }
    conn = std::move(c).value();
    return true;
}

void TopicPolicies::check_read(TopicAuthContext ctx, bool presence,
                               std::function<void(PolicyOutcome<ReadVerdict>)> done) {
    auto shared =
        std::make_shared<std::function<void(PolicyOutcome<ReadVerdict>)>>(std::move(done));
    submit([this, ctx = std::move(ctx), presence,
            shared](pg::Connection& conn) { (*shared)(run_read(conn, ctx, presence)); },
           [shared] {
               (*shared)({std::nullopt, PolicyFailure::PoolExhausted, "too many checks queued"});
           });
}

void TopicPolicies::check_write(TopicAuthContext ctx,
                                std::function<void(PolicyOutcome<WriteVerdict>)> done) {
    auto shared =
        std::make_shared<std::function<void(PolicyOutcome<WriteVerdict>)>>(std::move(done));
    submit([this, ctx = std::move(ctx),
            shared](pg::Connection& conn) { (*shared)(run_write(conn, ctx)); },
           [shared] {
               (*shared)({std::nullopt, PolicyFailure::PoolExhausted, "too many checks queued"});
           });
}

void TopicPolicies::replay(std::string topic, std::int64_t since_ms, int limit,
                           std::function<void(PolicyOutcome<std::vector<ReplayedMessage>>)> done) {
    using Outcome = PolicyOutcome<std::vector<ReplayedMessage>>;
    auto shared = std::make_shared<std::function<void(Outcome)>>(std::move(done));
    submit(
        [this, topic = std::move(topic), since_ms, limit, shared](pg::Connection& conn) {
            if (!ensure_connected(conn))
                return (*shared)(Outcome{std::nullopt, PolicyFailure::Unavailable,
                                         "the database is unavailable"});
            // Newest first with the limit, then turned round; ctid keeps one transaction's rows
            // (same inserted_at, same partition) in insertion order.
            auto r = conn.exec(
                "SELECT id::text, event, payload::text, encode(binary_payload, 'hex') FROM ("
                "SELECT id, event, payload, binary_payload, inserted_at, ctid FROM "
                "realtime.messages WHERE topic = $1 AND private IS TRUE AND extension = "
                "'broadcast' AND inserted_at >= to_timestamp($2::bigint / 1000.0)::timestamp AND "
                "inserted_at < now()::timestamp + interval '1 minute' ORDER BY inserted_at DESC, "
                "ctid DESC LIMIT $3::int) newest ORDER BY inserted_at, ctid",
                {topic, std::to_string(since_ms), std::to_string(limit)});
            if (!r)
                return (*shared)(
                    Outcome{std::nullopt, failure_of(r.error()), r.error().describe()});
            std::vector<ReplayedMessage> rows;
            for (int i = 0; i < r->size(); ++i) {
                ReplayedMessage m{r->string(i, 0), r->string(i, 1), {}, false};
                if (auto hex = r->text(i, 3)) {
                    m.binary = true;
                    for (std::size_t k = 0; k + 1 < hex->size(); k += 2)
                        m.payload += static_cast<char>(
                            std::stoi(std::string(hex->substr(k, 2)), nullptr, 16));
                } else {
                    m.payload = r->text(i, 2) ? r->string(i, 2) : "{}";
                }
                rows.push_back(std::move(m));
            }
            (*shared)(Outcome{std::move(rows), PolicyFailure::RlsError, ""});
        },
        [shared] {
            (*shared)(
                Outcome{std::nullopt, PolicyFailure::PoolExhausted, "too many checks queued"});
        });
}

std::string TopicPolicies::read_script(const TopicAuthContext& ctx,
                                       const std::vector<std::string>& probe_ids, bool presence,
                                       std::uint32_t timeout_ms,
                                       const std::function<std::string(std::string_view)>& q) {
    std::string s = "BEGIN; SET LOCAL statement_timeout = " + std::to_string(timeout_ms) + "; ";
    // Probe rows, still as walcast's own role (which RLS on realtime.messages does not bind).
    s += "INSERT INTO realtime.messages (topic, extension, id, inserted_at, updated_at) VALUES ";
    const char* extensions[] = {"broadcast", "presence"};
    for (std::size_t i = 0; i < (presence ? 2u : 1u); ++i) {
        if (i) s += ", ";
        s += "(" + q(ctx.topic) + ", '" + extensions[i] + "', " + q(probe_ids[i]) + "::uuid, ";
        s += std::string(utc_now) + ", " + std::string(utc_now) + ")";
    }
    s += "; " + settings(ctx, q) + "; ";
    s += "SELECT extension FROM realtime.messages WHERE id = ANY(ARRAY[";
    for (std::size_t i = 0; i < (presence ? 2u : 1u); ++i) {
        if (i) s += ", ";
        s += q(probe_ids[i]) + "::uuid";
    }
    s += "]); ROLLBACK";
    return s;
}

PolicyOutcome<ReadVerdict> TopicPolicies::run_read(pg::Connection& conn,
                                                   const TopicAuthContext& ctx, bool presence) {
    if (!ensure_connected(conn))
        return {std::nullopt, PolicyFailure::Unavailable, "the database is unavailable"};
    const std::vector<std::string> ids{random_uuid(), random_uuid()};
    auto q = [&](std::string_view v) { return conn.quote_literal(v); };
    auto r = conn.exec_multi(read_script(ctx, ids, presence, options_.timeout_ms, q));
    if (!r) {
        if (conn.healthy()) (void)conn.exec_script("ROLLBACK");
        return {std::nullopt, failure_of(*r.error), r.error->describe()};
    }
    // BEGIN, SET, INSERT, SELECT set_config, SELECT extension, ROLLBACK.
    if (r.results.size() < 5)
        return {std::nullopt, PolicyFailure::RlsError, "unexpected results of the read check"};
    const auto& rows = r.results[4];
    ReadVerdict v{false, presence ? Permission(false) : std::nullopt};
    for (int i = 0; i < rows.size(); ++i) {
        const auto ext = rows.string(i, 0);
        if (ext == "broadcast") v.broadcast = true;
        if (ext == "presence" && presence) v.presence = true;
    }
    return {v, PolicyFailure::RlsError, ""};
}

PolicyOutcome<WriteVerdict> TopicPolicies::run_write(pg::Connection& conn,
                                                     const TopicAuthContext& ctx) {
    if (!ensure_connected(conn))
        return {std::nullopt, PolicyFailure::Unavailable, "the database is unavailable"};
    auto q = [&](std::string_view v) { return conn.quote_literal(v); };
    auto fail = [&](const pg::PgError& e) -> PolicyOutcome<WriteVerdict> {
        if (conn.healthy()) (void)conn.exec_script("ROLLBACK");
        return {std::nullopt, failure_of(e), e.describe()};
    };
    auto begin = conn.exec_multi("BEGIN; SET LOCAL statement_timeout = " +
                                 std::to_string(options_.timeout_ms) + "; " + settings(ctx, q));
    if (!begin) return fail(*begin.error);
    WriteVerdict v;
    for (const char* ext : {"broadcast", "presence"}) {
        // Without RETURNING, which would need the SELECT policy too (§7.3.4).
        auto ins = conn.exec_multi(
            "SAVEPOINT walcast_write; INSERT INTO realtime.messages (topic, extension, "
            "inserted_at, updated_at) VALUES (" +
            q(ctx.topic) + ", '" + ext + "', " + std::string(utc_now) + ", " +
            std::string(utc_now) + ")");
        bool granted = true;
        if (!ins) {
            if (!ins.error->is(pg::sqlstate::insufficient_privilege)) return fail(*ins.error);
            granted = false;
        }
        if (auto rb = conn.exec_script("ROLLBACK TO SAVEPOINT walcast_write"); !rb)
            return fail(rb.error());
        (std::string_view(ext) == "broadcast" ? v.broadcast : v.presence) = granted;
    }
    if (auto rb = conn.exec_script("ROLLBACK"); !rb) return fail(rb.error());
    return {v, PolicyFailure::RlsError, ""};
}

} // namespace walcast::broadcast
