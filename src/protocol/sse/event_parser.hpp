// A Server-Sent Events reader (WHATWG HTML §9.2.6 "Interpreting an event stream",
// docs/protocol/server-sent-events.md): bytes in, whole events out — for `walcast watch` and
// tests. Lines end with LF, CRLF or CR; a line starting with ':' is a comment; `data` lines
// of one event are joined with LF; an empty line dispatches the event (none without data).
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace walcast::protocol::sse {

struct Event {
    std::string type = "message"; ///< the `event:` field ("message" when absent)
    std::string id;               ///< the `id:` field ("" when absent)
    std::string data;             ///< the `data:` lines, joined with LF
};

class EventParser {
public:
    /// max_event_bytes bounds one event (a stream that never ends an event is refused).
    explicit EventParser(std::size_t max_event_bytes = 64u << 20)
        : max_event_bytes_(max_event_bytes) {}

    /// Feeds bytes; calls on_event for each event they complete, in order. Errors
    /// (Errc::InvalidInput): an event over max_event_bytes.
    Status feed(std::string_view bytes, const std::function<void(const Event&)>& on_event);

private:
    void line(std::string_view line, const std::function<void(const Event&)>& on_event);

    const std::size_t max_event_bytes_;
    std::string partial_; ///< an incomplete line
    bool after_cr_ = false;
    Event event_;
    bool has_data_ = false;
    std::size_t event_bytes_ = 0;
};

} // namespace walcast::protocol::sse
