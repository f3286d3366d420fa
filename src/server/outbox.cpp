#include "server/outbox.hpp"

#include <array>
#include <cerrno>
#include <sys/socket.h>

namespace walcast::server {

namespace {

/// Output buffers above this capacity are released when they drain (idle memory stays small).
constexpr std::size_t keep_buffer_capacity_bytes = 16 * 1024;

/// Frees a drained output buffer that grew beyond keep_buffer_capacity_bytes.
void release_if_large(std::string& drained) {
    if (drained.capacity() > keep_buffer_capacity_bytes) std::string().swap(drained);
}

} // namespace

void Outbox::append_frame_locked(Opcode opcode, std::initializer_list<std::string_view> parts) {
    std::size_t len = 0;
    for (auto p : parts)
        len += p.size();
    std::array<std::uint8_t, max_server_frame_header_bytes> hdr;
    const std::size_t h = write_frame_header(hdr.data(), opcode, len);
    pending_.append(reinterpret_cast<const char*>(hdr.data()), h);
    for (auto p : parts)
        pending_.append(p);
}

void Outbox::merge_pong_locked() {
    if (pong_.empty()) return;
    pending_.insert(0, pong_);
    pong_.clear();
}

Outbox::Appended Outbox::append_pong(std::string_view payload, std::int64_t now_ms) {
    Appended a;
    std::lock_guard lock(mu_);
    if (output_closed_) return a;
    a.accepted = true;
    pong_ = encode_server_frame(Opcode::Pong, payload.substr(0, max_control_payload_bytes));
    a.queued_bytes = queued_locked();
    if (a.queued_bytes > limits_.soft_bytes && soft_since_ms_ == 0) soft_since_ms_ = now_ms;
    a.over_hard_limit = a.queued_bytes > limits_.hard_bytes;
    if (!writing_ && !a.over_hard_limit) {
        writing_ = true;
        a.kick = true;
    }
    return a;
}

Outbox::Appended Outbox::append(Opcode opcode, std::initializer_list<std::string_view> parts,
                                bool data_frame, bool deferred, std::int64_t (*clock_ms)()) {
    Appended a;
    std::lock_guard lock(mu_);
    if (output_closed_) return a;
    a.accepted = true;
    append_frame_locked(opcode, parts);
    if (data_frame) ++pending_data_frames_;
    a.queued_bytes = queued_locked();
    if (a.queued_bytes > limits_.soft_bytes && soft_since_ms_ == 0) soft_since_ms_ = clock_ms();
    a.over_hard_limit = a.queued_bytes > limits_.hard_bytes;
    if (deferred) {
        if (!batched_) {
            batched_ = true;
            a.join_round = true;
        }
    } else if (!writing_ && !a.over_hard_limit) {
        writing_ = true;
        a.kick = true;
    }
    return a;
}

Outbox::Closed Outbox::close(std::uint16_t code, std::string_view reason, bool discard_pending,
                             std::int64_t close_deadline_ms) {
    Closed c;
    const std::string payload = close_payload(code, reason);
    std::lock_guard lock(mu_);
    if (output_closed_) return c;
    c.closed_now = true;
    if (discard_pending) {
        c.dropped_frames = pending_data_frames_;
        pending_data_frames_ = 0;
        std::string().swap(pending_);
        pong_.clear();
    }
    output_closed_ = true;
    append_frame_locked(Opcode::Close, {payload});
    close_deadline_ms_ = close_deadline_ms;
    if (!writing_) {
        writing_ = true;
        c.kick = true;
    }
    return c;
}

bool Outbox::flush_direct(int fd) {
    std::lock_guard lock(mu_);
    batched_ = false;
    if (writing_ || output_closed_ || (pending_.empty() && pong_.empty())) return false;
    merge_pong_locked();
    const ssize_t n = ::send(fd, pending_.data(), pending_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(pending_.size())) {
        pending_.clear();
        pending_data_frames_ = 0;
        soft_since_ms_ = 0;
        release_if_large(pending_);
        return false;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The connection is gone; the strand's read side will notice and tear down.
        pending_.clear();
        output_closed_ = true;
        return false;
    }
    if (n > 0) pending_.erase(0, static_cast<std::size_t>(n));
    writing_ = true;
    return true;
}

const std::string* Outbox::take_for_write(bool stop) {
    std::lock_guard lock(mu_);
    if (stop || (pending_.empty() && pong_.empty())) {
        writing_ = false;
        return nullptr;
    }
    merge_pong_locked();
    inflight_.swap(pending_);
    inflight_data_frames_ = pending_data_frames_;
    pending_data_frames_ = 0;
    return &inflight_;
}

Outbox::Written Outbox::written() {
    Written w;
    std::lock_guard lock(mu_);
    inflight_.clear();
    inflight_data_frames_ = 0;
    release_if_large(inflight_);
    if (pending_.size() + pong_.size() <= limits_.soft_bytes) soft_since_ms_ = 0;
    if (!pending_.empty() || !pong_.empty()) {
        w.more = true;
    } else {
        writing_ = false;
        release_if_large(pending_);
        w.close_sent = output_closed_;
    }
    return w;
}

std::size_t Outbox::shut() {
    std::lock_guard lock(mu_);
    const std::size_t lost = pending_data_frames_ + inflight_data_frames_;
    pending_data_frames_ = inflight_data_frames_ = 0;
    output_closed_ = true;
    pending_.clear();
    pong_.clear();
    return lost;
}

Outbox::Due Outbox::sweep(std::int64_t now_ms) const {
    Due d;
    std::lock_guard lock(mu_);
    d.soft_expired = !output_closed_ && soft_since_ms_ != 0 &&
                     now_ms - soft_since_ms_ >= std::int64_t(limits_.soft_seconds) * 1000;
    d.close_overdue = close_deadline_ms_ != 0 && now_ms >= close_deadline_ms_;
    return d;
}

std::size_t Outbox::queued_bytes() const {
    std::lock_guard lock(mu_);
    return queued_locked();
}

bool Outbox::close_sent() const {
    std::lock_guard lock(mu_);
    return output_closed_ && !writing_ && pending_.empty() && pong_.empty();
}

bool Outbox::output_closed() const {
    std::lock_guard lock(mu_);
    return output_closed_;
}

} // namespace walcast::server
