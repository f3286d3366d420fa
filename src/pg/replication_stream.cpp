#include "pg/replication_stream.hpp"

#include "common/clock.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>

namespace walcast::pg {

namespace {

std::uint64_t read_be64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<std::uint8_t>(p[i]);
    return v;
}

void write_be64(char* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
}

std::string trimmed(const char* s) {
    std::string m = s ? s : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
        m.pop_back();
    return m;
}

} // namespace

std::string quote_publication_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ',';
        out += '"';
        for (char c : n) {
            if (c == '"') out += '"';
            out += c;
        }
        out += '"';
    }
    return out;
}

ReplicationStream::~ReplicationStream() {
    free_buffer();
}

ReplicationStream::ReplicationStream(ReplicationStream&& other) noexcept
    : conn_(std::move(other.conn_)), buffer_(other.buffer_), copy_mode_(other.copy_mode_) {
    other.buffer_ = nullptr;
    other.copy_mode_ = false;
}

ReplicationStream& ReplicationStream::operator=(ReplicationStream&& other) noexcept {
    if (this != &other) {
        free_buffer();
        conn_ = std::move(other.conn_);
        buffer_ = other.buffer_;
        copy_mode_ = other.copy_mode_;
        other.buffer_ = nullptr;
        other.copy_mode_ = false;
    }
    return *this;
}

void ReplicationStream::free_buffer() {
    if (buffer_) {
        PQfreemem(buffer_);
        buffer_ = nullptr;
    }
}

Result<ReplicationStream> ReplicationStream::connect(const ConnectParams& params) {
    auto c = Connection::connect(params, /*replication=*/true);
    if (!c) return std::move(c).error();
    return ReplicationStream(std::move(c).value());
}

int ReplicationStream::backend_pid() const {
    return conn_ ? PQbackendPID(conn_.get()) : 0;
}

SqlResult<Rows> ReplicationStream::command(const std::string& sql) {
    if (!conn_) {
        PgError e;
        e.message = "replication connection is closed";
        e.transient = e.connection_lost = true;
        return e;
    }
    PgResult res(PQexec(conn_.get(), sql.c_str()));
    auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_COPY_BOTH)
        return conn_.error_of(res.get());
    return Rows(std::move(res));
}

Result<SystemIdentity> ReplicationStream::identify_system() {
    auto r = command("IDENTIFY_SYSTEM");
    if (!r) return r.error().to_error().context("IDENTIFY_SYSTEM");
    const Rows& rows = *r;
    auto timeline = rows.integer<std::uint32_t>(0, 1);
    auto pos = Lsn::parse(rows.text(0, 2).value_or(""));
    if (rows.size() != 1 || rows.columns() < 4 || !timeline)
        return make_error(Errc::Protocol, "IDENTIFY_SYSTEM returned an unexpected shape");
    if (!pos) return make_error(Errc::Protocol, "IDENTIFY_SYSTEM returned an invalid xlogpos");
    SystemIdentity id;
    id.system_id = rows.string(0, 0);
    id.timeline = *timeline;
    id.xlog_pos = *pos;
    id.dbname = rows.string(0, 3);
    return id;
}

SqlResult<CreatedSlot> ReplicationStream::create_slot(const std::string& slot_name,
                                                      bool temporary) {
    // NOEXPORT_SNAPSHOT: the pre-15 spelling, still accepted by 15+; no snapshot is needed
    // because walcast streams changes only, it does not copy initial data.
    std::string sql = "CREATE_REPLICATION_SLOT " + slot_name + (temporary ? " TEMPORARY" : "") +
                      " LOGICAL pgoutput NOEXPORT_SNAPSHOT";
    auto r = command(sql);
    if (!r) return std::move(r).error();
    const Rows& rows = *r;
    auto pos = Lsn::parse(rows.text(0, 1).value_or(""));
    if (rows.size() != 1 || rows.columns() < 2 || !pos)
        return PgError{"", "CREATE_REPLICATION_SLOT returned an unexpected answer", "", "", false};
    CreatedSlot s;
    s.slot_name = rows.string(0, 0);
    s.consistent_point = *pos;
    return s;
}

Result<void, PgError>
ReplicationStream::start_logical(const std::string& slot_name, Lsn start,
                                 const std::vector<std::string>& publications) {
    std::string names = quote_publication_names(publications);
    // The option value is a string literal: double any single quote.
    std::string literal;
    for (char c : names) {
        if (c == '\'') literal += '\'';
        literal += c;
    }
    std::string sql = "START_REPLICATION SLOT " + slot_name + " LOGICAL " + start.to_string() +
                      " (proto_version '1', publication_names '" + literal + "')";
    auto r = command(sql);
    if (!r) return std::move(r).error();
    if (PQresultStatus(r->get()) != PGRES_COPY_BOTH)
        return PgError{"", "START_REPLICATION did not enter COPY BOTH mode", "", "", false};
    copy_mode_ = true;
    return {};
}

Result<StreamMessage> ReplicationStream::read(std::chrono::milliseconds timeout, int wake_fd) {
    free_buffer();
    if (!conn_ || !copy_mode_)
        return make_error(Errc::Unavailable, "replication stream is not streaming");
    PGconn* c = conn_.get();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int n = PQgetCopyData(c, &buffer_, /*async=*/1);
        if (n > 0) {
            StreamMessage m;
            const char* p = buffer_;
            const auto len = static_cast<std::size_t>(n);
            if (p[0] == 'w') {
                if (len < 25)
                    return make_error(Errc::Protocol, "XLogData message shorter than its header");
                m.kind = StreamMessage::Kind::XLogData;
                m.wal_start = Lsn{read_be64(p + 1)};
                m.wal_end = Lsn{read_be64(p + 9)};
                m.server_time_pg_us = static_cast<std::int64_t>(read_be64(p + 17));
                m.payload = std::string_view(p + 25, len - 25);
                return m;
            }
            if (p[0] == 'k') {
                if (len < 18)
                    return make_error(Errc::Protocol, "keepalive message shorter than 18 bytes");
                m.kind = StreamMessage::Kind::Keepalive;
                m.wal_end = Lsn{read_be64(p + 1)};
                m.server_time_pg_us = static_cast<std::int64_t>(read_be64(p + 9));
                m.reply_requested = p[17] != 0;
                return m;
            }
            return make_error(Errc::Protocol,
                              std::string("unknown replication message type '") + p[0] + "'");
        }
        if (n == -1) {
            // The server ended COPY: collect its final result (an error when it shut down).
            copy_mode_ = false;
            PgResult res(PQgetResult(c));
            if (res && PQresultStatus(res.get()) == PGRES_FATAL_ERROR)
                return make_error(Errc::Unavailable, result_error(res.get()));
            StreamMessage m;
            m.kind = StreamMessage::Kind::End;
            return m;
        }
        if (n == -2) {
            copy_mode_ = false;
            return make_error(Errc::Unavailable,
                              "replication connection lost: " + trimmed(PQerrorMessage(c)));
        }
        // n == 0: nothing complete buffered; wait for the socket.
        if (before_wait_) before_wait_();
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return StreamMessage{};
        auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {wake_fd, POLLIN, 0}};
        int rc = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(wait_ms.count()) + 1);
        if (rc < 0) {
            if (errno == EINTR) continue;
            return make_error(Errc::Unavailable, std::string("poll: ") + std::strerror(errno));
        }
        if (rc == 0) return StreamMessage{};
        if (wake_fd >= 0 && (fds[1].revents & POLLIN)) return StreamMessage{};
        if (PQconsumeInput(c) == 0) {
            copy_mode_ = false;
            return make_error(Errc::Unavailable,
                              "replication connection lost: " + trimmed(PQerrorMessage(c)));
        }
    }
}

Status ReplicationStream::send_status(Lsn write, Lsn flush, Lsn apply, bool reply_requested) {
    if (!conn_ || !copy_mode_)
        return make_error(Errc::Unavailable, "replication stream is not streaming");
    // Standby status update (PostgreSQL docs, Streaming Replication Protocol): 'r', write,
    // flush, apply (Int64 each), client clock (µs since 2000-01-01), reply-requested byte.
    char buf[34];
    buf[0] = 'r';
    write_be64(buf + 1, write.value);
    write_be64(buf + 9, flush.value);
    write_be64(buf + 17, apply.value);
    write_be64(buf + 25, static_cast<std::uint64_t>(now_pg_us()));
    buf[33] = reply_requested ? 1 : 0;
    PGconn* c = conn_.get();
    if (PQputCopyData(c, buf, sizeof buf) != 1 || PQflush(c) != 0)
        return make_error(Errc::Unavailable,
                          "sending a standby status update failed: " + trimmed(PQerrorMessage(c)));
    return {};
}

void ReplicationStream::close() {
    free_buffer();
    copy_mode_ = false;
    conn_ = Connection();
}

} // namespace walcast::pg
