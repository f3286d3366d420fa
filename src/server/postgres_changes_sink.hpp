// PostgresChangesSink: a channel's core::ChannelSink. Wraps each change's shared `data` bytes
// in the channel's postgres_changes envelope and queues the frame on the session; holds
// changes that arrive between registration and the join reply so none is lost or precedes it.
#pragma once

#include "core/channel_sink.hpp"
#include "protocol/phoenix/vsn.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace walcast::server {

class WsSession;

/// Thread-safe.
class PostgresChangesSink : public core::ChannelSink {
public:
    PostgresChangesSink(std::weak_ptr<WsSession> session, protocol::phoenix::Vsn vsn,
                        std::string topic);

    void deliver(const std::shared_ptr<const std::string>& data,
                 std::span<const std::int64_t> ids) override;

    /// Runs before() (which queues the join reply), then sends the held changes, then lets
    /// deliveries through — all under one lock, so nothing can slip in between.
    void open(const std::function<void()>& before);
    /// Stops all deliveries (leave, close, failed join).
    void close();

private:
    /// batched: from a delivering thread (WsSession::append_deferred), else right away (the
    /// session's own strand, at open()).
    void send_locked(const std::string& data, std::span<const std::int64_t> ids, bool batched);

    const std::weak_ptr<WsSession> session_;
    const protocol::phoenix::Vsn vsn_;
    const std::string topic_;
    std::mutex mu_;
    bool open_ = false;
    bool closed_ = false;
    std::vector<std::pair<std::shared_ptr<const std::string>, std::vector<std::int64_t>>> held_;
};

} // namespace walcast::server
