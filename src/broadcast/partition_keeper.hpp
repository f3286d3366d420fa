// broadcast::PartitionKeeper: keeps the daily partitions of realtime.messages ahead of the
// clock (spec §7.4.4) for a server that runs for days: at start and then every `interval` it
// runs pg::partition_statement() (yesterday … today + 3, UTC; a no-op when the table is absent
// or not partitioned). Without today's partition realtime.send() only warns and private joins
// fail with MissingPartition. Old partitions are not dropped.
#pragma once

#include "pg/connection.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace walcast::broadcast {

/// Owns one thread; start() once, stop() (or the destructor) joins it.
class PartitionKeeper {
public:
    PartitionKeeper(pg::ConnectParams params, std::chrono::milliseconds interval);
    ~PartitionKeeper();
    PartitionKeeper(const PartitionKeeper&) = delete;
    PartitionKeeper& operator=(const PartitionKeeper&) = delete;

    void start();
    void stop();

private:
    void run();
    void create_partitions();

    const pg::ConnectParams params_;
    const std::chrono::milliseconds interval_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace walcast::broadcast
