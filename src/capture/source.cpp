#include "capture/source.hpp"

#include <random>
#include <unistd.h>

namespace walcast::capture {

SourceHealth make_health(bool up, bool finished, const std::optional<Error>& fatal,
                         const std::string& down_reason, std::string_view starting) {
    SourceHealth h;
    h.up = up;
    h.finished = finished;
    if (fatal) {
        h.fatal = true;
        h.reason = fatal->message;
    } else if (!up) {
        h.reason = down_reason.empty() ? std::string(starting) : down_reason;
    }
    return h;
}

std::string temporary_name() {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}() & 0xffffff;
    return "walcast_tmp_" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
           std::to_string(counter++);
}

} // namespace walcast::capture
