#include "protocol/sse/event_parser.hpp"

namespace walcast::protocol::sse {

Status EventParser::feed(std::string_view bytes,
                         const std::function<void(const Event&)>& on_event) {
    for (char c : bytes) {
        if (after_cr_) {
            after_cr_ = false;
            if (c == '\n') continue; // CRLF: the line already ended at CR
        }
        if (c == '\n' || c == '\r') {
            after_cr_ = c == '\r';
            line(partial_, on_event);
            partial_.clear();
            continue;
        }
        partial_ += c;
        if (++event_bytes_ > max_event_bytes_)
            return make_error(Errc::InvalidInput, "a Server-Sent Event is longer than " +
                                                      std::to_string(max_event_bytes_) + " bytes");
    }
    return {};
}

void EventParser::line(std::string_view line, const std::function<void(const Event&)>& on_event) {
    if (line.empty()) { // dispatch
        if (has_data_) on_event(event_);
        event_ = Event{};
        has_data_ = false;
        event_bytes_ = 0;
        return;
    }
    if (line.front() == ':') return; // a comment (heartbeats)
    std::string_view field = line, value;
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
        event_.type = std::string(value);
    } else if (field == "data") {
        if (has_data_) event_.data += '\n';
        event_.data += value;
        has_data_ = true;
    } else if (field == "id") {
        event_.id = std::string(value);
    } // retry and unknown fields: ignored
}

} // namespace walcast::protocol::sse
