#include "protocol/phoenix/postgres_changes_sink.hpp"

#include "common/json_writer.hpp"
#include "protocol/phoenix/encoder.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/supabase/messages.hpp"

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
        held_.push_back({data, std::vector<std::int64_t>(ids.begin(), ids.end()), false});
        return;
    }
    send_locked(*data, ids, &round);
}

void PostgresChangesSink::send_gap_locked(const std::string& message, DeliveryRound* round) {
    auto io = io_.lock();
    if (!io) return;
    // The channel's sub-topic, as the join's own system messages give it.
    constexpr std::string_view prefix = "realtime:";
    std::string_view channel = topic_;
    if (channel.starts_with(prefix)) channel.remove_prefix(prefix.size());
    std::string payload = "{\"channel\":";
    json::append_string(payload, channel);
    payload += ",\"extension\":\"postgres_changes\",\"message\":";
    json::append_string(payload, message);
    payload += ",\"status\":\"error\"}";
    io->send_text({encode_broadcast(vsn_, topic_, event::system, payload)}, round,
                  /*data_frame=*/true);
}

void PostgresChangesSink::end(const std::string& reason) {
    {
        std::lock_guard lock(mu_);
        if (closed_) return;
        closed_ = true;
        held_.clear();
    }
    if (end_) end_("Subscription ended: " + reason);
}

void PostgresChangesSink::notify_gap(const capture::Gap& gap, DeliveryRound& round) {
    const std::string message = supabase::gap_message(gap);
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (!open_) {
        held_.push_back({std::make_shared<const std::string>(message), {}, true});
        return;
    }
    send_gap_locked(message, &round);
}

void PostgresChangesSink::open(const std::function<void()>& before) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    before();
    for (const auto& h : held_) {
        if (h.gap)
            send_gap_locked(*h.data, nullptr);
        else
            send_locked(*h.data, h.ids, nullptr);
    }
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
