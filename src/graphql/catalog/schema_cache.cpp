#include "graphql/catalog/schema_cache.hpp"

#include "common/logging.hpp"
#include "graphql/catalog/read_catalog.hpp"

namespace walcast::graphql::catalog {

SchemaCache::SchemaCache(pg::ConnectParams params, Options options)
    : params_(std::move(params)), options_(std::move(options)) {
    params_.application_name = "walcast graphql schema";
}

SchemaCache::~SchemaCache() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const GeneratedSchema> SchemaCache::current() const {
    std::lock_guard lock(mu_);
    return current_;
}

std::string SchemaCache::last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
}

Status SchemaCache::refresh() {
    return refresh_locked_io(false);
}

Status SchemaCache::refresh_locked_io(bool check_fingerprint) {
    auto fail = [&](Error e) -> Status {
        std::lock_guard lock(mu_);
        if (e.message != last_error_)
            log::warn("GraphQL schema: {}{}", e.message,
                      current_ ? " (the schema built before stays in use)" : "");
        last_error_ = e.message;
        return e;
    };
    if (!conn_ || !conn_.healthy()) {
        auto c = pg::Connection::connect(params_);
        if (!c) return fail(std::move(c).error());
        conn_ = std::move(c).value();
    }
    if (check_fingerprint && !fingerprint_.empty()) {
        auto fp = read_catalog(conn_, options_.schemas, options_.roles, true);
        if (!fp) return fail(std::move(fp).error());
        if (fp->fingerprint == fingerprint_) return {};
    }
    auto snap = read_catalog(conn_, options_.schemas, options_.roles);
    if (!snap) return fail(std::move(snap).error());
    std::string fingerprint = snap->fingerprint;
    auto generated =
        generate_schema(std::make_shared<const CatalogSnapshot>(std::move(snap).value()));
    fingerprint_ = fingerprint; // a catalog that cannot be exposed is not read again until DDL
    if (!generated) return fail(std::move(generated).error());
    auto schema = std::move(generated).value();
    {
        std::lock_guard lock(mu_);
        current_ = schema;
        std::string schemas;
        for (const auto& n : options_.schemas)
            schemas += (schemas.empty() ? "" : ", ") + n;
        log::info("GraphQL schema built from {} relation(s) of {} ({} types)",
                  schema->bindings.relation_types.size(), schemas, schema->schema->types().size());
        last_error_.clear();
    }
    for (const auto& l : listeners_)
        l(schema);
    return {};
}

void SchemaCache::start() {
    if (options_.poll.count() <= 0 || thread_.joinable()) return;
    thread_ = std::thread([this] { loop(); });
}

void SchemaCache::loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, options_.poll, [&] { return stop_; });
        if (stop_) break;
        lock.unlock();
        (void)refresh_locked_io(true);
        lock.lock();
    }
}

} // namespace walcast::graphql::catalog
