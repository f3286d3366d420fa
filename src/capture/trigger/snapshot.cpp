#include "capture/trigger/snapshot.hpp"

#include <algorithm>
#include <charconv>

namespace walcast::capture::trigger {

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// PgQ absorbs finished transactions this close below the range start into the range scan.
constexpr std::uint64_t absorb_distance = 100;

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
        if (!parse_u64(rest.substr(0, comma), x) || x < s.xmin || x >= s.xmax) return std::nullopt;
        s.xip.push_back(x);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
        if (rest.empty()) return std::nullopt;
    }
    std::sort(s.xip.begin(), s.xip.end());
    s.xip.erase(std::unique(s.xip.begin(), s.xip.end()), s.xip.end());
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

bool Snapshot::running(std::uint64_t xid) const {
    return std::binary_search(xip.begin(), xip.end(), xid);
}

bool Snapshot::visible(std::uint64_t xid) const {
    if (xid < xmin) return true;
    if (xid >= xmax) return false;
    return !running(xid);
}

BatchRange batch_range(const Snapshot& s1, const Snapshot& s2) {
    BatchRange b;
    b.range_lo = s1.xmax;
    b.range_hi = s2.xmax;
    // Transactions running at s1 that have finished by s2, highest first.
    std::vector<std::uint64_t> finished;
    for (auto it = s1.xip.rbegin(); it != s1.xip.rend(); ++it)
        if (!s2.running(*it)) finished.push_back(*it);
    for (std::uint64_t x : finished) {
        if (x + absorb_distance >= b.range_lo)
            b.range_lo = x;
        else
            b.listed.push_back(x);
    }
    std::sort(b.listed.begin(), b.listed.end());
    return b;
}

bool nothing_new(const Snapshot& s1, std::int64_t seq_at_s1, const Snapshot& s2,
                 std::int64_t seq_now) {
    if (seq_now != seq_at_s1) return false;
    for (std::uint64_t x : s1.xip)
        if (!s2.running(x)) return false;
    return true;
}

} // namespace walcast::capture::trigger
