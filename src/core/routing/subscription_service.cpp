#include "core/routing/subscription_service.hpp"

#include "common/logging.hpp"
#include "core/filter/filter.hpp"
#include "core/filter/value_normalizer.hpp"
#include "pg/catalog.hpp"
#include "pg/relation_loader.hpp"
#include "pg/sqlstate.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_set>

namespace walcast::core {

namespace {

/// How often grants/RLS switches are re-read (changes take effect within this time).
constexpr auto access_refresh_interval = std::chrono::seconds(2);
struct PublishedTable {
    pg::Oid oid;
    std::string schema;
    std::string table;
};

} // namespace

std::vector<std::string> parse_role_list(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view name = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
            name.remove_prefix(1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.remove_suffix(1);
        if (!name.empty()) out.emplace_back(name);
    }
    return out;
}

struct SubscriptionService::State {
    pg::Connection conn;
    std::unique_ptr<pg::Catalog> catalog;
    std::unique_ptr<pg::RelationLoader> loader;
    std::unique_ptr<PgValueNormalizer> normalizer;
    std::unique_ptr<PgAccessSource> access_source;
    std::vector<PublishedTable> tables;
    std::chrono::steady_clock::time_point tables_loaded{};
    std::unordered_map<pg::Oid, capture::RelationPtr> relations;
    std::unordered_set<std::string> roles; ///< exist and walcast's user may assume them
    std::uint64_t generation = 0;          ///< access_generation_ the caches were filled under
    /// Shared by the workers: role '\0' table oid of the unreadable tables logged (once).
    struct Logged {
        std::mutex mu;
        std::unordered_set<std::string> keys;
    };
    std::shared_ptr<Logged> logged;
    std::uint32_t statement_timeout_ms = 0;

    void drop_caches() {
        relations.clear();
        tables_loaded = {};
        roles.clear(); // role memberships and attributes may have changed too
    }

    Status ensure_connected(const pg::ConnectParams& params) {
        if (conn.healthy()) return {};
        normalizer.reset();
        access_source.reset();
        loader.reset();
        catalog.reset();
        auto c = pg::Connection::connect(params);
        if (!c) return std::move(c).error();
        conn = std::move(c).value();
        // Every validation statement is bounded: a filter value Postgres needs long to cast
        // (or a regular expression to compile) fails its join instead of holding a worker.
        if (statement_timeout_ms > 0) {
            auto t = conn.exec("SELECT set_config('statement_timeout', $1, false)",
                               {std::to_string(statement_timeout_ms)});
            if (!t) return t.error().to_error().context("setting statement_timeout");
        }
        catalog = std::make_unique<pg::Catalog>(conn);
        loader = std::make_unique<pg::RelationLoader>(*catalog);
        normalizer = std::make_unique<PgValueNormalizer>(conn);
        access_source = std::make_unique<PgAccessSource>(conn);
        relations.clear();
        roles.clear();
        tables_loaded = {};
        return {};
    }

    /// A table `role` may not read at all, with the GRANTs that fix it; logged once per role
    /// and table (bounded by roles × published tables).
    pg::SqlResult<UnreadableTable> unreadable_table(const std::string& role,
                                                    const PublishedTable& t) {
        auto r = conn.exec("SELECT has_schema_privilege($1, c.relnamespace, 'USAGE'),"
                           " has_any_column_privilege($1, c.oid, 'SELECT')"
                           " FROM pg_catalog.pg_class c WHERE c.oid = $2::oid",
                           {role, std::to_string(t.oid)});
        if (!r) return std::move(r).error();
        UnreadableTable u{t.schema, t.table, r->size() == 0 || r->boolean(0, 0) != false, {}};
        const bool select = r->size() > 0 && r->boolean(0, 1) == true;
        const std::string who = conn.quote_ident(role);
        if (!u.schema_usage)
            u.fix = "GRANT USAGE ON SCHEMA " + conn.quote_ident(t.schema) + " TO " + who + ";";
        if (!select || u.schema_usage)
            u.fix += std::string(u.fix.empty() ? "" : " ") + "GRANT SELECT ON " +
                     conn.quote_ident(t.schema) + "." + conn.quote_ident(t.table) + " TO " + who +
                     ";";
        bool first = false;
        {
            std::lock_guard lock(logged->mu);
            first = logged->keys.insert(role + '\0' + std::to_string(t.oid)).second;
        }
        if (first)
            log::warn("a channel of role {} subscribed to {}.{}, which the role may not read: none "
                      "of its changes are delivered to it. Fix: {}",
                      role, t.schema, t.table, u.fix);
        return u;
    }

    Status load_tables(const std::string& publication) {
        auto res =
            conn.exec("SELECT c.oid, n.nspname, c.relname FROM pg_publication_tables p"
                      " JOIN pg_namespace n ON n.nspname = p.schemaname"
                      " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename"
                      " WHERE p.pubname = $1 ORDER BY 2, 3",
                      {publication});
        if (!res) return res.error().to_error().context("listing the publication's tables");
        tables.clear();
        for (int r = 0; r < res->size(); ++r) {
            auto oid = res->integer<pg::Oid>(r, 0);
            if (!oid) continue;
            tables.push_back({*oid, res->string(r, 1), res->string(r, 2)});
        }
        tables_loaded = std::chrono::steady_clock::now();
        return {};
    }

    // The table as the catalog describes it now (pg::RelationLoader: columns, types, primary
    // key, replica identity, collations), cached until access rules change.
    Result<capture::RelationPtr> relation(const PublishedTable& t) {
        if (auto it = relations.find(t.oid); it != relations.end()) return it->second;
        auto d = loader->load(t.oid);
        if (!d) return std::move(d).error().context("reading the columns of " + t.table);
        capture::RelationPtr ptr = capture::make_relation(std::move(d).value());
        relations.emplace(t.oid, ptr);
        return ptr;
    }
};

SubscriptionService::SubscriptionService(pg::ConnectParams params, std::string publication,
                                         SubscriptionIndex& index, AccessCache& access,
                                         MetricsRegistry& metrics, SubscriptionOptions options)
    : params_(std::move(params)), publication_(std::move(publication)), index_(index),
      access_(access), options_(std::move(options)),
      subscribed_(metrics.counter("walcast_subscriptions_created_total",
                                  "channels whose postgres_changes bindings went live")),
      refused_(metrics.counter("walcast_subscriptions_refused_total",
                               "channels whose postgres_changes bindings were invalid")),
      dropped_(metrics.counter("walcast_subscriptions_dropped_total",
                               "join validations dropped unrun: their channel was left, joined "
                               "again or its socket closed first")) {
    if (options_.workers == 0) options_.workers = 1;
    auto logged = std::make_shared<State::Logged>();
    for (unsigned i = 0; i < options_.workers; ++i) {
        states_.push_back(std::make_unique<State>());
        states_.back()->logged = logged;
        states_.back()->statement_timeout_ms = options_.statement_timeout_ms;
    }
    metrics.gauge_callback("walcast_subscriptions", "live postgres_changes subscriptions",
                           [this] { return static_cast<double>(index_.subscriptions()); });
    metrics.gauge_callback("walcast_bindings", "live postgres_changes bindings",
                           [this] { return static_cast<double>(index_.bindings()); });
    metrics.gauge_callback("walcast_subscriptions_queued", "join validations waiting for a worker",
                           [this] { return static_cast<double>(queued()); });
}

SubscriptionService::~SubscriptionService() {
    stop();
}

void SubscriptionService::start() {
    for (auto& st : states_)
        workers_.emplace_back([this, s = st.get()] { worker_loop(*s); });
}

void SubscriptionService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_)
        if (w.joinable()) w.join();
    workers_.clear();
    // Requests never run: their callbacks are destroyed here, unrun.
    std::lock_guard lock(mu_);
    sources_.clear();
    ready_.clear();
    queued_ = 0;
}

namespace {

/// Whether w was ever given an object (an empty weak_ptr is expired too).
template <class T> bool assigned(const std::weak_ptr<T>& w) {
    return w.owner_before(std::weak_ptr<T>{}) || std::weak_ptr<T>{}.owner_before(w);
}

} // namespace

std::shared_ptr<const void>
SubscriptionService::count_bindings(std::uintptr_t source, std::size_t n,
                                    std::optional<SubscribeError>& refusal) {
    auto refuse = [&](const char* setting, std::size_t limit, std::size_t in_use) {
        refusal.emplace();
        refusal->kind = SubscribeError::Kind::TooManyBindings;
        refusal->setting = setting;
        refusal->limit = limit;
        refusal->requested = n;
        refusal->in_use = in_use;
        return nullptr;
    };
    if (n > options_.max_bindings_per_channel)
        return refuse("MAX_BINDINGS_PER_CHANNEL", options_.max_bindings_per_channel, 0);
    auto counts = binding_counts_;
    {
        std::lock_guard lock(counts->mu);
        std::size_t& used = counts->in_use[source];
        if (used + n > options_.max_bindings_per_client) {
            const std::size_t in_use = used;
            if (used == 0) counts->in_use.erase(source);
            return refuse("MAX_BINDINGS_PER_CLIENT", options_.max_bindings_per_client, in_use);
        }
        used += n;
    }
    // Given back when the last holder (the job, then the Subscription) lets go.
    struct Lease {
        std::shared_ptr<BindingCounts> counts;
        std::uintptr_t source;
        std::size_t n;
        ~Lease() {
            std::lock_guard lock(counts->mu);
            auto it = counts->in_use.find(source);
            if (it == counts->in_use.end()) return;
            it->second -= std::min(it->second, n);
            if (it->second == 0) counts->in_use.erase(it);
        }
    };
    return std::shared_ptr<const void>(new Lease{std::move(counts), source, n});
}

void SubscriptionService::subscribe(SubscribeRequest request,
                                    std::function<void(SubscribeOutcome)> done) {
    Job job;
    job.sink = request.sink;
    job.owned = assigned(request.sink);
    const auto source = request.source;
    job.bindings = count_bindings(source, request.bindings.size(), job.refusal);
    job.request = std::move(request);
    job.done = std::move(done);
    enqueue(source, std::move(job));
}

void SubscriptionService::refused(std::uintptr_t source, std::weak_ptr<ChannelSink> sink,
                                  std::function<void()> done) {
    Job job;
    job.owned = assigned(sink);
    job.sink = std::move(sink);
    job.in_order = std::move(done);
    enqueue(source, std::move(job));
}

void SubscriptionService::check_role(std::uintptr_t source, std::weak_ptr<ChannelSink> sink,
                                     std::string role,
                                     std::function<void(std::optional<SubscribeError>)> done) {
    Job job;
    job.owned = assigned(sink);
    job.sink = std::move(sink);
    job.role = std::move(role);
    job.role_check = std::move(done);
    enqueue(source, std::move(job));
}

std::size_t SubscriptionService::queued() const {
    std::lock_guard lock(mu_);
    return queued_;
}

void SubscriptionService::drop_ended(Source& q) {
    const auto before = q.jobs.size();
    std::erase_if(q.jobs, [](const Job& j) { return j.ended(); });
    const auto n = before - q.jobs.size();
    queued_ -= n;
    if (n) dropped_.inc(n);
}

void SubscriptionService::enqueue(std::uintptr_t source, Job job) {
    std::vector<Job> ended; // destroyed outside the lock (their callbacks own channel state)
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        Source& q = sources_[source];
        // A re-join ends the channel it replaces before asking again: what it queued is dead.
        for (auto& j : q.jobs)
            if (j.ended()) ended.push_back(std::move(j));
        drop_ended(q);
        q.jobs.push_back(std::move(job));
        ++queued_;
        if (!q.busy && !q.ready) {
            q.ready = true;
            ready_.push_back(source);
        }
    }
    cv_.notify_one();
}

void SubscriptionService::unsubscribe(const SubscriptionPtr& subscription) {
    if (subscription) index_.remove(subscription);
}

void SubscriptionService::refresh_access(State& st) {
    {
        std::lock_guard lock(mu_);
        const auto now = std::chrono::steady_clock::now();
        if (refreshing_ || now - access_checked_ < access_refresh_interval) return;
        refreshing_ = true;
        access_checked_ = now;
    }
    if (st.ensure_connected(params_)) {
        auto changed = access_.refresh_if_changed(*st.access_source);
        if (changed && *changed) {
            // Grants, RLS switches, role attributes or keys changed: every worker re-reads
            // relations, tables and roles.
            access_generation_.fetch_add(1);
            log::info("privileges or row-level security settings changed; access rules "
                      "reloaded");
        }
    }
    std::lock_guard lock(mu_);
    refreshing_ = false;
}

void SubscriptionService::worker_loop(State& st) {
    for (;;) {
        Job job;
        std::uintptr_t source = 0;
        bool have = false;
        {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, access_refresh_interval,
                         [&] { return stopping_ || !ready_.empty(); });
            if (stopping_) return;
            while (!have && !ready_.empty()) {
                source = ready_.front();
                ready_.pop_front();
                auto it = sources_.find(source);
                if (it == sources_.end()) continue;
                Source& q = it->second;
                q.ready = false;
                // Ended jobs are dropped here too (their channel ended after they queued).
                while (!q.jobs.empty() && q.jobs.front().ended()) {
                    Job dead = std::move(q.jobs.front());
                    q.jobs.pop_front();
                    --queued_;
                    dropped_.inc();
                    lock.unlock(); // its callback may release channel state
                    dead = Job{};
                    lock.lock();
                }
                if (q.jobs.empty()) {
                    if (!q.busy) sources_.erase(it);
                    continue;
                }
                job = std::move(q.jobs.front());
                q.jobs.pop_front();
                --queued_;
                q.busy = true;
                have = true;
            }
        }
        refresh_access(st);
        if (!have) continue;
        run(st, job);
        job = Job{};
        {
            std::lock_guard lock(mu_);
            auto it = sources_.find(source);
            if (it != sources_.end()) {
                Source& q = it->second;
                q.busy = false;
                if (q.jobs.empty()) {
                    sources_.erase(it);
                } else if (!q.ready) {
                    // The source's next request waits behind every other source's.
                    q.ready = true;
                    ready_.push_back(source);
                }
            }
        }
        cv_.notify_one();
    }
}

void SubscriptionService::run(State& st, Job& job) {
    if (const auto g = access_generation_.load(); g != st.generation) {
        st.drop_caches();
        st.generation = g;
    }
    if (job.in_order) {
        refused_.inc();
        job.in_order();
        return;
    }
    // A validation whose connection was lost (Postgres restarted since this worker's last
    // statement, or its backend was terminated) runs once more on a new connection; an error
    // with the connection lost is Unreachable (a join retries it), not the query's.
    const bool was_connected = st.conn.healthy();
    auto lost = [&](std::optional<SubscribeError>& e) {
        if (!e || st.conn.healthy()) return false;
        if (e->kind == SubscribeError::Kind::QueryFailed)
            e->kind = SubscribeError::Kind::Unreachable;
        return was_connected;
    };
    if (job.role_check) {
        auto e = check_role_now(st, job.role);
        if (lost(e)) {
            e = check_role_now(st, job.role);
            lost(e);
        }
        job.role_check(std::move(e));
        return;
    }
    if (!job.done) return;
    SubscribeOutcome outcome;
    if (job.refusal) {
        outcome.error = std::move(job.refusal);
    } else {
        outcome = handle(st, job.request);
        if (lost(outcome.error)) {
            outcome = handle(st, job.request);
            lost(outcome.error);
        }
    }
    (outcome.error ? refused_ : subscribed_).inc();
    // The bindings stay counted while the subscription lives; a failed join gives them back.
    if (outcome.subscription) outcome.subscription->hold(std::move(job.bindings));
    job.bindings.reset();
    job.done(std::move(outcome));
}

std::optional<SubscribeError> SubscriptionService::check_role_now(State& st,
                                                                  const std::string& role) {
    if (st.roles.count(role)) return std::nullopt;
    using Kind = SubscribeError::Kind;
    SubscribeError e;
    if (auto s = st.ensure_connected(params_); !s) {
        e.kind = Kind::Unreachable;
        e.message = s.error().message;
        return e;
    }
    // The token's role must exist (the reference casts claims_role to regrole); it must not
    // see every row unless the operator allows it (a superuser or a BYPASSRLS role is exempt
    // from every policy — PostgreSQL docs, CREATE ROLE; the attribute is the role's own, never
    // inherited); and walcast's user must be able to assume it: row-level security is checked
    // as the role (SET ROLE needs membership of the session user, with or without INHERIT —
    // PostgreSQL docs, SET ROLE; pg_has_role(…, 'MEMBER') is that test and true for
    // superusers).
    auto r = st.conn.exec("SELECT pg_has_role(session_user, r.oid, 'MEMBER'), session_user,"
                          " r.rolsuper, r.rolbypassrls"
                          " FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
                          {role});
    if (!r) {
        e.kind = Kind::QueryFailed;
        e.message = r.error().describe();
        return e;
    }
    e.role = role;
    if (r->empty()) {
        e.kind = Kind::UnknownRole;
        return e;
    }
    const bool super = r->boolean(0, 2) == true;
    if ((super || r->boolean(0, 3) == true) &&
        std::find(options_.allowed_privileged_roles.begin(),
                  options_.allowed_privileged_roles.end(),
                  role) == options_.allowed_privileged_roles.end()) {
        e.kind = Kind::PrivilegedRole;
        e.attribute = super ? "SUPERUSER" : "BYPASSRLS";
        return e;
    }
    if (r->boolean(0, 0) != true) {
        e.kind = Kind::CannotAssumeRole;
        e.user = r->string(0, 1);
        e.fix = "GRANT " + st.conn.quote_ident(role) + " TO " + st.conn.quote_ident(e.user) + ";";
        return e;
    }
    st.roles.insert(role); // re-read when privileges, RLS switches or role attributes change
    return std::nullopt;
}

SubscribeOutcome SubscriptionService::handle(State& st, SubscribeRequest& req) {
    SubscribeOutcome out;
    using Kind = SubscribeError::Kind;
    auto fail = [&](Kind kind, std::size_t binding = 0) -> SubscribeError& {
        out.error.emplace();
        out.error->kind = kind;
        out.error->binding = binding;
        return *out.error;
    };
    if (req.bindings.empty()) {
        fail(Kind::QueryFailed).message = "a subscription needs at least one binding";
        return out;
    }

    if (auto s = st.ensure_connected(params_); !s) {
        fail(Kind::Unreachable).message = s.error().message;
        return out;
    }

    // 1. The role (cached once accepted).
    if (auto e = check_role_now(st, req.identity->role)) {
        out.error = std::move(e);
        return out;
    }
    const std::string& role = req.identity->role;

    // 2. Resolve each binding to the publication's tables, validate and compile as the role.
    std::vector<Binding> bindings;
    std::vector<std::vector<std::string>> select_lists;
    for (std::size_t i = 0; i < req.bindings.size(); ++i) {
        const auto& spec = req.bindings[i].spec;
        auto matching = [&] {
            std::vector<const PublishedTable*> m;
            for (const auto& t : st.tables)
                if (spec.matches_relation(t.schema, t.table)) m.push_back(&t);
            return m;
        };
        auto tables = matching();
        // A miss may be a table added to the publication since the list was read.
        if (tables.empty() || st.tables_loaded == std::chrono::steady_clock::time_point{}) {
            if (auto s = st.load_tables(publication_); !s) {
                fail(Kind::QueryFailed).message = s.error().message;
                return out;
            }
            tables = matching();
        }
        if (tables.empty()) {
            fail(Kind::NoTable, i);
            return out;
        }

        Binding b;
        b.id = req.bindings[i].id;
        b.spec = spec;
        for (const auto* t : tables) {
            auto rel = st.relation(*t);
            if (!rel) {
                fail(Kind::QueryFailed).message = rel.error().message;
                return out;
            }
            auto access = access_.access(*st.access_source, role, t->oid);
            if (!access) {
                fail(Kind::QueryFailed).message = access.error().message;
                return out;
            }
            std::unordered_set<std::string> readable((*access)->readable_columns.begin(),
                                                     (*access)->readable_columns.end());
            if (readable.empty() &&
                std::none_of(out.unreadable.begin(), out.unreadable.end(), [&](const auto& u) {
                    return u.schema == t->schema && u.table == t->table;
                })) {
                auto u = st.unreadable_table(role, *t);
                if (!u) {
                    fail(Kind::QueryFailed).message = u.error().describe();
                    return out;
                }
                out.unreadable.push_back(std::move(u).value());
            }
            if (!spec.filters.empty()) {
                auto compiled =
                    CompiledFilter::compile(spec.filters, **rel, *st.normalizer, &readable);
                if (!compiled) {
                    auto& e = fail(Kind::InvalidFilter, i);
                    e.filter = std::move(compiled).error();
                    if (e.filter.postgres.sqlstate == pg::sqlstate::query_canceled &&
                        e.filter.postgres.hint.empty())
                        e.filter.postgres.hint =
                            "validating this filter took longer than JOIN_STATEMENT_TIMEOUT_MS (" +
                            std::to_string(options_.statement_timeout_ms) + " ms)";
                    return out;
                }
                b.compiled.emplace(
                    t->oid, std::make_shared<const CompiledFilter>(std::move(compiled).value()));
            }
            if (auto col = missing_select_column(spec, **rel, &readable)) {
                fail(Kind::InvalidSelect, i).column = *col;
                return out;
            }
        }
        // Equal select lists share a message (spec §4.1).
        std::vector<std::string> sel = spec.select.value_or(std::vector<std::string>{});
        std::sort(sel.begin(), sel.end());
        if (!spec.select) sel = {"\x01*"}; // "all columns" differs from any list
        auto g = std::find(select_lists.begin(), select_lists.end(), sel);
        b.select_group = static_cast<std::uint16_t>(g - select_lists.begin());
        if (g == select_lists.end()) select_lists.push_back(std::move(sel));
        bindings.push_back(std::move(b));
    }

    out.subscription = std::make_shared<Subscription>(req.topic, std::move(bindings), req.identity,
                                                      req.sink, *req.format, req.source);
    index_.add(out.subscription);
    return out;
}

} // namespace walcast::core
