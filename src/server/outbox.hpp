// Outbox: one connection's outgoing bytes — framed messages waiting for the socket (pending)
// and being written (in flight) — with the slow-client limits (Redis client-output-buffer
// style: a soft limit with a grace period, a hard limit) and the direct send a delivering
// thread makes at the end of its delivery round. It holds the state; server::WsConnection
// does the socket I/O it asks for.
#pragma once

#include "server/websocket_frame.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>

namespace walcast::server {

/// Bytes and time a client's queue may reach (Config: CLIENT_QUEUE_*).
struct OutboxLimits {
    std::uint64_t soft_bytes = 8u << 20;
    std::uint32_t soft_seconds = 60;
    std::uint64_t hard_bytes = 32u << 20;
};

/// Thread-safe (one mutex). The write-kick rule, in one place: whoever makes pending bytes
/// appear while no write is in flight (writing() false) gets kick = true and must start a
/// write on the strand (WsConnection::kick); while a write is in flight its completion picks
/// up what was appended meanwhile.
class Outbox {
public:
    explicit Outbox(OutboxLimits limits) : limits_(limits) {}

    /// What append() did.
    struct Appended {
        bool accepted = false;        ///< false: output is closed, nothing was queued
        bool kick = false;            ///< start a write now (see the class comment)
        bool join_round = false;      ///< deferred and not yet in a round: join the caller's round
        bool over_hard_limit = false; ///< queued_bytes > hard limit: cut the client off
        std::size_t queued_bytes = 0; ///< pending + in flight, after the append
    };
    /// Frames the concatenation of parts as one message (opcode; FIN, unmasked) and queues it.
    /// data_frame: counts toward the frames dropped if the client is cut off. deferred: a
    /// delivering thread's append, sent by its round's flush (flush_direct) instead of a kick.
    /// Starts the soft-limit clock when the queue goes above the soft limit: clock_ms() (steady
    /// milliseconds) is read only then, not on every append.
    Appended append(Opcode opcode, std::initializer_list<std::string_view> parts, bool data_frame,
                    bool deferred, std::int64_t (*clock_ms)());

    /// Queues the Pong answering a Ping with `payload` (≤ 125 bytes), coalesced: at most one
    /// Pong is ever pending, a newer Ping's replaces it (RFC 6455 §5.5.3 allows answering only
    /// the most recent Ping), and it is written ahead of the pending messages. A peer flooding
    /// pings without reading therefore costs at most one control frame here. The pending Pong
    /// counts toward queued_bytes() and the limits like any other byte.
    Appended append_pong(std::string_view payload, std::int64_t now_ms);

    /// What close() did.
    struct Closed {
        bool closed_now = false; ///< false: output was already closed
        bool kick = false;
        std::size_t dropped_frames = 0; ///< data frames discarded (discard_pending)
    };
    /// Queues a close frame (code, reason) and closes output: nothing is queued after it.
    /// discard_pending: drop what has not reached the socket first (a slow client: the close
    /// frame is then next in line; what is in flight already belongs to the kernel).
    /// close_deadline: when the peer must have answered (see sweep()).
    Closed close(std::uint16_t code, std::string_view reason, bool discard_pending,
                 std::int64_t close_deadline_ms);

    /// The round flush (RoundMember::flush_round of the connection): with no write in flight,
    /// sends pending with one non-blocking send(2) on fd, from the calling thread. Returns true
    /// when the kernel did not take everything (a write must continue on the strand: kick).
    /// fd stays valid for the call: shut() takes the same mutex before the socket is closed.
    bool flush_direct(int fd);

    /// Strand: moves pending into the in-flight buffer for a write. nullptr (and writing()
    /// false) when there is nothing to write or stop is set.
    const std::string* take_for_write(bool stop);
    /// What a finished write leaves to do.
    struct Written {
        bool more = false;       ///< pending bytes appeared: write again (still writing)
        bool close_sent = false; ///< everything including the close frame is out
    };
    /// Strand: the in-flight buffer was written.
    Written written();

    /// Teardown: output closed, pending discarded; flush_direct() no longer touches the fd.
    /// Returns the data frames that never reached the socket: those still pending and those of
    /// a write that had not completed (what a cut-off's close() did not already count).
    std::size_t shut();

    /// Housekeeping, any thread.
    struct Due {
        bool soft_expired = false;  ///< above the soft limit for soft_seconds: cut off
        bool close_overdue = false; ///< the close handshake's deadline passed: shut the socket
    };
    Due sweep(std::int64_t now_ms) const;

    /// Our close frame has been written completely (nothing pending, no write in flight).
    bool close_sent() const;

    /// Pending (messages and the Pong) + in flight.
    std::size_t queued_bytes() const;
    bool output_closed() const;
    const OutboxLimits& limits() const { return limits_; }

private:
    void append_frame_locked(Opcode opcode, std::initializer_list<std::string_view> parts);
    /// Moves a pending Pong to the front of pending_.
    void merge_pong_locked();
    std::size_t queued_locked() const { return pending_.size() + inflight_.size() + pong_.size(); }

    const OutboxLimits limits_;
    mutable std::mutex mu_;
    std::string pending_;  ///< framed bytes waiting for the socket
    std::string inflight_; ///< framed bytes being written (strand only while writing_)
    std::string pong_;     ///< the one pending Pong frame (empty = none); see append_pong
    std::size_t pending_data_frames_ = 0;
    std::size_t inflight_data_frames_ = 0; ///< data frames in inflight_ (until written())
    bool writing_ = false;                 ///< a write is in flight (or about to be started)
    bool batched_ = false;                 ///< in some thread's delivery round
    bool output_closed_ = false;           ///< a close frame is queued: nothing more is sent
    std::int64_t soft_since_ms_ = 0;       ///< when the queue went above the soft limit (0 = below)
    std::int64_t close_deadline_ms_ = 0;   ///< force the socket shut after this (0 = none)
};

} // namespace walcast::server
