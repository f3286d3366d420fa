#include "protocol/phoenix/postgres_changes_sink.hpp"

#include "protocol/phoenix/encoder.hpp"

namespace walcast::protocol::phoenix {

PostgresChangesSink::PostgresChangesSink(std::weak_ptr<ConnectionIo> io, Vsn vsn, std::string topic)
    : io_(std::move(io)), vsn_(vsn), topic_(std::move(topic)) {}

void PostgresChangesSink::send_locked(const std::string& data, std::span<const std::int64_t> ids,
                                      DeliveryRound* round) {
    auto io = io_.lock();
    if (!io) return;
    thread_local std::string head;
    head.clear();
    append_postgres_changes_head(vsn_, head, topic_, ids);
    io->send_text({head, data, postgres_changes_tail(vsn_)}, round, /*data_frame=*/true);
}

void PostgresChangesSink::deliver(const std::shared_ptr<const std::string>& data,
                                  std::span<const std::int64_t> ids, DeliveryRound& round) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (!open_) {
        held_.emplace_back(data, std::vector<std::int64_t>(ids.begin(), ids.end()));
        return;
    }
    send_locked(*data, ids, &round);
}

void PostgresChangesSink::open(const std::function<void()>& before) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    before();
    for (const auto& [data, ids] : held_)
        send_locked(*data, ids, nullptr);
    held_.clear();
    held_.shrink_to_fit();
    open_ = true;
}

void PostgresChangesSink::close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    held_.clear();
}

} // namespace walcast::protocol::phoenix
