// broadcast::PartitionKeeper: keeps the daily partitions of realtime.messages ahead of the
// clock and drops the expired ones (spec §7.4.4) for a server that runs for days: at start and
// then every `interval` it runs pg::partition_statement() (yesterday … today + 3, UTC; a no-op
// when the table is absent or not partitioned), then drops the partitions named
// `messages_YYYY_MM_DD` whose date is before the UTC date of (now − retention), as the
// reference's janitor does (RT:`lib/realtime/messages.ex` `delete_old_messages/1`): messages
// live between `retention` and `retention` + 24 h. Partitions of other names (an app's own) are
// never dropped. Without today's partition realtime.send() only warns and private joins fail
// with MissingPartition.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walcast::broadcast {

/// Owns one thread; start() once, stop() (or the destructor) joins it.
class PartitionKeeper {
public:
    /// retention: partitions whose day ended this long ago are dropped (MESSAGES_RETENTION_HOURS,
    /// 72 by default); zero keeps every partition.
    PartitionKeeper(pg::ConnectParams params, std::chrono::milliseconds interval,
                    std::chrono::hours retention);
    ~PartitionKeeper();
    PartitionKeeper(const PartitionKeeper&) = delete;
    PartitionKeeper& operator=(const PartitionKeeper&) = delete;

    void start();
    void stop();

    /// One pass on its own connection (what the thread runs every interval): creates the
    /// partitions, then drops the expired ones. Returns the names dropped (realtime.<name>), in
    /// name order. Errors (Unavailable: no connection; Config: a statement failed, e.g. no
    /// privilege — the message names the fix); partitions dropped before an error stay dropped.
    /// Any thread; not concurrently with itself.
    Result<std::vector<std::string>> run_once();

    /// The query listing the expired partitions: $1 = retention in hours.
    static std::string expired_partitions_query();

private:
    void run();

    const pg::ConnectParams params_;
    const std::chrono::milliseconds interval_;
    const std::chrono::hours retention_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace walcast::broadcast
