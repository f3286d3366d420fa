#include "server/postgres_changes_sink.hpp"

#include "protocol/phoenix/encoder.hpp"
#include "server/ws_session.hpp"

namespace walcast::server {

PostgresChangesSink::PostgresChangesSink(std::weak_ptr<WsSession> session,
                                         protocol::phoenix::Vsn vsn, std::string topic)
    : session_(std::move(session)), vsn_(vsn), topic_(std::move(topic)) {}

void PostgresChangesSink::send_locked(const std::string& data, std::span<const std::int64_t> ids,
                                      bool batched) {
    auto session = session_.lock();
    if (!session) return;
    thread_local std::string head;
    head.clear();
    protocol::phoenix::append_postgres_changes_head(vsn_, head, topic_, ids);
    const auto tail = protocol::phoenix::postgres_changes_tail(vsn_);
    if (batched) {
        // Fan-out from the router or an authorizer thread: sent at the end of their round.
        session->append_deferred({head, data, tail});
    } else {
        session->enqueue_text({head, data, tail}, true);
    }
}

void PostgresChangesSink::deliver(const std::shared_ptr<const std::string>& data,
                                  std::span<const std::int64_t> ids) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (!open_) {
        held_.emplace_back(data, std::vector<std::int64_t>(ids.begin(), ids.end()));
        return;
    }
    send_locked(*data, ids, true);
}

void PostgresChangesSink::open(const std::function<void()>& before) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    before();
    for (const auto& [data, ids] : held_)
        send_locked(*data, ids, false);
    held_.clear();
    held_.shrink_to_fit();
    open_ = true;
}

void PostgresChangesSink::close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    held_.clear();
}

} // namespace walcast::server
