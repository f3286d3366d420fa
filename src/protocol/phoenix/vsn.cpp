#include "protocol/phoenix/vsn.hpp"

#include <charconv>

namespace walcast::protocol::phoenix {

std::optional<Vsn> parse_vsn(std::optional<std::string_view> value) {
    if (!value || value->empty()) return Vsn::V1;
    // Semantic version "MAJOR.MINOR.PATCH" with an optional pre-release/build suffix.
    std::string_view v = *value;
    int parts[3] = {0, 0, 0};
    const char* p = v.data();
    const char* end = v.data() + v.size();
    for (int i = 0; i < 3; ++i) {
        auto r = std::from_chars(p, end, parts[i]);
        if (r.ec != std::errc{}) return std::nullopt;
        p = r.ptr;
        if (i < 2) {
            if (p == end || *p != '.') return std::nullopt;
            ++p;
        }
    }
    if (p != end && *p != '-' && *p != '+') return std::nullopt;
    // "~> 1.0.0" means >= 1.0.0 and < 1.1.0; likewise for 2.0.0.
    if (parts[0] == 1 && parts[1] == 0) return Vsn::V1;
    if (parts[0] == 2 && parts[1] == 0) return Vsn::V2;
    return std::nullopt;
}

} // namespace walcast::protocol::phoenix
