#include "broadcast/partition_keeper.hpp"

#include "common/logging.hpp"
#include "pg/db_setup.hpp"

namespace walcast::broadcast {

PartitionKeeper::PartitionKeeper(pg::ConnectParams params, std::chrono::milliseconds interval,
                                 std::chrono::hours retention)
    : params_(std::move(params)), interval_(interval), retention_(retention) {}

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
        if (auto r = run_once(); !r)
            log::warn("realtime.messages partitions: {}", r.error().message);
        lock.lock();
        cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
}

std::string PartitionKeeper::expired_partitions_query() {
    // The partitions the reference would drop: named messages_YYYY_MM_DD (zero-padded, so the
    // names compare as their dates) in the realtime schema, dated before the UTC date of
    // now − retention. Nothing when realtime.messages does not exist.
    return "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
           "JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE i.inhparent = to_regclass('realtime.messages') AND n.nspname = 'realtime' "
           "AND c.relname ~ '^messages_[0-9]{4}_[0-9]{2}_[0-9]{2}$' "
           "AND c.relname < 'messages_' || to_char(((now() AT TIME ZONE 'UTC') - "
           "$1::int * interval '1 hour')::date, 'YYYY_MM_DD') ORDER BY c.relname";
}

Result<std::vector<std::string>> PartitionKeeper::run_once() {
    auto conn = pg::Connection::connect(params_);
    if (!conn)
        return make_error(Errc::Unavailable,
                          "cannot connect to the database: " + conn.error().message);
    if (auto st = pg::run_statements(*conn, {pg::partition_statement()}); !st)
        return make_error(Errc::Config,
                          "could not be created (" + st.error().message +
                              "); run walcast db init as the owner of realtime.messages, or "
                              "create them by hand");
    std::vector<std::string> dropped;
    if (retention_.count() <= 0) return dropped;
    auto expired = conn->exec(expired_partitions_query(), {std::to_string(retention_.count())});
    if (!expired)
        return make_error(Errc::Config,
                          "listing the expired partitions failed: " + expired.error().describe());
    for (int row = 0; row < expired->size(); ++row) {
        const std::string name = expired->string(row, 0);
        auto r = conn->exec_script("DROP TABLE IF EXISTS realtime." + conn->quote_ident(name));
        if (!r)
            return make_error(Errc::Config,
                              "dropping the expired partition realtime." + name + " failed (" +
                                  r.error().describe() +
                                  "); run walcast as the owner of realtime.messages, or set "
                                  "MESSAGES_RETENTION_HOURS=0 and drop old partitions yourself");
        log::info("dropped the expired partition realtime.{} (MESSAGES_RETENTION_HOURS={})", name,
                  retention_.count());
        dropped.push_back(name);
    }
    return dropped;
}

} // namespace walcast::broadcast
