// ReplicationStream: a walsender connection (replication=database) speaking the streaming
// replication protocol for logical decoding — IDENTIFY_SYSTEM, slot creation, START_REPLICATION
// with pgoutput, reading XLogData/keepalive messages and sending standby status updates.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"
#include "pg/lsn.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

/// Result of IDENTIFY_SYSTEM.
struct SystemIdentity {
    std::string system_id;
    std::uint32_t timeline = 0;
    Lsn xlog_pos; ///< current WAL flush position of the server
    std::string dbname;
};

/// Result of CREATE_REPLICATION_SLOT.
struct CreatedSlot {
    std::string slot_name;
    Lsn consistent_point; ///< changes committed after this are decoded
};

/// One message read from the stream.
struct StreamMessage {
    enum class Kind : std::uint8_t {
        XLogData,  ///< 'w': payload holds one pgoutput message
        Keepalive, ///< 'k': the server's position; reply_requested asks for a status update
        Timeout,   ///< nothing arrived within the timeout (or the wake-up fd fired)
        End,       ///< the server ended the COPY (e.g. shutting down)
    };
    Kind kind = Kind::Timeout;
    Lsn wal_start; ///< XLogData: LSN the payload belongs to
    Lsn wal_end;   ///< XLogData/Keepalive: the server's current end of WAL sent
    std::int64_t server_time_pg_us = 0;
    bool reply_requested = false; ///< Keepalive only
    std::string_view payload;     ///< XLogData: valid until the next read() or destruction
};

/// A move-only walsender session. Not thread-safe: one thread drives it.
class ReplicationStream {
public:
    ReplicationStream() = default;
    ~ReplicationStream();
    ReplicationStream(ReplicationStream&& other) noexcept;
    ReplicationStream& operator=(ReplicationStream&& other) noexcept;
    ReplicationStream(const ReplicationStream&) = delete;
    ReplicationStream& operator=(const ReplicationStream&) = delete;

    /// Opens a replication=database connection with params (its GUC options apply to the
    /// walsender, which renders the text values pgoutput sends). Errors: Unavailable with
    /// libpq's message and the fix when recognisable (pg_hba.conf, REPLICATION attribute).
    static Result<ReplicationStream> connect(const ConnectParams& params);

    /// IDENTIFY_SYSTEM (PostgreSQL docs, Streaming Replication Protocol).
    Result<SystemIdentity> identify_system();

    /// CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput NOEXPORT_SNAPSHOT. A
    /// temporary slot is dropped when this connection ends. slot_name: [a-z0-9_]{1,63}.
    /// Errors: the server's PgError (sqlstate::duplicate_object, 42710, when the slot exists).
    SqlResult<CreatedSlot> create_slot(const std::string& slot_name, bool temporary);

    /// START_REPLICATION SLOT slot LOGICAL start (proto_version '1', publication_names
    /// '"p1","p2"'). start 0/0 = the slot's confirmed_flush_lsn; transactions committed before
    /// start are skipped by the server. On success the connection is in COPY BOTH mode.
    /// Errors: the server's PgError (sqlstate::object_in_use, 55006 = slot active for another
    /// PID; 42704 = publication or slot missing).
    Result<void, PgError> start_logical(const std::string& slot_name, Lsn start,
                                        const std::vector<std::string>& publications);

    /// Reads the next CopyData message, waiting up to timeout (also returns Timeout early when
    /// wake_fd, if >= 0, becomes readable). The returned payload stays valid until the next
    /// call. Errors: Unavailable when the connection breaks; Protocol on malformed messages.
    Result<StreamMessage> read(std::chrono::milliseconds timeout, int wake_fd = -1);

    /// Called by read() whenever everything received has been consumed and it is about to
    /// wait on the socket (the consumer can flush batched work then).
    void set_before_wait(std::function<void()> before_wait) {
        before_wait_ = std::move(before_wait);
    }

    /// Sends a standby status update ('r'): write/flush/apply positions and the client clock;
    /// reply_requested asks the server to answer with a keepalive.
    /// Errors: Unavailable when the connection breaks.
    Status send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested = false);

    /// Closes the connection; the server ends the walsender (dropping a temporary slot).
    /// Send a last status update first if the flush position should reach the slot.
    void close();

    bool is_open() const { return static_cast<bool>(conn_); }
    /// Backend PID of the walsender (for messages), 0 when closed.
    int backend_pid() const;

private:
    explicit ReplicationStream(Connection conn) : conn_(std::move(conn)) {}
    /// Runs a replication command; COPY BOTH counts as success (START_REPLICATION).
    SqlResult<Rows> command(const std::string& sql);
    void free_buffer();

    Connection conn_;
    char* buffer_ = nullptr; ///< last PQgetCopyData buffer (freed on the next read)
    bool copy_mode_ = false;
    std::function<void()> before_wait_;
};

/// Quotes a list of names for the publication_names option: "a","b" with " doubled.
std::string quote_publication_names(const std::vector<std::string>& names);

} // namespace walcast::pg
