#include "core/subscription_service.hpp"

#include "auth/claims.hpp"
#include "common/logging.hpp"
#include "core/binding_spec.hpp"
#include "core/filter.hpp"
#include "core/value_normalizer.hpp"
#include "pg/catalog.hpp"
#include "pg/relation_loader.hpp"

#include <chrono>
#include <unordered_set>

namespace walcast::core {

namespace {

/// How often grants/RLS switches are re-read (changes take effect within this time).
constexpr auto access_refresh_interval = std::chrono::seconds(2);
/// phash2's range (spec §3.2): ids are 27-bit, like the reference's.
constexpr std::uint64_t binding_id_mask = (1u << 27) - 1;

const std::string invalid_params_code = "InvalidPostgresChangesParams";
const std::string disabled_code = "RealtimeDisabledForConfiguration";

struct PublishedTable {
    pg::Oid oid;
    std::string schema;
    std::string table;
};

} // namespace

std::int64_t binding_id(const boost::json::object& binding) {
    // FNV-1a 64 over the canonical JSON (keys sorted), folded to 27 bits.
    const std::string text = auth::canonical_json(binding);
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    std::uint64_t id = (h ^ (h >> 27) ^ (h >> 54)) & binding_id_mask;
    return static_cast<std::int64_t>(id == 0 ? 1 : id);
}

struct SubscriptionService::State {
    pg::Connection conn;
    std::unique_ptr<pg::Catalog> catalog;
    std::unique_ptr<pg::RelationLoader> loader;
    std::unique_ptr<PgValueNormalizer> normalizer;
    std::vector<PublishedTable> tables;
    std::chrono::steady_clock::time_point tables_loaded{};
    std::unordered_map<pg::Oid, capture::RelationPtr> relations;
    std::unordered_set<std::string> roles;
    std::chrono::steady_clock::time_point access_checked{};

    Status ensure_connected(const pg::ConnectParams& params) {
        if (conn.healthy()) return {};
        normalizer.reset();
        loader.reset();
        catalog.reset();
        auto c = pg::Connection::connect(params);
        if (!c) return std::move(c).error();
        conn = std::move(c).value();
        catalog = std::make_unique<pg::Catalog>(conn);
        loader = std::make_unique<pg::RelationLoader>(*catalog);
        normalizer = std::make_unique<PgValueNormalizer>(conn);
        relations.clear();
        roles.clear();
        tables_loaded = {};
        return {};
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
                                         MetricsRegistry& metrics)
    : params_(std::move(params)), publication_(std::move(publication)), index_(index),
      access_(access), state_(std::make_unique<State>()),
      subscribed_(metrics.counter("walcast_subscriptions_created_total",
                                  "channels whose postgres_changes bindings went live")),
      refused_(metrics.counter("walcast_subscriptions_refused_total",
                               "channels whose postgres_changes bindings were invalid")) {
    metrics.gauge_callback("walcast_subscriptions", "live postgres_changes subscriptions",
                           [this] { return static_cast<double>(index_.subscriptions()); });
    metrics.gauge_callback("walcast_bindings", "live postgres_changes bindings",
                           [this] { return static_cast<double>(index_.bindings()); });
}

SubscriptionService::~SubscriptionService() {
    stop();
}

void SubscriptionService::start() {
    worker_ = std::thread([this] { worker_loop(); });
}

void SubscriptionService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void SubscriptionService::subscribe(SubscribeRequest request,
                                    std::function<void(SubscribeOutcome)> done) {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{std::move(request), std::move(done)});
    }
    cv_.notify_one();
}

void SubscriptionService::unsubscribe(const SubscriptionPtr& subscription) {
    if (subscription) index_.remove(subscription);
}

void SubscriptionService::worker_loop() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, access_refresh_interval,
                         [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            if (!jobs_.empty()) {
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
        }
        auto& st = *state_;
        auto now = std::chrono::steady_clock::now();
        if (now - st.access_checked >= access_refresh_interval && st.ensure_connected(params_)) {
            st.access_checked = now;
            auto changed = access_.refresh_if_changed(st.conn);
            if (changed && *changed) {
                // Grants, RLS switches or keys changed: re-read relations and tables too.
                st.relations.clear();
                st.tables_loaded = {};
                log::info("privileges or row-level security settings changed; access rules "
                          "reloaded");
            }
        }
        if (!job.done) continue;
        auto outcome = handle(job.request);
        (outcome.error ? refused_ : subscribed_).inc();
        job.done(std::move(outcome));
    }
}

SubscribeOutcome SubscriptionService::handle(SubscribeRequest& req) {
    SubscribeOutcome out;
    for (const auto& b : req.bindings)
        out.ids.push_back(binding_id(b));
    auto fail = [&](std::string message, const std::string& code) {
        out.error = std::move(message);
        out.error_code = code;
        return std::move(out);
    };

    // 1. Parse every binding (spec §5.1–§5.4); the first error fails the channel.
    std::vector<BindingSpec> specs;
    for (const auto& raw : req.bindings) {
        auto spec = parse_binding(raw);
        if (!spec) return fail(spec.error().message, invalid_params_code);
        specs.push_back(std::move(spec).value());
    }

    auto& st = *state_;
    if (auto s = st.ensure_connected(params_); !s)
        return fail("Unable to subscribe to changes: the database is unreachable (" +
                        s.error().message + ")",
                    "UnableToConnectToProject");

    const std::string& role = req.identity->role;
    // 2. The token's role must exist (the reference casts claims_role to regrole).
    if (!st.roles.count(role)) {
        auto r = st.conn.exec("SELECT 1 FROM pg_roles WHERE rolname = $1", {role});
        if (!r)
            return fail("Unable to subscribe to changes: " + r.error().describe(),
                        invalid_params_code);
        if (r->empty()) {
            SqlError e{"42704", "role \"" + role + "\" does not exist", "", "", false};
            return fail(subscribe_exception_message(specs.front(), e), invalid_params_code);
        }
        st.roles.insert(role);
    }

    // 3. Resolve each binding to the publication's tables, validate and compile as the role.
    std::vector<Binding> bindings;
    std::vector<std::vector<std::string>> select_lists;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto& spec = specs[i];
        auto matching = [&] {
            std::vector<const PublishedTable*> m;
            for (const auto& t : st.tables)
                if (spec.matches_relation(t.schema, t.table)) m.push_back(&t);
            return m;
        };
        auto tables = matching();
        // A miss may be a table added to the publication since the list was read.
        if (tables.empty() || st.tables_loaded == std::chrono::steady_clock::time_point{}) {
            if (auto s = st.load_tables(publication_); !s)
                return fail("Unable to subscribe to changes: " + s.error().message,
                            invalid_params_code);
            tables = matching();
        }
        if (tables.empty()) return fail(unable_to_subscribe_message(spec), disabled_code);

        Binding b;
        b.id = out.ids[i];
        b.spec = spec;
        for (const auto* t : tables) {
            auto rel = st.relation(*t);
            if (!rel)
                return fail("Unable to subscribe to changes: " + rel.error().message,
                            invalid_params_code);
            auto access = access_.access(st.conn, role, t->oid);
            if (!access)
                return fail("Unable to subscribe to changes: " + access.error().message,
                            invalid_params_code);
            std::unordered_set<std::string> readable((*access)->readable_columns.begin(),
                                                     (*access)->readable_columns.end());
            if (!spec.filters.empty()) {
                auto compiled =
                    CompiledFilter::compile(spec.filters, **rel, *st.normalizer, &readable);
                if (!compiled)
                    return fail(subscribe_exception_message(spec, compiled.error()),
                                invalid_params_code);
                b.compiled.emplace(
                    t->oid, std::make_shared<const CompiledFilter>(std::move(compiled).value()));
            }
            if (auto e = check_select_columns(spec, **rel, &readable))
                return fail(subscribe_exception_message(spec, *e), invalid_params_code);
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

    out.subscription =
        std::make_shared<Subscription>(req.topic, std::move(bindings), req.identity, req.sink);
    index_.add(out.subscription);
    return out;
}

std::shared_ptr<const CompiledFilter>
SubscriptionService::compile_late(const Binding& binding, const capture::Relation& relation,
                                  const std::string& role, const pg::Connection& conn) {
    PgValueNormalizer normalizer(conn);
    auto access = access_.access(conn, role, relation.oid);
    if (!access) {
        log::warn("compiling a filter for {}.{}: {}", relation.schema, relation.table,
                  access.error().message);
        return nullptr;
    }
    std::unordered_set<std::string> readable((*access)->readable_columns.begin(),
                                             (*access)->readable_columns.end());
    auto compiled = CompiledFilter::compile(binding.spec.filters, relation, normalizer, &readable);
    if (!compiled) {
        log::info("binding {} does not apply to {}.{}: {}", binding.id, relation.schema,
                  relation.table, compiled.error().message);
        return nullptr;
    }
    return std::make_shared<const CompiledFilter>(std::move(compiled).value());
}

} // namespace walcast::core
