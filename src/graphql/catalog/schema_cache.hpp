// The current GraphQL schema of a running walcast: generated from the catalog at start, then
// regenerated when the catalog's fingerprint changes (DDL while walcast runs), checked every
// GRAPHQL_SCHEMA_POLL_MS on a connection and a thread of its own.
#pragma once

#include "graphql/catalog/generate_schema.hpp"
#include "graphql/catalog/read_catalog.hpp"
#include "pg/connection.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walcast::graphql::catalog {

class SchemaCache {
public:
    struct Options {
        std::vector<std::string> schemas{"public"};           ///< GRAPHQL_SCHEMAS
        std::vector<std::string> roles = default_api_roles(); ///< whose privileges count
        std::chrono::milliseconds poll{2000}; ///< GRAPHQL_SCHEMA_POLL_MS; 0 = build once
    };
    using Listener = std::function<void(std::shared_ptr<const GeneratedSchema>)>;

    SchemaCache(pg::ConnectParams params, Options options);
    /// Stops the thread (waits for a catalog read in progress).
    ~SchemaCache();
    SchemaCache(const SchemaCache&) = delete;
    SchemaCache& operator=(const SchemaCache&) = delete;

    /// Reads the catalog and builds the schema now, on the calling thread (start-up, tests).
    /// Errors: no connection, the catalog read failed, or nothing to expose; the schema kept
    /// before (if any) stays current.
    Status refresh();
    /// Starts the polling thread (refresh() when the fingerprint changed or after a failure).
    void start();

    /// The schema new operations use; null while none could be built. Any thread, no I/O.
    std::shared_ptr<const GeneratedSchema> current() const;
    /// Why there is no (or no newer) schema: the last refresh's error, "" after a success.
    std::string last_error() const;
    /// Called on the cache's thread (or refresh()'s caller) after each new schema. Register
    /// before start().
    void on_rebuild(Listener listener) { listeners_.push_back(std::move(listener)); }

private:
    Status refresh_locked_io(bool check_fingerprint);
    void loop();

    pg::ConnectParams params_;
    Options options_;
    pg::Connection conn_; // the cache's thread (or refresh() before start())
    std::string fingerprint_;
    std::vector<Listener> listeners_;

    mutable std::mutex mu_;
    std::shared_ptr<const GeneratedSchema> current_;
    std::string last_error_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace walcast::graphql::catalog
