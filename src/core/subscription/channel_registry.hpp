// Resume after restart: the durable record of which channels were subscribed (ChannelRegistry)
// and the gate that holds a named slot after a restart until those channels have re-joined or a
// grace period has passed (ResumeGate), so the backlog committed while walcast was down reaches
// them in order instead of being streamed and confirmed before anyone is listening.
#pragma once

#include "core/subscription/subscription_index.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// One subscribed channel as recorded: what identifies it when its client re-joins. Never the
/// token: the identity is the role and the `sub` claim.
struct ChannelRecord {
    std::string topic;
    std::vector<std::int64_t> binding_ids; ///< stable hashes of the binding objects (§3.2)
    std::vector<std::string> tables;       ///< "schema.table" per binding, for the log
    std::string role;
    std::string sub; ///< claims.sub; empty when the token has none (anon key)

    /// Equal for the same topic, bindings and identity: how a re-join is recognised.
    std::string key() const;
    static ChannelRecord of(const Subscription& s);
};

/// Keeps the live channels (SubscriptionIndex observer) and writes them, as a JSON array, to
/// `path` from its own thread — at most every `interval` after a change, via path.tmp, fsync
/// and rename, so a kill -9 leaves the previous or the new file, never a torn one. Channels
/// that joined less than `interval` before a crash may be missing from it. Thread-safe.
class ChannelRegistry final : public IndexObserver {
public:
    explicit ChannelRegistry(std::filesystem::path path,
                             std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    ~ChannelRegistry() override;

    /// The channels recorded by the last run (empty when there is no file). A file that cannot
    /// be read or parsed is an error (the caller logs it and resumes nothing).
    Result<std::vector<ChannelRecord>> load() const;
    /// Starts the writer thread.
    void start();
    /// Writes what is pending and stops recording: the unsubscribes of a shutdown are not
    /// written, so a SIGTERM'd walcast resumes its channels like a crashed one.
    void freeze();

    void on_added(const Subscription& s) override;
    void on_removed(const Subscription& s) override;

private:
    void writer_loop();
    Status write(const std::string& text) const;

    const std::filesystem::path path_;
    const std::chrono::milliseconds interval_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::unordered_map<std::uint64_t, ChannelRecord> live_; ///< subscription id → record
    bool dirty_ = false;
    bool frozen_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

/// Holds the source's start after a restart: released when every recorded channel has a live
/// subscription again (ChannelRecord::key) or `grace` has passed. Thread-safe.
class ResumeGate final : public IndexObserver {
public:
    ResumeGate(std::vector<ChannelRecord> expected, std::chrono::milliseconds grace);

    /// Blocks until released; returns the records that did not re-join — nullopt when
    /// cancel() ended the wait (shutdown).
    std::optional<std::vector<ChannelRecord>> wait();
    /// Releases wait() at once (shutdown).
    void cancel();
    /// Channels still awaited (0 once released).
    std::size_t awaited() const;
    bool released() const;

    void on_added(const Subscription& s) override;
    void on_removed(const Subscription&) override {}

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<std::string, ChannelRecord> awaited_;
    const std::chrono::steady_clock::time_point deadline_;
    bool cancelled_ = false;
    bool released_ = false;
};

} // namespace walcast::core
