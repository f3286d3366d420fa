// App: the composition root — the whole realtime pipeline in one object: the capture source
// Config chooses, the change fan-out and its consumers (the router), the authorizer, the
// subscription service and the HTTP/WebSocket server on an I/O thread pool. `walcast serve`
// runs one; tests can run one in-process.
#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace walcast::app {

/// Owns every component; start() brings them up in dependency order, stop() tears them down.
/// Not copyable; start/stop from one thread.
class App {
public:
    /// config: validated configuration (port 0 = ephemeral). params: the database.
    App(Config config, pg::ConnectParams params);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Creates the token verifier (errors name JWT_SECRET/JWT_JWKS), listens, starts the
    /// worker threads and the replication stream (which comes up asynchronously: see
    /// stream_up()). Errors are start-up errors with a fix.
    Status start();
    /// Closes every client (1001), stops the stream and joins all threads. Idempotent.
    void stop();

    std::uint16_t port() const;
    /// True while the capture source is streaming.
    bool stream_up() const;
    /// Blocks until the stream is up or timeout passes; returns stream_up().
    bool wait_stream_up(std::chrono::milliseconds timeout) const;
    /// The Prometheus text of /metrics (tests read counters without HTTP).
    std::string metrics_text() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace walcast::app
