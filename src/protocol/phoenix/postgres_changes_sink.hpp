// PostgresChangesSink: a Phoenix channel's core::ChannelSink. Wraps each change's shared `data`
// bytes in the channel's postgres_changes envelope and queues the frame on the connection (in
// the delivering thread's round); holds changes that arrive between registration and the join
// reply so none is lost or precedes it.
#pragma once

#include "core/subscription/channel_sink.hpp"
#include "protocol/phoenix/vsn.hpp"
#include "protocol/session.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace walcast::protocol::phoenix {

/// Thread-safe.
class PostgresChangesSink : public core::ChannelSink {
public:
    PostgresChangesSink(std::weak_ptr<ConnectionIo> io, Vsn vsn, std::string topic);

    /// Delivering threads (router, authorizer workers): the frame joins their round.
    void deliver(const std::shared_ptr<const std::string>& data, std::span<const std::int64_t> ids,
                 DeliveryRound& round) override;
    /// A `system` push {extension: postgres_changes, status: error, message
    /// (supabase::gap_message), channel} in order with the changes (held like them until open()).
    void notify_gap(const capture::Gap& gap, DeliveryRound& round) override;
    /// Core stopped routing to the channel (a limit): stops deliveries and ends the channel
    /// through the function set_end gave (a `system` error with reason, then phx_close).
    void end(const std::string& reason) override;
    /// How end() ends the channel (ChannelHandle::shut_down_from_any_thread). Before the
    /// subscription exists.
    void set_end(std::function<void(std::string)> end) { end_ = std::move(end); }

    /// Runs before() (which queues the join reply), then sends the held changes, then lets
    /// deliveries through — all under one lock, so nothing can slip in between. Strand.
    void open(const std::function<void()>& before);
    /// Stops all deliveries (leave, close, failed join).
    void close();

private:
    /// round: the delivering thread's (deliver), or null: at once (the strand, at open()).
    void send_locked(const std::string& data, std::span<const std::int64_t> ids,
                     DeliveryRound* round);

    const std::weak_ptr<ConnectionIo> io_;
    const Vsn vsn_;
    const std::string topic_;
    std::mutex mu_;
    bool open_ = false;
    bool closed_ = false;
    struct Held {
        std::shared_ptr<const std::string> data;
        std::vector<std::int64_t> ids;
        bool gap = false; ///< data is a gap message
    };
    std::vector<Held> held_;
    std::function<void(std::string)> end_;
    void send_gap_locked(const std::string& message, DeliveryRound* round);
};

} // namespace walcast::protocol::phoenix
