#include "capture/trigger/snapshot.hpp"

#include <algorithm>
#include <charconv>

namespace walcast::capture::trigger {

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

} // namespace

std::optional<Snapshot> Snapshot::parse(std::string_view text) {
    const auto c1 = text.find(':');
    if (c1 == std::string_view::npos) return std::nullopt;
    const auto c2 = text.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return std::nullopt;
    Snapshot s;
    if (!parse_u64(text.substr(0, c1), s.xmin) ||
        !parse_u64(text.substr(c1 + 1, c2 - c1 - 1), s.xmax) || s.xmin > s.xmax)
        return std::nullopt;
    std::string_view rest = text.substr(c2 + 1);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::uint64_t x = 0;
        if (!parse_u64(rest.substr(0, comma), x)) return std::nullopt;
        if (x < s.xmin || x >= s.xmax || (!s.xip.empty() && x <= s.xip.back())) return std::nullopt;
        s.xip.push_back(x);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
        if (rest.empty()) return std::nullopt;
    }
    return s;
}

std::string Snapshot::to_string() const {
    std::string out = std::to_string(xmin) + ":" + std::to_string(xmax) + ":";
    for (std::size_t i = 0; i < xip.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(xip[i]);
    }
    return out;
}

bool Snapshot::visible(std::uint64_t xid) const {
    if (xid < xmin) return true;
    if (xid >= xmax) return false;
    return !std::binary_search(xip.begin(), xip.end(), xid);
}

} // namespace walcast::capture::trigger
