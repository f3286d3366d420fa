#include "pg/lsn.hpp"

#include <charconv>
#include <cstdio>

namespace walcast::pg {

std::string Lsn::to_string() const {
    char buf[24];
    int n = std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value >> 32),
                          static_cast<unsigned>(value & 0xffffffffu));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<Lsn> Lsn::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return {};
    std::uint32_t hi = 0, lo = 0;
    auto r1 = std::from_chars(text.data(), text.data() + slash, hi, 16);
    auto r2 = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
    if (r1.ec != std::errc{} || r1.ptr != text.data() + slash) return {};
    if (r2.ec != std::errc{} || r2.ptr != text.data() + text.size()) return {};
    return Lsn{(static_cast<std::uint64_t>(hi) << 32) | lo};
}

} // namespace walcast::pg
