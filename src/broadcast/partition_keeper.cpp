#include "broadcast/partition_keeper.hpp"

#include "common/logging.hpp"
#include "pg/db_setup.hpp"

namespace walcast::broadcast {

PartitionKeeper::PartitionKeeper(pg::ConnectParams params, std::chrono::milliseconds interval)
    : params_(std::move(params)), interval_(interval) {}

PartitionKeeper::~PartitionKeeper() {
    stop();
}

void PartitionKeeper::start() {
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void PartitionKeeper::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void PartitionKeeper::run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        lock.unlock();
        create_partitions();
        lock.lock();
        cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
}

void PartitionKeeper::create_partitions() {
    auto conn = pg::Connection::connect(params_);
    if (!conn) {
        log::warn("realtime.messages partitions: cannot connect to the database: {}",
                  conn.error().message);
        return;
    }
    if (auto st = pg::run_statements(*conn, {pg::partition_statement()}); !st)
        log::warn("realtime.messages partitions could not be created ({}); run walcast db init "
                  "as the owner of realtime.messages, or create them by hand",
                  st.error().message);
}

} // namespace walcast::broadcast
