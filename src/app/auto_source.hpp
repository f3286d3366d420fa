// AutoSource: CAPTURE=auto. Looks at the database once it can reach it — logical replication
// when wal_level is logical and the role may replicate, else trigger capture when it is
// installed — then runs that source, forwarding every call. The choice is made once per
// process and kept.
#pragma once

#include "capture/capture_mode.hpp"
#include "capture/source.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace walcast::app {

/// Threading: start() spawns a thread that probes the database (retrying with backoff while
/// it is unreachable), builds the chosen source with make (same sink) and starts it. Every
/// Source call may come from any thread; before the choice health() says what it waits for.
class AutoSource final : public capture::Source {
public:
    /// make builds the source of a mode ("logical" or "trigger"). fatal: a Config error while
    /// choosing (neither mode possible) ends the source (tail) instead of being retried (serve).
    AutoSource(pg::ConnectParams params,
               std::function<std::unique_ptr<capture::Source>(const std::string& mode)> make,
               bool fatal);
    ~AutoSource() override;

    std::string_view kind() const override;
    void start() override;
    void stop() override;
    void confirm(capture::Position end) override;
    capture::SourceHealth health() const override;
    capture::SourceStats stats() const override;
    std::string format_position(capture::Position p) const override;
    std::optional<capture::Position> parse_position(std::string_view text) const override;

    /// The source running, once chosen (nullptr before).
    capture::Source* chosen() const { return inner(); }
    /// The mode and why, once chosen.
    std::optional<capture::CaptureChoice> choice() const;
    /// Blocks until the choice is made or timeout passes; returns choice().
    std::optional<capture::CaptureChoice> wait_choice(std::chrono::milliseconds timeout) const;

private:
    void run();
    capture::Source* inner() const;

    pg::ConnectParams params_;
    std::function<std::unique_ptr<capture::Source>(const std::string&)> make_;
    bool fatal_;
    std::thread thread_;
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    bool stopping_ = false;
    std::unique_ptr<capture::Source> inner_;
    std::optional<capture::CaptureChoice> choice_;
    std::string waiting_for_ = "checking the database for logical replication";
    bool failed_ = false;
    std::atomic<capture::Source*> inner_ptr_{nullptr};
};

} // namespace walcast::app
